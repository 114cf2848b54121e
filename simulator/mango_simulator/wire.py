"""The wire format of MANGO OFFICE's "Server-Client" API, as PROTOCOL.md assumes it.

Written out here from PROTOCOL.md on purpose rather than imported from the
integration: the simulator is an independent reading of the protocol, so a
misspelt path, parameter or field on either side makes a test fail.
"""

from typing import Any, Final

# Every API path lives under this prefix; the vendor's base URL ends in /api.
API_PREFIX: Final = "v1/"

# Paths, without the "v1/" prefix and without a trailing slash (both accepted).
PATH_USERS_CREATE: Final = "users/create"
PATH_CHANNEL: Final = "channel"
PATH_REGISTER: Final = "session/register"
PATH_UNREGISTER: Final = "session/unregister"
PATH_PING: Final = "session/ping"
PATH_CALLBACK: Final = "callback"
PATH_ROUTE_ASYNC: Final = "route/async"
PATH_ROUTE: Final = "route"
PATH_RECORD: Final = "record"
PATH_TRANSFER: Final = "transfer"

# Request parameter names (matched case-insensitively).
PARAM_EXTENSION: Final = "EXTENSION"
PARAM_DESTINATION_NUMBER: Final = "DESTINATION_NUMBER"
PARAM_LIMIT: Final = "LIMIT"
PARAM_CALL_ID: Final = "CALL_ID"
PARAM_TO_NUMBER: Final = "TO_NUMBER"
PARAM_METHOD: Final = "METHOD"
PARAM_RECORD_ID: Final = "RECORD_ID"
PARAM_CHANNEL: Final = "CHANNEL"

# Result codes (Result.code) and the HTTP status each is answered with.
CODE_OK: Final = 0
CODE_INVALID_PARAMETERS: Final = 100
CODE_INVALID_TOKEN: Final = 103
CODE_NO_MORE_EVENTS: Final = 109
CODE_USER_EXISTS: Final = 110
CODE_EXTENSION_NOT_FOUND: Final = 111
CODE_CALL_NOT_FOUND: Final = 112
CODE_RECORD_NOT_FOUND: Final = 113
CODE_USER_NOT_CREATED: Final = 114
CODE_CHANNEL_NOT_OPEN: Final = 115
CODE_SERVER_ERROR: Final = 500

HTTP_STATUS: Final[dict[int, int]] = {
    CODE_OK: 200,
    CODE_NO_MORE_EVENTS: 200,
    CODE_INVALID_PARAMETERS: 400,
    CODE_INVALID_TOKEN: 401,
    CODE_USER_EXISTS: 400,
    CODE_EXTENSION_NOT_FOUND: 400,
    CODE_CALL_NOT_FOUND: 400,
    CODE_RECORD_NOT_FOUND: 404,
    CODE_USER_NOT_CREATED: 400,
    CODE_CHANNEL_NOT_OPEN: 400,
    CODE_SERVER_ERROR: 500,
}

MESSAGES: Final[dict[int, str]] = {
    CODE_OK: "OK",
    CODE_NO_MORE_EVENTS: "No more missed events",
    CODE_INVALID_PARAMETERS: "Invalid parameters",
    CODE_INVALID_TOKEN: "Invalid token",
    CODE_USER_EXISTS: "User already exists",
    CODE_EXTENSION_NOT_FOUND: "Extension not found",
    CODE_CALL_NOT_FOUND: "Call not found",
    CODE_RECORD_NOT_FOUND: "Record not found",
    CODE_USER_NOT_CREATED: "User is not created in the integration",
    CODE_CHANNEL_NOT_OPEN: "Channel is not open",
    CODE_SERVER_ERROR: "Internal server error",
}

# Push message kinds (routeKey).
ROUTE_CALL: Final = "/call"
ROUTE_RECORD: Final = "/record"
ROUTE_IVR: Final = "/ivr"
ROUTE_ROUTE_RESULT: Final = "/route_result"

# /call states and directions.
APPEARED: Final = "APPEARED"
CONNECTED: Final = "CONNECTED"
ONHOLD: Final = "ONHOLD"
DISCONNECTED: Final = "DISCONNECTED"
DIRECTION_IN: Final = "in"
DIRECTION_OUT: Final = "out"
DIRECTION_INTERNAL: Final = "internal"

# disconnect_reason values.
REASON_NORMAL: Final = 1100
REASON_ENDED_BY_CALLER: Final = 1110
REASON_NO_ANSWER: Final = 1111
REASON_ENDED_BY_CALLEE: Final = 1120
REASON_BUSY: Final = 1121

# /record statuses: AVAILABLE is final, anything else is progress.
RECORD_PROCESSING: Final = "PROCESSING"
RECORD_AVAILABLE: Final = "AVAILABLE"

# /route_result outcomes.
ROUTE_OK: Final = 0
ROUTE_FAILED: Final = 1
ROUTE_FAILED_MESSAGE: Final = "Employee not available"

# transfer METHOD values; "hold" is the consultative transfer.
TRANSFER_BLIND: Final = "blind"
TRANSFER_HOLD: Final = "hold"

# Calls shorter than this are not recorded (vendor page, section 2.5).
MIN_RECORDED_SECONDS: Final = 6


class ApiError(Exception):
    """A request the simulated service rejects with a result code."""

    def __init__(
        self, code: int, message: str | None = None, *, status: int | None = None
    ) -> None:
        """Keep the code; message and HTTP status default to the code's usual ones."""
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.http_status = status or HTTP_STATUS.get(code, 400)
        super().__init__(f"{code}: {self.message}")


def envelope(
    code: int = CODE_OK, message: str | None = None, **payload: Any
) -> dict[str, Any]:
    """Wrap a payload in the API's response envelope."""
    return {
        "Result": {"code": code, "message": message or MESSAGES.get(code, "Error")},
        **payload,
    }


def push_message(route_key: str, data: dict[str, Any]) -> dict[str, Any]:
    """Build one push message, as framed on the websocket and in `events`."""
    return {"routeKey": route_key, "data": data}


def party(extension: str | None = None, number: str | None = None) -> dict[str, str]:
    """Build a from/to object; a missing key is left out, as the API does."""
    result: dict[str, str] = {}
    if extension is not None:
        result["extension"] = extension
    if number is not None:
        result["number"] = number
    return result
