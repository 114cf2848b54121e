"""Text and messages from the wire made fit for logs and bug reports."""

from collections.abc import Mapping
import re
from typing import Any, Final

from . import wire
from .errors import MangoProtocolError
from .fields import decode_json, fold

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
    fold(name)
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
_FREE_TEXT_FIELDS: Final = frozenset({fold(wire.FIELD_MESSAGE), fold(wire.KEY_MESSAGE)})
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
        return {key: _redact_field(key, value[key], secrets, depth) for key in value}
    if isinstance(value, list):
        return [redact_message(item, secrets, depth + 1) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            if secret:
                value = value.replace(secret, REDACTED)
        return redact_urls(value)
    return value


def _redact_field(key: Any, value: Any, secrets: tuple[str, ...], depth: int) -> Any:
    folded = fold(key) if isinstance(key, str) else None
    if folded in _REDACTED_FIELDS and isinstance(value, str | int):
        return REDACTED
    if folded in _FREE_TEXT_FIELDS and isinstance(value, str):
        # People's words: the service may echo a number in them.
        return redact_free_text(value, secrets)
    return redact_message(value, secrets, depth + 1)


def redact_raw(text: str | bytes, secrets: tuple[str, ...] = ()) -> Any:
    """Redact a raw frame or answer: as JSON where it is, as text where not."""
    try:
        return redact_message(decode_json(text), secrets)
    except MangoProtocolError:
        return redact_free_text(text, secrets)


def redact_free_text(text: str | bytes, secrets: tuple[str, ...] = ()) -> str:
    """Redact text of no known shape (a cut frame, an error message)."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    # JSON may write a URL's slashes escaped ("https:\/\/..."), as PHP does.
    text = text.replace("\\/", "/")
    return str(_DIGITS.sub(REDACTED, redact_message(text, secrets)))
