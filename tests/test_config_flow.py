"""The config flow, reauth, reconfigure and the phonebook options, against the simulator."""

from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
import json
from pathlib import Path
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import translation
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.mango_office.api import DEFAULT_BASE_URL
from custom_components.mango_office.config_flow import SECTION_ADVANCED, account_key
from custom_components.mango_office.const import (
    ACCOUNT_TITLE,
    CONF_BASE_URL,
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    CONF_PHONEBOOK,
    DOMAIN,
    SUBENTRY_EXTENSION,
)
from mango_simulator import MangoSimulator

from .conftest import (
    CALLER,
    CALLER_NAME,
    EXTENSION,
    TOKEN,
    extension_of,
    extension_subentry,
    wait_for_state,
)

NEW_TOKEN = "rotated-token-7d1a0b"
INTEGRATION_DIR = Path(__file__).parent.parent / "custom_components" / DOMAIN
TRANSLATION_FILES = ("strings.json", "translations/en.json", "translations/ru.json")
TRANSLATIONS = {
    name: json.loads((INTEGRATION_DIR / name).read_text("utf-8"))
    for name in TRANSLATION_FILES
}
# Every error and abort the flows can show, by where strings.json keeps them.
CONFIG_ERRORS = {
    "invalid_auth",
    "cannot_connect",
    "invalid_extension",
    "extensions_refused",
    "unknown",
}
SUBENTRY_ERRORS = {"invalid_auth", "cannot_connect", "invalid_extension", "unknown"}
CONFIG_ABORTS = {"already_configured"}
OPTIONS_ERRORS = {"invalid_phonebook"}


@pytest.fixture(autouse=True)
async def unload_entries(
    hass: HomeAssistant, simulator: MangoSimulator
) -> AsyncGenerator[None]:
    """Unload whatever a flow set up while the simulator still runs.

    Stopping the simulator first would leave the entries' push channels
    reconnecting when Home Assistant stops.
    """
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def _form_input(
    simulator: MangoSimulator,
    *,
    token: str = TOKEN,
    extensions: str = EXTENSION,
    base_url: str | None = None,
) -> dict[str, Any]:
    """What the form sends: the advanced section comes as a nested mapping."""
    return {
        CONF_TOKEN: token,
        CONF_EXTENSIONS: extensions,
        SECTION_ADVANCED: {
            CONF_BASE_URL: simulator.base_url if base_url is None else base_url
        },
    }


def _account_input(
    simulator: MangoSimulator, *, token: str = TOKEN, base_url: str | None = None
) -> dict[str, Any]:
    """What the account's reconfigure form sends."""
    return {
        CONF_TOKEN: token,
        SECTION_ADVANCED: {
            CONF_BASE_URL: simulator.base_url if base_url is None else base_url
        },
    }


def _assert_errors_translated(result: ConfigFlowResult, flow: str = "config") -> None:
    """Every error the form shows has its string in each language."""
    assert result["errors"]
    for error in result["errors"].values():
        for name, strings in TRANSLATIONS.items():
            where = strings
            for key in flow.split("."):
                where = where[key]
            assert where["error"].get(error), f"{name}: {flow}.error.{error}"


def _schema_fields(result: ConfigFlowResult) -> dict[str, Any]:
    """The form's fields by name: default, suggested value, and the section's own."""
    return _fields(result["data_schema"])


def _fields(schema: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for marker, value in schema.schema.items():
        if isinstance(value, section):
            fields[marker.schema] = {
                "collapsed": value.options["collapsed"],
                **_fields(value.schema),
            }
            continue
        fields[marker.schema] = {
            "default": marker.default() if callable(marker.default) else None,
            "suggested": (marker.description or {}).get("suggested_value"),
        }
    return fields


async def _start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


def _closed_port_url() -> str:
    """An API address on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


def _add_entry(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    *extensions: str,
    token: str = TOKEN,
    unique_token: str | None = None,
) -> MockConfigEntry:
    """Add (not set up) an account with extensions, the way the flow makes it."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=2,
        title=ACCOUNT_TITLE,
        unique_id=account_key(unique_token or token),
        data={CONF_TOKEN: token, CONF_BASE_URL: simulator.base_url},
        subentries_data=[extension_subentry(e) for e in extensions],
    )
    entry.add_to_hass(hass)
    return entry


