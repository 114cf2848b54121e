"""The API client as a library: its build files and its tests (see README.md)."""
