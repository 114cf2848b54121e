"""A smoke test on the newest Home Assistant release, without the test plugin (scripts/check-newest-ha)."""
