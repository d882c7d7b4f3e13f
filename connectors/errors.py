"""What can go wrong talking to JobSphere, arranged by what the caller should do about it.

```
JobSphereError                      anything this package raises about the API
├── RetriableError                  transient: the same request may succeed later
│   ├── RateLimitedError            429; ``retry_after`` seconds when the server said so
│   ├── ServerError                 5xx
│   ├── NetworkError                timeouts, refused or dropped connections
│   └── TruncatedResponseError      a 2xx whose body is not valid JSON or not the expected shape
├── FatalError                      retrying cannot help: fix the request, key or permissions
│   ├── BadRequestError             400
│   ├── AuthenticationError         401
│   ├── PermissionDeniedError       403
│   └── NotFoundError               404   (other 4xx are plain FatalError)
└── RetryExhaustedError             a RetriableError persisted past the retry policy's bounds
```

httpx exceptions are translated once, in the client, with ``raise ... from exc``. No message here
ever includes the API key: messages are built from the status, the method and path, and the
server's own error text, which passes through :func:`connectors.redaction.redact` in the client.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "FatalError",
    "JobSphereError",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetriableError",
    "RetryExhaustedError",
    "ServerError",
    "TruncatedResponseError",
    "error_for_status",
]


class JobSphereError(Exception):
    """Base class; ``status`` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class RetriableError(JobSphereError):
    """Transient; the retry policy tries again within its bounds."""


class RateLimitedError(RetriableError):
    """429: slow down; wait ``retry_after`` seconds when the server gave a ``Retry-After``."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ServerError(RetriableError):
    """5xx: the server failed this time."""


class NetworkError(RetriableError):
    """No usable response: timeout, refused or dropped connection.

    ``request_sent`` is False only when the failure proves the server never saw the request
    (a failed connect), which is what makes retrying a non-idempotent POST safe.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class TruncatedResponseError(RetriableError):
    """A success status whose body cannot be used (cut short, not JSON, not an envelope)."""


class FatalError(JobSphereError):
    """Retrying the same request cannot help; the message says what to fix."""


class BadRequestError(FatalError):
    """400: the parameters or the body are wrong."""


class AuthenticationError(FatalError):
    """401: the API key is missing or invalid."""


class PermissionDeniedError(FatalError):
    """403: the key is valid but may not do this (for example a read-only key writing)."""


class NotFoundError(FatalError):
    """404: no such resource."""


class RetryExhaustedError(JobSphereError):
    """The last retriable error, after the policy's attempts or time ran out."""

    def __init__(self, message: str, *, last_error: RetriableError, attempts: int) -> None:
        super().__init__(message, status=last_error.status)
        self.last_error = last_error
        self.attempts = attempts


_STATUS_CLASSES: dict[int, tuple[type[JobSphereError], str]] = {
    400: (BadRequestError, "JobSphere rejected the request as malformed (400 Bad Request)"),
    401: (AuthenticationError, "JobSphere rejected the API key (401 Unauthorized)"),
    403: (
        PermissionDeniedError,
        "the API key is not allowed to do this (403 Forbidden); use a key with write access",
    ),
    404: (NotFoundError, "JobSphere has no such resource (404 Not Found)"),
    429: (RateLimitedError, "JobSphere is rate limiting this client (429 Too Many Requests)"),
}


def error_for_status(
    status: int,
    *,
    action: str,
    server_message: str | None = None,
    retry_after: float | None = None,
) -> JobSphereError:
    """The one place an HTTP status is classified: 429/5xx retriable, other 4xx fatal.

    ``action`` names the request (``"GET /jobs page 3"``); ``server_message`` is the error text
    from a JSON error body when there was one.
    """
    known = _STATUS_CLASSES.get(status)
    if known is not None:
        cls, text = known
    elif 500 <= status <= 599:
        cls, text = ServerError, f"JobSphere had a server error ({status})"
    elif 400 <= status <= 499:
        cls, text = FatalError, f"JobSphere refused the request ({status})"
    else:
        cls, text = FatalError, f"JobSphere answered with unexpected status {status}"
    message = f"{text} on {action}"
    if server_message:
        message += f": {server_message}"
    if cls is RateLimitedError:
        return RateLimitedError(message, status=status, retry_after=retry_after)
    return cls(message, status=status)
