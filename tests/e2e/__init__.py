"""End-to-end test in a real browser: Home Assistant's frontend, this integration, the simulator.

Run by scripts/e2e (and scripts/test): `.venv/bin/python -m tests.e2e [--screenshots DIR]`.
"""

from pathlib import Path
from typing import Final

# Debian's chromium package; Playwright never downloads a browser here.
CHROMIUM: Final = Path("/usr/bin/chromium")
