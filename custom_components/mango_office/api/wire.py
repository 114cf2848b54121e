"""Every name of the wire format that is assumed rather than documented.

The vendor's full schema is not public: library/README.md in the repository
says what the vendor documents and what is assumed. Everything here is a
reconstruction: when the vendor's PDF or a live account says otherwise, this
is the one file to correct. The rest of the client refers to these names only.

Besides our own guesses, it reads the spellings of the vendor's documented
API for external systems ("VPBX API" below: its PDF v1.9 and payloads in
public code), which very likely shares this service's backend; each such
name is marked so.
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
# VPBX API: every command (callback, route, transfer) carries an id the client
# makes, and its result comes back with it; transfer names who transfers.
PARAM_COMMAND_ID: Final = "COMMAND_ID"
PARAM_INITIATOR: Final = "INITIATOR"

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
# VPBX API: four-digit result codes, 1000 for success.
RESULT_OK_VPBX: Final = 1000
RESULT_SUCCESS_CODES: Final = frozenset({RESULT_OK, RESULT_OK_VPBX})
RESULT_NO_MORE_MISSED_EVENTS: Final = 109
RESULT_USER_EXISTS: Final = 110
AUTH_RESULT_CODES: Final = frozenset({103})
AUTH_HTTP_STATUSES: Final = frozenset({401, 403})
# VPBX API: HTTP 401 may be a block of 2 minutes after invalid requests rather
# than a bad key, so a refusal while running is confirmed after this long.
AUTH_BLOCK_SECONDS: Final = 120.0

# VPBX API: past its limits the service answers HTTP 429 (with a JSON body);
# Retry-After, where it comes (with 429 or 503), says for how long.
RATE_LIMITED_STATUS: Final = 429
RETRY_AFTER_STATUSES: Final = frozenset({429, 503})
HEADER_RETRY_AFTER: Final = "Retry-After"
# VPBX API's documented rates per account: requests in general, callback,
# and route and transfer, as (requests, seconds).
RATE_GENERAL: Final = (10, 1.0)
RATE_CALLBACK: Final = (4, 1.0)
RATE_ROUTE: Final = (1, 2.0)
RATE_TRANSFER: Final = (1, 2.0)

# Push messages: {"routeKey": "/call", "data": {...}}.
KEY_ROUTE_KEY: Final = "routeKey"
KEY_DATA: Final = "data"
ROUTE_CALL: Final = "/call"
ROUTE_RECORD: Final = "/record"
ROUTE_IVR: Final = "/ivr"
ROUTE_RESULT: Final = "/route_result"
# VPBX API: the end-of-call summary (events/summary), and recordings as
# events/recording.
ROUTE_SUMMARY: Final = "/summary"
ROUTE_RECORDING: Final = "/recording"

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
# VPBX API: fields of its call events and summary. line_number may come inside
# "to" (or "from") rather than at the top level; "to" may be {}.
FIELD_CALL_DIRECTION: Final = "call_direction"
FIELD_LOCATION: Final = "location"
FIELD_TRANSFER: Final = "transfer"
FIELD_CALLBACK_INITIATOR: Final = "callback_initiator"
FIELD_COMMAND_ID: Final = "command_id"
FIELD_SIP_CALL_ID: Final = "sip_call_id"
FIELD_RECORDING_ID: Final = "recording_id"
FIELD_RECORDING_STATE: Final = "recording_state"
FIELD_COMPLETION_CODE: Final = "completion_code"
FIELD_ENTRY_RESULT: Final = "entry_result"
FIELD_CREATE_TIME: Final = "create_time"
FIELD_TALK_TIME: Final = "talk_time"
FIELD_END_TIME: Final = "end_time"

# Words of call_state, upper-cased. DISONNECTED is the vendor page's spelling.
# VPBX API: TitleCase (Appeared, Connected, OnHold, Disconnected); words are
# compared upper-cased, so these cover it.
CALL_STATE_APPEARED: Final = "APPEARED"
CALL_STATE_CONNECTED: Final = "CONNECTED"
CALL_STATE_ONHOLD: Final = "ONHOLD"
CALL_STATE_DISCONNECTED: Final = frozenset({"DISCONNECTED", "DISONNECTED"})

DIRECTION_IN: Final = "in"
DIRECTION_OUT: Final = "out"
DIRECTION_INTERNAL: Final = "internal"
# VPBX API: no direction in call events (it follows from which side carries
# the extension); the summary's call_direction is a number.
CALL_DIRECTION_INTERNAL: Final = 0
CALL_DIRECTION_IN: Final = 1
CALL_DIRECTION_OUT: Final = 2

# VPBX API: where a call is (location), and how it is being transferred.
LOCATIONS: Final = frozenset({"ivr", "queue", "abonent"})
TRANSFER_KINDS: Final = frozenset({"consultative", "blind", "return_blind"})

# VPBX API: a number may be a SIP URI (sip:user@domain.mangosip.ru).
SIP_URI_PATTERN: Final = r"sip:[\w.+\-]{1,64}@[\w.\-]{1,64}"
# VPBX API: extension, seq, timestamp and disconnect_reason often arrive as
# strings of digits; fields.py reads them as such everywhere.

RECORD_STATUS_AVAILABLE: Final = "AVAILABLE"
# VPBX API: recording_state Started, Continued, Completed, and no url or
# duration: the link of a completed one is fetched by its id (record).
RECORDING_STATE_STARTED: Final = "STARTED"
RECORDING_STATE_CONTINUED: Final = "CONTINUED"
RECORDING_STATE_COMPLETED: Final = "COMPLETED"
RECORD_STATUSES_READY: Final = frozenset(
    {RECORD_STATUS_AVAILABLE, RECORDING_STATE_COMPLETED}
)
ROUTE_RESULT_SUCCESS: Final = 0
# VPBX API: a command's result is 1000 on success.
ROUTE_RESULT_SUCCESS_CODES: Final = frozenset({ROUTE_RESULT_SUCCESS, RESULT_OK_VPBX})

# disconnect_reason of a leg that ended with nobody answering it.
DISCONNECT_REASON_NO_ANSWER: Final = 1111
DISCONNECT_REASONS_UNANSWERED: Final = frozenset({DISCONNECT_REASON_NO_ANSWER})

# VPBX API: what each disconnect_reason says, by its exact code...
DISCONNECT_OUTCOMES: Final[dict[int, str]] = {
    1100: "normal",
    1110: "ended_by_caller",
    1111: "no_answer",
    1120: "ended_by_callee",
    1121: "busy",
    1122: "rejected",
    1123: "do_not_disturb",
    1124: "do_not_disturb",
    1131: "number_unavailable",
    **dict.fromkeys(range(1160, 1165), "group_call_failed"),
    **dict.fromkeys(range(1170, 1172), "forwarding_scheme"),
    **dict.fromkeys(range(1180, 1184), "ended_by_command"),
}
# ... and otherwise by its class: (lowest code, highest code, outcome).
DISCONNECT_OUTCOME_CLASSES: Final = (
    (1100, 1199, "normal"),
    (2000, 2999, "billing"),
    (3200, 3299, "wrong_number"),
    (4200, 4299, "unreachable"),
    (5000, 5999, "service_error"),
)
DISCONNECT_OUTCOME_UNKNOWN: Final = "unknown"
