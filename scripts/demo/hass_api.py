"""A small client of Home Assistant's HTTP API: what its frontend does to onboard and add entries.

Only the standard library, so that it runs before and beside Home Assistant.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import json
from typing import Any, Final
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT: Final = 15.0


class HassApiError(Exception):
    """Home Assistant answered with an error status, or not at all."""

    def __init__(self, method: str, path: str, status: int | None, text: str) -> None:
        """Keep what the request was and what came back."""
        super().__init__(f"{method} {path}: {status or 'no answer'} {text}".strip())
        self.status = status
        self.text = text


@dataclass(frozen=True, slots=True)
class Tokens:
    """An access token (valid for 30 minutes) and the refresh token that renews it."""

    access_token: str
    refresh_token: str


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what}: expected a JSON object, got {value!r}")
    return value


def _as_list(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise TypeError(f"{what}: expected a JSON array, got {value!r}")
    return [_as_dict(item, what) for item in value]


class HassApi:
    """Talk to one Home Assistant instance, as the user the tokens belong to."""

    def __init__(self, base_url: str) -> None:
        """Address Home Assistant at base_url, e.g. http://127.0.0.1:8123."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"Not an HTTP URL: {base_url}")
        self.base_url = base_url.rstrip("/")
        # The frontend's own client id: HA accepts it without an IndieAuth lookup.
        self.client_id = f"{self.base_url}/"
        self.access_token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float = TIMEOUT,
    ) -> Any:
        """Send one request and return the decoded JSON answer (None when empty)."""
        headers = {"Accept": "application/json"}
        data: bytes | None = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth and self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as err:
            raise HassApiError(
                method, path, err.code, err.read().decode(errors="replace")
            ) from None
        except (OSError, urllib.error.URLError) as err:
            raise HassApiError(method, path, None, str(err)) from None
        return json.loads(text) if text else None

    def is_up(self) -> bool:
        """Tell whether the HTTP server answers (long before start-up ends); needs no token."""
        try:
            self.request("GET", "/manifest.json", auth=False, timeout=2)
        except HassApiError:
            return False
        return True

    # -- authentication -------------------------------------------------------

    def _tokens(self, form: Mapping[str, str]) -> Tokens:
        answer = _as_dict(
            self.request("POST", "/auth/token", form=form, auth=False), "token"
        )
        tokens = Tokens(
            str(answer["access_token"]),
            str(answer.get("refresh_token") or form.get("refresh_token", "")),
        )
        self.access_token = tokens.access_token
        return tokens

    def tokens_from_code(self, code: str) -> Tokens:
        """Trade an authorization code for tokens."""
        return self._tokens(
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            }
        )

    def refresh(self, refresh_token: str) -> Tokens:
        """Get a new access token with a refresh token."""
        return self._tokens(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
            }
        )

    def log_in(self, username: str, password: str) -> Tokens:
        """Log in through the login flow, as the login page does."""
        flow = _as_dict(
            self.request(
                "POST",
                "/auth/login_flow",
                {
                    "client_id": self.client_id,
                    "handler": ["homeassistant", None],
                    "redirect_uri": f"{self.client_id}?auth_callback=1",
                },
                auth=False,
            ),
            "login flow",
        )
        result = _as_dict(
            self.request(
                "POST",
                f"/auth/login_flow/{flow['flow_id']}",
                {
                    "client_id": self.client_id,
                    "username": username,
                    "password": password,
                },
                auth=False,
            ),
            "login flow",
        )
        if result.get("type") != "create_entry":
            raise HassApiError(
                "POST", "/auth/login_flow", None, f"login refused: {result}"
            )
        return self.tokens_from_code(str(result["result"]))

    # -- onboarding -----------------------------------------------------------

    def create_owner(
        self, *, name: str, username: str, password: str, language: str
    ) -> Tokens:
        """Do onboarding's first step, the owner's account, and log in as the owner."""
        answer = _as_dict(
            self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": name,
                    "username": username,
                    "password": password,
                    "language": language,
                },
                auth=False,
            ),
            "onboarding",
        )
        return self.tokens_from_code(str(answer["auth_code"]))

    def finish_onboarding_step(self, step: str) -> bool:
        """Finish one of the later onboarding steps; False when it was already done."""
        body: dict[str, Any] = {}
        if step == "integration":
            body = {
                "client_id": self.client_id,
                "redirect_uri": f"{self.client_id}?auth_callback=1",
            }
        try:
            self.request("POST", f"/api/onboarding/{step}", body)
        except HassApiError as err:
            if err.status == 403 and "already done" in err.text:
                return False
            raise
        return True

    # -- state ----------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Return /api/config: its "state" is "RUNNING" once start-up has ended."""
        return _as_dict(self.request("GET", "/api/config"), "config")

    def states(self) -> list[dict[str, Any]]:
        """Return every entity's state."""
        return _as_list(self.request("GET", "/api/states"), "states")

    # -- config entries and flows ---------------------------------------------

    def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        """Return the config entries, of one domain if given."""
        query = f"?{urllib.parse.urlencode({'domain': domain})}" if domain else ""
        return _as_list(
            self.request("GET", f"/api/config/config_entries/entry{query}"), "entries"
        )

    def delete_entry(self, entry_id: str) -> None:
        """Remove a config entry."""
        self.request("DELETE", f"/api/config/config_entries/entry/{entry_id}")

    def start_flow(self, handler: str) -> dict[str, Any]:
        """Start a config flow; the answer is its first step."""
        return _as_dict(
            self.request(
                "POST", "/api/config/config_entries/flow", {"handler": handler}
            ),
            "flow",
        )

    def flow_step(self, flow_id: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Answer a config flow's form; the answer is the next step or the result."""
        return _as_dict(
            self.request(
                "POST", f"/api/config/config_entries/flow/{flow_id}", user_input
            ),
            "flow",
        )

    def abort_flow(self, flow_id: str) -> None:
        """Drop an unfinished config flow."""
        self.request("DELETE", f"/api/config/config_entries/flow/{flow_id}")

    def start_options_flow(self, entry_id: str) -> dict[str, Any]:
        """Start an entry's options flow; the answer is its form."""
        return _as_dict(
            self.request(
                "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
            ),
            "options flow",
        )

    def options_flow_step(
        self, flow_id: str, user_input: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer an options flow's form."""
        return _as_dict(
            self.request(
                "POST",
                f"/api/config/config_entries/options/flow/{flow_id}",
                user_input,
            ),
            "options flow",
        )
