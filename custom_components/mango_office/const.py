"""Constants for the MANGO OFFICE integration."""

import logging
from typing import Final

DOMAIN: Final = "mango_office"

LOGGER = logging.getLogger(__package__)
