"""Tests of the MANGO OFFICE API client against the simulator, over real HTTP and websockets."""
