"""Unit tests of the call tracker: plain pytest, no Home Assistant."""