def _extensions(entry: ConfigEntry) -> list[str]:
    return sorted(
        s.data[CONF_EXTENSION] for s in entry.get_subentries_of_type(SUBENTRY_EXTENSION)
    )


# -- user step ----------------------------------------------------------------


async def test_user_form(hass: HomeAssistant, simulator: MangoSimulator) -> None:
    """The form asks for the key and the extensions; the API address waits in a collapsed section."""
    result = await _start_user_flow(hass)

    fields = _schema_fields(result)
    assert list(fields) == [CONF_TOKEN, CONF_EXTENSIONS, SECTION_ADVANCED]
    assert fields[SECTION_ADVANCED] == {
        "collapsed": True,
        CONF_BASE_URL: {"default": DEFAULT_BASE_URL, "suggested": None},
    }
    assert fields[CONF_TOKEN]["suggested"] is None
    assert simulator.requests == []


async def test_user_creates_the_account(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """A working key and extensions are tested, saved as one account with a subentry each, and set up."""
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, extensions="101, 102 102")
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "MANGO OFFICE"
    assert result["data"] == {CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url}
    entry = result["result"]
    assert entry.version == 2
    assert entry.unique_id == account_key(TOKEN)
    assert entry.options == {}
    subentries = sorted(entry.subentries.values(), key=lambda s: s.unique_id or "")
    assert [
        (s.subentry_type, s.unique_id, s.title, dict(s.data)) for s in subentries
    ] == [
        ("extension", "101", "Extension 101", {CONF_EXTENSION: "101"}),
        ("extension", "102", "Extension 102", {CONF_EXTENSION: "102"}),
    ]
    # The flow's test, in this order, before anything was saved ...
    tested = simulator.requests[:5]
    assert [(r.method, r.path, r.params) for r in tested] == [
        ("GET", "session/ping", {}),
        ("POST", "users/create", {"EXTENSION": "101"}),
        ("GET", "channel", {"EXTENSION": "101"}),
        ("POST", "users/create", {"EXTENSION": "102"}),
        ("GET", "channel", {"EXTENSION": "102"}),
    ]
    assert {r.token for r in tested} == {TOKEN}
    # ... then the account set up for real: a device and entities per extension.
    await simulator.wait_registered("101")
    await simulator.wait_registered("102")
    assert entry.state is ConfigEntryState.LOADED
    for extension in ("101", "102"):
        assert hass.states.get(f"binary_sensor.extension_{extension}_connection")


async def test_user_input_is_trimmed(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """Spaces around pasted values and a trailing slash of the address are dropped."""
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        _form_input(
            simulator,
            token=f"  {TOKEN}\n",
            extensions=" 102 ",
            base_url=f" {simulator.base_url}/ ",
        ),
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_TOKEN: TOKEN, CONF_BASE_URL: simulator.base_url}
    assert _extensions(result["result"]) == ["102"]
    assert {r.token for r in simulator.requests} == {TOKEN}
    assert simulator.requests_to("users/create")[0].params == {"EXTENSION": "102"}


type _Attempt = Callable[[MangoSimulator], dict[str, str]]


def _fault(path: str, mode: str) -> _Attempt:
    """The right input, on a service that fails the next request to a path."""

    def _arrange(simulator: MangoSimulator) -> dict[str, str]:
        simulator.fail_next(path, mode=mode)
        return {}

    return _arrange


