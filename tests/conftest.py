"""Fixtures shared by the MANGO OFFICE tests."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant find custom_components/mango_office in every test."""
