"""Errors raised by the MANGO OFFICE API client.

None of them ever carries the token: messages are built from the request's
path, the HTTP status and the vendor's result code only.
"""


class MangoError(Exception):
    """Base class for everything the client raises."""


class MangoConnectionError(MangoError):
    """The service could not be reached, timed out, or failed on its side (5xx)."""


class MangoAuthError(MangoError):
    """The service rejected the token."""


class MangoProtocolError(MangoError):
    """The service answered with something that is not the expected format."""


class MangoApiError(MangoError):
    """The service refused the request with a non-zero result code."""

    def __init__(self, code: int, message: str) -> None:
        """Keep the vendor's result code and message for the caller."""
        super().__init__(
            f"Result code {code}: {message}" if message else f"Result code {code}"
        )
        self.code = code
        self.message = message
