"""Text and messages from the wire made fit for logs and bug reports."""

from collections.abc import Mapping
import re
from typing import Any, Final

from . import wire
from .errors import MangoProtocolError
from .fields import decode_json

REDACTED: Final = "**REDACTED**"

# A URL's query string may carry a signature that grants access (recordings).
_QUERY: Final = re.compile(
    r"(\b[a-z][a-z0-9+.\-]*://[^\s?#\"'\\]*)\?[^\s#\"'\\]*", re.IGNORECASE
)
# In text that is not JSON, anything that may be a phone number.
_DIGITS: Final = re.compile(r"\+?\d(?:[\s()\-.]?\d){4,}")
# Fields (of messages and requests) that hold phone numbers or URLs (the
# websocket's URL is the channel's secret; a recording's grants access), folded.
_REDACTED_FIELDS: Final = frozenset(
    name.replace("_", "").lower()
    for name in (
        wire.FIELD_NUMBER,
        wire.FIELD_LINE_NUMBER,
        wire.FIELD_TO_NUMBER,
        wire.FIELD_FROM,
        wire.FIELD_TO,
        wire.PARAM_DESTINATION_NUMBER,
        wire.PARAM_TO_NUMBER,
        wire.PARAM_CHANNEL,
        wire.KEY_URL,
    )
)
_DEPTH: Final = 16


def redact_urls(text: str) -> str:
    """Drop the query strings of the URLs in a text."""
    return _QUERY.sub(rf"\1?{REDACTED}", text)


def redact_message(value: Any, secrets: tuple[str, ...] = (), depth: int = 0) -> Any:
    """Return a JSON value with phone numbers, URL queries and secrets dropped.

    Its shape (keys, types, nesting) stays: that is what a bug report needs.
    """
    if depth > _DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str)
            and key.replace("_", "").lower() in _REDACTED_FIELDS
            and isinstance(value[key], str | int)
            else redact_message(value[key], secrets, depth + 1)
            for key in value
        }
    if isinstance(value, list):
        return [redact_message(item, secrets, depth + 1) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return redact_urls(value)
    return value


def redact_raw(text: str | bytes, secrets: tuple[str, ...] = ()) -> Any:
    """Redact a raw frame or answer: as JSON where it is, as text where not."""
    try:
        return redact_message(decode_json(text), secrets)
    except MangoProtocolError:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        return _DIGITS.sub(REDACTED, redact_message(text, secrets))
