"""Lets the library's tests run in the development venv as well as in their own.

In the library's own venv (scripts/test builds it) ``mango_office_api`` and
``mango_simulator`` are installed wheels, and this does nothing. In the
development venv the library is the folder its wheel is built from, the
integration's ``api/``: it gets the wheel's name here (the same module
objects, so that coverage counts these tests and no second copy is loaded),
and Home Assistant's test plugin, which blocks sockets, lets these tests
reach the simulator on 127.0.0.1.
"""

import importlib
import importlib.util
from pathlib import Path
import pkgutil
import sys

import pytest

REPOSITORY = Path(__file__).parent.parent


def _name_the_folder() -> None:
    if importlib.util.find_spec("mango_office_api") is not None:
        return
    if importlib.util.find_spec("mango_simulator") is None:
        sys.path.append(str(REPOSITORY / "simulator"))
    package = importlib.import_module("custom_components.mango_office.api")
    sys.modules["mango_office_api"] = package
    for module in pkgutil.iter_modules(package.__path__):
        sys.modules[f"mango_office_api.{module.name}"] = importlib.import_module(
            f"{package.__name__}.{module.name}"
        )


_name_the_folder()


@pytest.fixture(autouse=True)
def _loopback(request: pytest.FixtureRequest) -> None:
    """Allow sockets where pytest-socket (Home Assistant's plugin) blocks them."""
    if request.config.pluginmanager.hasplugin("socket"):
        request.getfixturevalue("socket_enabled")
