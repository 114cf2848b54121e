"""Tests of the MANGO OFFICE API simulator."""
