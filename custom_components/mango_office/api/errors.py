"""Errors raised by the MANGO OFFICE API client.

None of them ever carries the token: messages are built from the request's
path, the HTTP status and the vendor's result code only.
"""

from . import wire


class MangoError(Exception):
    """Base class for everything the client raises."""


class MangoConnectionError(MangoError):
    """The service could not be reached, timed out, or failed on its side (5xx)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        """Keep how long the service asked to wait (Retry-After), if it did."""
        super().__init__(message)
        self.retry_after = retry_after


class MangoRateLimitError(MangoConnectionError):
    """Too many requests: the service refused (HTTP 429), or pacing would wait too long.

    ``retry_after`` says in how many seconds to try again.
    """


class MangoAuthError(MangoError):
    """The service rejected the token.

    While running, this may be the VPBX API's block of two minutes after
    invalid requests rather than a bad key: confirm with a second attempt
    ``confirm_after`` seconds later before asking the user for a new key. A key
    entered by the user is rejected at once.
    """

    confirm_after = wire.AUTH_BLOCK_SECONDS

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Keep the HTTP status of the refusal (None when only the result code said so)."""
        super().__init__(message)
        self.status = status


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
