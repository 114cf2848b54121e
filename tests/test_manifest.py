"""The integration's packaging: what HA's loader and HACS read."""

import json
from pathlib import Path

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component
from PIL import Image

from custom_components.mango_office.const import DOMAIN

REPOSITORY = Path(__file__).parent.parent
HACS_KEYS = {
    # What HACS accepts in hacs.json (hacs.xyz/docs/publish/start).
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
}


async def test_loader_finds_the_integration(hass: HomeAssistant) -> None:
    """HA's own loader loads mango_office from custom_components."""
    integration = await async_get_integration(hass, DOMAIN)

    assert integration.domain == DOMAIN
    assert not integration.is_built_in
    assert integration.pkg_path == "custom_components.mango_office"
    assert integration.name == "MANGO OFFICE"
    assert integration.config_flow is True
    assert integration.iot_class == "cloud_push"
    assert integration.integration_type == "hub"
    assert integration.requirements == []
    assert integration.version == AwesomeVersion(integration.manifest["version"])
    assert integration.version.strategy is AwesomeVersionStrategy.SEMVER
    assert await async_setup_component(hass, DOMAIN, {})


def test_manifest_has_what_a_custom_integration_needs() -> None:
    """Custom integrations must name a version, docs, an issue tracker and owners."""
    manifest = json.loads(
        (REPOSITORY / "custom_components" / DOMAIN / "manifest.json").read_text()
    )

    assert manifest["domain"] == DOMAIN
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["loggers"] == [f"custom_components.{DOMAIN}"]
    # Keys sorted as hassfest wants: domain and name first, the rest alphabetically.
    assert list(manifest)[:2] == ["domain", "name"]
    assert list(manifest)[2:] == sorted(list(manifest)[2:])


def test_hacs_json_is_valid() -> None:
    """hacs.json uses only keys HACS knows and a minimum HA version the tests run on."""
    hacs = json.loads((REPOSITORY / "hacs.json").read_text())

    assert set(hacs) <= HACS_KEYS
    assert hacs["name"] == "MANGO OFFICE"
    assert hacs["country"] == "RU"
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(ha_version)


def test_one_minimum_home_assistant() -> None:
    """hacs.json and the README name the same oldest release (the smoke test's "oldest").

    The manifest cannot: hassfest refuses keys a custom integration's manifest does not
    know, and Home Assistant's manifest has none for a minimum. Releases before 2026.8
    lack the device registry's new_config_entry_id and new_config_subentry_id, which the
    migration from 0.1's entries uses (and before 2026.3 they run on Python 3.13).
    """
    hacs = json.loads((REPOSITORY / "hacs.json").read_text())
    readme = (REPOSITORY / "README.md").read_text()

    assert f"Home Assistant {hacs['homeassistant']} or newer is required" in readme
    assert AwesomeVersion(hacs["homeassistant"]) >= AwesomeVersion("2026.8.0")


def test_brand_images() -> None:
    """The brand Home Assistant serves: icon, its 2x, the logo and its dark-theme variant.

    The logo's wordmark is dark grey, unreadable on a dark theme, hence dark_logo.png; the
    icon (white on orange) reads on both and needs none.
    """
    brand = REPOSITORY / "custom_components" / DOMAIN / "brand"
    sizes = {path.name: Image.open(path).size for path in sorted(brand.glob("*.png"))}

    assert sizes == {
        "dark_logo.png": (1097, 256),
        "icon.png": (256, 256),
        "icon@2x.png": (512, 512),
        "logo.png": (1097, 256),
    }
