"""Constants for the MANGO OFFICE integration."""

import logging
from typing import Final

DOMAIN: Final = "mango_office"

LOGGER = logging.getLogger(__package__)

CONF_EXTENSION: Final = "extension"
CONF_EXTENSIONS: Final = "extensions"
CONF_BASE_URL: Final = "base_url"
CONF_PHONEBOOK: Final = "phonebook"
# Kept in a migrated extension's subentry: the id of the 0.1 entry it was, which
# actions still accept and bus events still carry, and the unique id its device
# and entities were made with when it differs from today's rule.
CONF_FORMER_ENTRY_ID: Final = "former_entry_id"
CONF_FORMER_UNIQUE_ID: Final = "former_unique_id"

SUBENTRY_EXTENSION: Final = "extension"
# The account entry's title; the user may rename it.
ACCOUNT_TITLE: Final = "MANGO OFFICE"

MANUFACTURER: Final = "MANGO OFFICE"
# Home Assistant translates a device's name but not its model: the model is picked by the
# server's language when the entities are added (strings.json cannot hold it).
MODEL: Final = "Virtual PBX extension"
MODELS: Final = {"en": MODEL, "ru": "Внутренний номер ВАТС"}  # noqa: RUF001 - Russian
ACCOUNT_MODEL: Final = "Virtual PBX"
ACCOUNT_MODELS: Final = {"en": ACCOUNT_MODEL, "ru": "ВАТС"}  # noqa: RUF001 - Russian

# Bus events, one per kind of push, for automations.
EVENT_CALL: Final = "mango_office_call"
EVENT_RECORD: Final = "mango_office_record"
EVENT_IVR: Final = "mango_office_ivr"
EVENT_ROUTE_RESULT: Final = "mango_office_route_result"
# The Call event entity's key: the activity log's row of a call goes on it.
CALL_EVENT_KEY: Final = "call"

# Event types of the other event entities (the call's are news of calls.py).
RECORDING_AVAILABLE: Final = "available"
IVR_APPEARED: Final = "appeared"
ROUTE_SUCCESS: Final = "success"
ROUTE_FAILURE: Final = "failure"

# Keys of the bus events' data and of the event entities' attributes.
ATTR_ANSWERED: Final = "answered"
ATTR_ANSWERED_AT: Final = "answered_at"
ATTR_CALL_ID: Final = "call_id"
ATTR_CALLEE_NAME: Final = "callee_name"
ATTR_CALLEE_NUMBER: Final = "callee_number"
ATTR_CALLER_NAME: Final = "caller_name"
ATTR_CALLER_NUMBER: Final = "caller_number"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_DIRECTION: Final = "direction"
ATTR_DISCONNECT_REASON: Final = "disconnect_reason"
ATTR_DURATION: Final = "duration"
ATTR_ENTRY_ID: Final = "entry_id"
ATTR_EVENT_TYPE: Final = "event_type"
ATTR_EXTENSION: Final = "extension"
ATTR_LINE_NUMBER: Final = "line_number"
ATTR_MESSAGE: Final = "message"
ATTR_NAME: Final = "name"
ATTR_NUMBER: Final = "number"
ATTR_OUTCOME: Final = "outcome"
ATTR_RECORD_ID: Final = "record_id"
ATTR_REPLAYED: Final = "replayed"
ATTR_REQUEST_ID: Final = "request_id"
ATTR_RESULT: Final = "result"
ATTR_STARTED_AT: Final = "started_at"
ATTR_STATE: Final = "state"
ATTR_STATUS: Final = "status"
ATTR_TIME: Final = "time"
ATTR_TO: Final = "to"
ATTR_URL: Final = "url"
