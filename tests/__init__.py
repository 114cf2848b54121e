"""Tests for the MANGO OFFICE integration."""
