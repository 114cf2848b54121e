"""Every name of the wire format that is assumed rather than documented.

The vendor's full schema is not public: library/README.md in the repository
says what the vendor documents and what is assumed. Everything here is a
reconstruction: when the vendor's PDF or a live account says otherwise, this
is the one file to correct. The rest of the client refers to these names only.
"""

from typing import Final

DEFAULT_BASE_URL: Final = "https://api-client.mango-office.ru/api"

# Requests, relative to the base URL, with the vendor's trailing slashes.
PATH_USERS_CREATE: Final = "v1/users/create"
PATH_CHANNEL: Final = "v1/channel/"
PATH_SESSION_REGISTER: Final = "v1/session/register/"
PATH_SESSION_UNREGISTER: Final = "v1/session/unregister/"
PATH_SESSION_PING: Final = "v1/session/ping"
PATH_CALLBACK: Final = "v1/callback"
PATH_ROUTE_ASYNC: Final = "v1/route/async/"
PATH_TRANSFER: Final = "v1/transfer"
PATH_RECORD: Final = "v1/record"

AUTH_HEADER: Final = "Authorization"
AUTH_SCHEME: Final = "Bearer"

# Request parameters (JSON body for POST, query string for GET).
PARAM_EXTENSION: Final = "EXTENSION"
PARAM_DESTINATION_NUMBER: Final = "DESTINATION_NUMBER"
PARAM_LIMIT: Final = "LIMIT"
PARAM_CALL_ID: Final = "CALL_ID"
PARAM_TO_NUMBER: Final = "TO_NUMBER"
PARAM_METHOD: Final = "METHOD"
PARAM_RECORD_ID: Final = "RECORD_ID"
PARAM_CHANNEL: Final = "CHANNEL"

TRANSFER_METHOD_BLIND: Final = "blind"
TRANSFER_METHOD_CONSULTATIVE: Final = "hold"

# Response envelope and payload keys.
KEY_RESULT: Final = "Result"
KEY_CODE: Final = "code"
KEY_MESSAGE: Final = "message"
KEY_URL: Final = "url"
KEY_EVENTS: Final = "events"
KEY_CALL_ID: Final = "call_id"
KEY_REQUEST_ID: Final = "request_id"

# Result codes. 0 and 109 are documented; the others are assumed.
RESULT_OK: Final = 0
RESULT_NO_MORE_MISSED_EVENTS: Final = 109
RESULT_USER_EXISTS: Final = 110
AUTH_RESULT_CODES: Final = frozenset({103})
AUTH_HTTP_STATUSES: Final = frozenset({401, 403})

# Push messages: {"routeKey": "/call", "data": {...}}.
KEY_ROUTE_KEY: Final = "routeKey"
KEY_DATA: Final = "data"
ROUTE_CALL: Final = "/call"
ROUTE_RECORD: Final = "/record"
ROUTE_IVR: Final = "/ivr"
ROUTE_RESULT: Final = "/route_result"

# Fields of a push message's data.
FIELD_CALL_ID: Final = "call_id"
FIELD_ENTRY_ID: Final = "entry_id"
FIELD_SEQ: Final = "seq"
FIELD_TIMESTAMP: Final = "timestamp"
FIELD_CALL_STATE: Final = "call_state"
FIELD_DIRECTION: Final = "direction"
FIELD_FROM: Final = "from"
FIELD_TO: Final = "to"
FIELD_EXTENSION: Final = "extension"
FIELD_NUMBER: Final = "number"
FIELD_LINE_NUMBER: Final = "line_number"
FIELD_DISCONNECT_REASON: Final = "disconnect_reason"
FIELD_IS_GROUP_DISCONNECT: Final = "is_group_disconnect"
FIELD_RECORD_ID: Final = "record_id"
FIELD_STATUS: Final = "status"
FIELD_URL: Final = "url"
FIELD_DURATION: Final = "duration"
FIELD_REQUEST_ID: Final = "request_id"
FIELD_TO_NUMBER: Final = "to_number"
FIELD_RESULT: Final = "result"
FIELD_MESSAGE: Final = "message"

# Words of call_state, upper-cased. DISONNECTED is the vendor page's spelling.
CALL_STATE_APPEARED: Final = "APPEARED"
CALL_STATE_CONNECTED: Final = "CONNECTED"
CALL_STATE_ONHOLD: Final = "ONHOLD"
CALL_STATE_DISCONNECTED: Final = frozenset({"DISCONNECTED", "DISONNECTED"})

DIRECTION_IN: Final = "in"
DIRECTION_OUT: Final = "out"
DIRECTION_INTERNAL: Final = "internal"

RECORD_STATUS_AVAILABLE: Final = "AVAILABLE"
ROUTE_RESULT_SUCCESS: Final = 0

# disconnect_reason of a leg that ended with nobody answering it.
DISCONNECT_REASON_NO_ANSWER: Final = 1111
DISCONNECT_REASONS_UNANSWERED: Final = frozenset({DISCONNECT_REASON_NO_ANSWER})