@pytest.mark.parametrize(
    ("attempt", "errors", "refused"),
    [
        (lambda _: {CONF_TOKEN: "not-the-token"}, {"base": "invalid_auth"}, ""),
        (_fault("session/ping", "500"), {"base": "cannot_connect"}, ""),
        (_fault("users/create", "malformed"), {"base": "cannot_connect"}, ""),
        (_fault("channel/", "500"), {"base": "cannot_connect"}, ""),
        (lambda _: {"base_url": _closed_port_url()}, {"base": "cannot_connect"}, ""),
        (lambda sim: {"base_url": sim.url}, {"base": "cannot_connect"}, ""),
        (lambda _: {"base_url": "not a URL"}, {"base": "cannot_connect"}, ""),
        (
            lambda _: {"extensions": "101, 104"},
            {CONF_EXTENSIONS: "extensions_refused"},
            "104",
        ),
    ],
    ids=[
        "invalid_auth",
        "http_500",
        "not_json",
        "channel_fails",
        "nothing_listens",
        "address_without_api",
        "not_an_address",
        "not_in_the_pbx",
    ],
)
async def test_user_error_then_recovery(
    hass: HomeAssistant,
    simulator: MangoSimulator,
    attempt: _Attempt,
    errors: dict[str, str],
    refused: str,
) -> None:
    """Each failure shows its error on the same form, which keeps what was typed; fixed, it goes through."""
    bad_input = attempt(simulator)
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, **bad_input)
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert result["description_placeholders"] == {"refused": refused}
    _assert_errors_translated(result)
    typed = _form_input(simulator, **bad_input)
    fields = _schema_fields(result)
    assert fields[CONF_EXTENSIONS]["suggested"] == typed[CONF_EXTENSIONS]
    assert (
        fields[SECTION_ADVANCED][CONF_BASE_URL]["suggested"]
        == typed[SECTION_ADVANCED][CONF_BASE_URL]
    )
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == simulator.base_url
    assert result["result"].unique_id == account_key(TOKEN)


@pytest.mark.parametrize(
    ("extensions", "refused"),
    [
        ("10a", "10a"),
        ("101, +102", "+102"),
        ("\uff11\uff10\uff11", "\uff11\uff10\uff11"),
        ("\u0661\u0660\u0661", "\u0661\u0660\u0661"),
    ],
)
async def test_user_extension_not_digits(
    hass: HomeAssistant, simulator: MangoSimulator, extensions: str, refused: str
) -> None:
    """An extension that is not ASCII digits is named, without asking the service."""
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, extensions=extensions)
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_EXTENSIONS: "extensions_refused"}
    assert result["description_placeholders"] == {"refused": refused}
    _assert_errors_translated(result)
    assert simulator.requests == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_no_extension(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """At least one extension is needed."""
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, extensions=" , ")
    )

    assert result["errors"] == {CONF_EXTENSIONS: "invalid_extension"}
    _assert_errors_translated(result)
    assert simulator.requests == []


async def test_user_unexpected_error(
    hass: HomeAssistant, simulator: MangoSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever else goes wrong is "unknown", logged; the form still answers."""
    result = await _start_user_flow(hass)

    with patch(
        "custom_components.mango_office.config_flow.MangoClient.get_channel",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _form_input(simulator)
        )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    _assert_errors_translated(result)
    assert "Unexpected error while testing a MANGO OFFICE extension" in caplog.text

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_already_configured(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """An account cannot be added twice; its further extensions go in as subentries."""
    _add_entry(hass, simulator, "101")
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, token=f" {TOKEN} ", extensions="102")
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.requests == []
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_user_already_configured_after_key_rotation(
    hass: HomeAssistant, simulator: MangoSimulator
) -> None:
    """An account that took a new key (reauth) is still that account.

    Its unique id keeps the digest of the first key, so only its data tells.
    """
    simulator.add_token(NEW_TOKEN)
    _add_entry(hass, simulator, "101", token=NEW_TOKEN, unique_token=TOKEN)
    result = await _start_user_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _form_input(simulator, token=NEW_TOKEN)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.requests == []


# -- reauth -------------------------------------------------------------------


async def _set_up_with_revoked_key(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> ConfigFlowResult:
    """The service stops taking the account's key: setting up fails and asks for a new one."""
    simulator.revoke_token(TOKEN)
    simulator.add_token(NEW_TOKEN)
    mock_config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["account"] == "MANGO OFFICE"
    assert list(_schema_fields(result)) == [CONF_TOKEN]
    return result


async def test_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A new key is tested, saved, and the account comes back with it."""
    result = await _set_up_with_revoked_key(hass, mock_config_entry, simulator)
    simulator.requests.clear()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: f" {NEW_TOKEN}\n"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {
        CONF_TOKEN: NEW_TOKEN,
        CONF_BASE_URL: simulator.base_url,
    }
    # The unique id (and so the devices) stays the one of the account.
    assert mock_config_entry.unique_id == account_key(TOKEN)
    assert simulator.requests[0].path == "session/ping"
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    await simulator.wait_registered(EXTENSION)
    assert {r.token for r in simulator.requests} == {NEW_TOKEN}
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_reauth_of_a_running_account(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: MangoSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Reauth of a loaded account reloads it on the new key, without a deprecated call."""
    simulator.add_token(NEW_TOKEN)
    result = await init_integration.start_reauth_flow(hass)
    registered_before = len(simulator.requests_to("session/register"))

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: NEW_TOKEN}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_integration.data[CONF_TOKEN] == NEW_TOKEN
    assert init_integration.state is ConfigEntryState.LOADED
    await simulator.wait_for_request("session/register", registered_before + 1)
    assert simulator.requests_to("session/register")[-1].token == NEW_TOKEN
    assert "update listener" not in caplog.text


