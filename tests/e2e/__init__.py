"""End-to-end test in a real browser: Home Assistant's frontend, this integration, the simulator.

Run by scripts/e2e (and scripts/test): `.venv/bin/python -m tests.e2e [--screenshots DIR]`.
"""

import os
from pathlib import Path
from typing import Final

# Debian's chromium package (Playwright never downloads a browser here), or the browser
# MANGO_E2E_CHROMIUM names: CI on Ubuntu, whose chromium package is a snap, installs
# Playwright's own build and points there.
CHROMIUM: Final = Path(os.environ.get("MANGO_E2E_CHROMIUM") or "/usr/bin/chromium")
