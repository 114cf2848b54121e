"""Import the integration's HA-free modules without running its __init__ (which needs HA).

A package object for the integration's folder, made by hand, lets
``calls.py`` and its relative imports (``.api``, ``.phonebook``) load while
``custom_components/mango_office/__init__.py`` never runs.
"""

from pathlib import Path
import sys
import types

ENGINE = "mango_office_engine"
_FOLDER = Path(__file__).parents[2] / "custom_components" / "mango_office"

if ENGINE not in sys.modules:
    package = types.ModuleType(ENGINE)
    package.__path__ = [str(_FOLDER)]
    sys.modules[ENGINE] = package