@pytest.mark.parametrize(
    ("fail", "token", "errors"),
    [
        (None, "still-wrong", {"base": "invalid_auth"}),
        ("session/ping", NEW_TOKEN, {"base": "cannot_connect"}),
    ],
    ids=["invalid_auth", "cannot_connect"],
)
async def test_reauth_error_then_recovery(
    hass: HomeAssistant,
    *,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    fail: str | None,
    token: str,
    errors: dict[str, str],
) -> None:
    """A key that does not work changes nothing; the form asks again."""
    result = await _set_up_with_revoked_key(hass, mock_config_entry, simulator)
    if fail is not None:
        simulator.fail_next(fail)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: token}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == errors
    _assert_errors_translated(result)
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN
    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: NEW_TOKEN}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.state is ConfigEntryState.LOADED


async def test_reauth_with_the_key_of_another_account(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A key that would make the account a copy of another account is refused."""
    _add_entry(hass, simulator, "102", token=NEW_TOKEN)
    result = await _set_up_with_revoked_key(hass, mock_config_entry, simulator)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: NEW_TOKEN}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN


# -- reconfigure the account --------------------------------------------------


async def test_reconfigure_form(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """The form starts from the account's settings, but for the key: that stays on the server."""
    mock_config_entry.add_to_hass(hass)

    result = await mock_config_entry.start_reconfigure_flow(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    fields = _schema_fields(result)
    assert list(fields) == [CONF_TOKEN, SECTION_ADVANCED]
    assert fields[CONF_TOKEN] == {"default": None, "suggested": None}
    assert fields[SECTION_ADVANCED]["collapsed"] is True
    assert fields[SECTION_ADVANCED][CONF_BASE_URL]["default"] == simulator.base_url


async def test_reconfigure_form_sends_no_key_to_the_browser(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
) -> None:
    """The form as the frontend gets it over HTTP holds no trace of the stored key."""
    mock_config_entry.add_to_hass(hass)
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()

    response = await client.post(
        "/api/config/config_entries/flow",
        json={"handler": DOMAIN, "entry_id": mock_config_entry.entry_id},
    )
    text = await response.text()
    form = json.loads(text)
    # A wrong key: the form comes back with an error, still without the stored key.
    response = await client.post(
        f"/api/config/config_entries/flow/{form['flow_id']}",
        json={
            CONF_TOKEN: "not-the-token",
            SECTION_ADVANCED: {CONF_BASE_URL: simulator.base_url},
        },
    )
    again = await response.text()

    assert form["step_id"] == "reconfigure"
    assert json.loads(again)["errors"] == {"base": "invalid_auth"}
    assert TOKEN not in text
    assert TOKEN not in again
    [key] = [field for field in form["data_schema"] if field["name"] == CONF_TOKEN]
    assert key["optional"] is True


@pytest.mark.parametrize(
    "left_empty", [{}, {CONF_TOKEN: "  "}], ids=["left_out", "blank"]
)
async def test_reconfigure_without_a_key_keeps_the_stored_one(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    left_empty: dict[str, str],
) -> None:
    """An empty key field keeps the stored key; the address changes and is tested with it."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    form = _account_input(simulator, base_url=f"{simulator.base_url}/")
    del form[CONF_TOKEN]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, **left_empty}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN
    assert {request.token for request in simulator.requests} == {TOKEN}


async def test_reconfigure_key_and_address(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """A new key and another API address are tested there, and the account moves."""
    other = MangoSimulator(tokens={NEW_TOKEN}, extensions={"101"}, seed=2)
    await other.start(host="127.0.0.1", port=0)
    try:
        result = await init_integration.start_reconfigure_flow(hass)

        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            _account_input(simulator, token=NEW_TOKEN, base_url=other.base_url),
        )
        await hass.async_block_till_done()

        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert init_integration.data == {
            CONF_TOKEN: NEW_TOKEN,
            CONF_BASE_URL: other.base_url,
        }
        # Same account: the unique id stays.
        assert init_integration.unique_id == account_key(TOKEN)
        await other.wait_registered(EXTENSION)
        assert {r.token for r in other.requests} == {NEW_TOKEN}
        assert not simulator.is_registered(EXTENSION)
    finally:
        assert await hass.config_entries.async_unload(init_integration.entry_id)
        await other.stop()


async def test_reconfigure_to_the_key_of_another_account(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Another account's key is refused, untested."""
    simulator.add_token(NEW_TOKEN)
    mock_config_entry.add_to_hass(hass)
    _add_entry(hass, simulator, "102", token=NEW_TOKEN, unique_token="first-key")
    result = await mock_config_entry.start_reconfigure_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator, token=NEW_TOKEN)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("fail", "bad_input", "errors"),
    [
        (None, {CONF_TOKEN: "not-the-token"}, {"base": "invalid_auth"}),
        ("session/ping", {}, {"base": "cannot_connect"}),
        ("unexpected", {}, {"base": "unknown"}),
    ],
    ids=["invalid_auth", "cannot_connect", "unknown"],
)
async def test_reconfigure_error_then_recovery(
    hass: HomeAssistant,
    *,
    mock_config_entry: MockConfigEntry,
    simulator: MangoSimulator,
    fail: str | None,
    bad_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    """A failed test leaves the account as it was and shows the form again with what was typed."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    patcher: AbstractContextManager[Any]
    if fail == "unexpected":
        patcher = patch(
            "custom_components.mango_office.config_flow.MangoClient.ping",
            side_effect=ValueError,
        )
    else:
        patcher = nullcontext()
        if fail is not None:
            simulator.fail_next(fail)

    with patcher:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _account_input(simulator, **bad_input)
        )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == errors
    _assert_errors_translated(result)
    assert _schema_fields(result)[CONF_TOKEN]["suggested"] is None
    assert mock_config_entry.data[CONF_TOKEN] == TOKEN

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _account_input(simulator)
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


# -- options: the phonebook ---------------------------------------------------


def _lines(*lines: str) -> str:
    """Text as typed into the multiline field."""
    return "\n".join(lines)


async def _start_options(hass: HomeAssistant, entry: ConfigEntry) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    return result


async def test_options_form_shows_the_phonebook(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The phonebook comes back as the text it is typed as."""
    result = await _start_options(hass, init_integration)

    assert result["errors"] == {}
    assert _schema_fields(result) == {
        CONF_PHONEBOOK: {"default": None, "suggested": f"{CALLER} = {CALLER_NAME}"}
    }


async def test_options_save_the_phonebook_live(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: MangoSimulator
) -> None:
    """Numbers in any usual form are saved normalised, and the running entry uses them at once."""
    result = await _start_options(hass, init_integration)
    coordinator = extension_of(init_integration)
    registered = len(simulator.requests_to("session/register"))

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_PHONEBOOK: _lines(
                "8 (916) 123-45-67 = Ivan",
                "+7 916 7654321, Anna",
                "",
                "# the office",
                "102 Reception",
                "Boss = 8-916-000-00-00",
                "  9031112233\tMaria Sidorova  ",
            )
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    phonebook = {
        "+79161234567": "Ivan",
        "+79167654321": "Anna",
        "102": "Reception",
        "+79160000000": "Boss",
        "+79031112233": "Maria Sidorova",
    }
    assert result["data"] == {CONF_PHONEBOOK: phonebook}
    assert init_integration.options == {CONF_PHONEBOOK: phonebook}

    await simulator.incoming_missed(EXTENSION, caller="+79161234567")
    await wait_for_state(hass, "sensor.extension_101_last_caller", "+79161234567")
    state = hass.states.get("sensor.extension_101_last_caller")
    assert state is not None
    assert state.attributes["name"] == "Ivan"
    # Taken live: the entry did not reload (same coordinator, no new registration).
    assert init_integration.state is ConfigEntryState.LOADED
    assert extension_of(init_integration) is coordinator
    assert len(simulator.requests_to("session/register")) == registered


async def test_options_empty_clears_the_phonebook(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A cleared text field is sent without the key: the phonebook becomes empty."""
    result = await _start_options(hass, init_integration)

    result = await hass.config_entries.options.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {CONF_PHONEBOOK: {}}


async def test_options_bad_lines(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Lines that are not "number = name" are quoted in the error and nothing is saved."""
    result = await _start_options(hass, init_integration)
    text = _lines(
        "+7 916 123-45-67 = Ivan",
        "just a name",
        "12ab = Nobody",
        "",
        "= +7 916 000 00 00",
        "8 916 111 22 33 =",
        "Anna, Maria",
    )

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PHONEBOOK: text}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {CONF_PHONEBOOK: "invalid_phonebook"}
    _assert_errors_translated(result, "options")
    assert result["description_placeholders"] == {
        "bad_lines": "2: just a name; 3: 12ab = Nobody; 5: = +7 916 000 00 00"
    }
    # The form keeps the text, to be corrected rather than typed again.
    assert _schema_fields(result)[CONF_PHONEBOOK]["suggested"] == text
    assert init_integration.options == {CONF_PHONEBOOK: {CALLER: CALLER_NAME}}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PHONEBOOK: "+7 916 123-45-67 = Ivan"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {CONF_PHONEBOOK: {"+79161234567": "Ivan"}}


# -- translations -------------------------------------------------------------


def _keys(tree: Mapping[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in tree.items():
        keys.add(f"{prefix}{key}")
        if isinstance(value, Mapping):
            keys |= _keys(value, f"{prefix}{key}.")
    return keys


def test_translation_files_agree() -> None:
    """en.json is strings.json; ru.json has the same config and options strings."""
    strings, english, russian = (TRANSLATIONS[name] for name in TRANSLATION_FILES)

    assert english == strings
    for part in ("config", "config_subentries", "options", "issues"):
        assert _keys(russian[part]) == _keys(strings[part])


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_flow_message_is_translated(
    hass: HomeAssistant, simulator: MangoSimulator, language: str
) -> None:
    """Home Assistant finds a string for every error, abort, step and field of the flows."""
    config = await translation.async_get_translations(
        hass, language, "config", [DOMAIN]
    )
    options = await translation.async_get_translations(
        hass, language, "options", [DOMAIN]
    )
    base = f"component.{DOMAIN}"

    for error in CONFIG_ERRORS:
        assert config[f"{base}.config.error.{error}"]
    for abort in CONFIG_ABORTS:
        assert config[f"{base}.config.abort.{abort}"]
    for step, fields in (
        ("user", (CONF_TOKEN, CONF_EXTENSIONS)),
        ("reconfigure", (CONF_TOKEN,)),
    ):
        for field in fields:
            assert config[f"{base}.config.step.{step}.data.{field}"]
            assert config[f"{base}.config.step.{step}.data_description.{field}"]
        advanced = f"{base}.config.step.{step}.sections.{SECTION_ADVANCED}"
        assert config[f"{advanced}.name"]
        assert config[f"{advanced}.data.{CONF_BASE_URL}"]
        assert config[f"{advanced}.data_description.{CONF_BASE_URL}"]
        assert config[f"{base}.config.step.{step}.title"]
    assert config[f"{base}.config.step.reauth_confirm.data.{CONF_TOKEN}"]
    assert "{account}" in config[f"{base}.config.step.reauth_confirm.description"]
    assert "{refused}" in config[f"{base}.config.error.extensions_refused"]
    subentries = await translation.async_get_translations(
        hass, language, "config_subentries", [DOMAIN]
    )
    extension = f"{base}.config_subentries.{SUBENTRY_EXTENSION}"
    for error in SUBENTRY_ERRORS:
        assert subentries[f"{extension}.error.{error}"]
    for abort in ("already_configured", "reconfigure_successful"):
        assert subentries[f"{extension}.abort.{abort}"]
    assert subentries[f"{extension}.initiate_flow.user"]
    assert subentries[f"{extension}.entry_type"]
    for step in ("user", "reconfigure"):
        assert subentries[f"{extension}.step.{step}.title"]
        assert subentries[f"{extension}.step.{step}.data.{CONF_EXTENSION}"]
    for error in OPTIONS_ERRORS:
        assert "{bad_lines}" in options[f"{base}.options.error.{error}"]
    assert options[f"{base}.options.step.init.data.{CONF_PHONEBOOK}"]
    assert options[f"{base}.options.step.init.data_description.{CONF_PHONEBOOK}"]
