"""The one place secrets are scrubbed from text: URLs, exception messages, log records.

A :class:`connectors.Client` registers its API key here when it is built. :func:`redact` replaces
registered (or given) secrets and anything after ``Bearer`` with ``***``; :class:`RedactingFilter`
applies the same to log records, including their formatted arguments and tracebacks. The client
attaches the filter to the ``connectors``, ``httpx`` and ``httpcore`` loggers; an application that
adds handlers of its own can attach it there too (``handler.addFilter(RedactingFilter())``), which
also covers records from child loggers.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = [
    "MASK",
    "RedactingFilter",
    "install_log_redaction",
    "redact",
    "register_secret",
    "registered_secrets",
]

MASK = "***"
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]+")
_lock = threading.Lock()
_secrets: set[str] = set()
_LOGGERS = (
    "connectors",
    "connectors.client",
    "connectors.retry",
    "connectors.pagination",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
_MIN_SECRET_LENGTH = (
    4  # shorter strings would mask ordinary words; such keys are still Bearer-masked
)


def register_secret(secret: str) -> None:
    """Remember ``secret`` so every later :func:`redact` and log record hides it."""
    if secret and len(secret) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(secret)


def registered_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every secret (given, else registered) and every bearer token masked."""
    pool = registered_secrets() if secrets is None else frozenset(secrets)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(pool, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments and traceback text with secrets masked.

    The record is formatted here once (``getMessage``) so secrets inside ``%`` arguments are caught;
    it always returns True: redaction never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_installed = False


def install_log_redaction() -> None:
    """Attach one shared :class:`RedactingFilter` to the HTTP and connector loggers (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    shared = RedactingFilter()
    for name in _LOGGERS:
        logging.getLogger(name).addFilter(shared)
