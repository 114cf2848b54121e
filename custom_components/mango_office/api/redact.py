"""Text from the wire made fit for logs and bug reports."""

import re
from typing import Final

# A URL's query string may carry a signature that grants access (recordings).
_QUERY: Final = re.compile(
    r"(\b[a-z][a-z0-9+.\-]*://[^\s?#\"'\\]*)\?[^\s#\"'\\]*", re.IGNORECASE
)
# A phone number: five digits or more, with the usual separators.
_PHONE_NUMBER: Final = re.compile(r"\+?\d(?:[\s()\-.]?\d){4,}")


def redact_urls(text: str) -> str:
    """Drop the query strings of the URLs in a text."""
    return _QUERY.sub(r"\1?**REDACTED**", text)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Drop secrets, URL query strings and phone numbers from a text."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "**REDACTED**")
    return _PHONE_NUMBER.sub("**REDACTED**", redact_urls(text))
