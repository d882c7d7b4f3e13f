"""Signing and verifying JobSphere webhook signatures (SPEC section 2).

The sandbox signs with :func:`sign` and the receiver verifies with :func:`verify`, so the two can
never drift apart. The header is ``t=<unix seconds>,v1=<hex>[,v1=<hex>...]`` and each ``<hex>`` is
``HMAC-SHA256(secret, "<t>." + raw body)``. Several ``v1`` entries appear while JobSphere rotates
secrets; any one that matches any configured secret is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "SignatureError",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "X-JobSphere-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The request is not provably from JobSphere; the message never contains a secret."""


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()


def sign(body: bytes, secrets: str | Sequence[str], timestamp: int | None = None) -> str:
    """Return the header value for ``body``: one ``v1`` entry per secret (rotation)."""
    ts = int(time.time()) if timestamp is None else timestamp
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    if not keys:
        raise ValueError("at least one secret is needed to sign")
    return ",".join([f"t={ts}", *(f"v1={_digest(k, ts, body)}" for k in keys)])


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not value.isdigit():
                raise SignatureError("signature timestamp is not an integer")
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.lower())
    if timestamp is None:
        raise SignatureError("signature header has no timestamp")
    if not candidates:
        raise SignatureError("signature header has no v1 signature")
    return timestamp, candidates


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check ``header`` against ``body``; return its timestamp or raise :class:`SignatureError`.

    Every candidate is compared against every secret with :func:`hmac.compare_digest`, without an
    early exit on the first match, so timing does not reveal which entry or secret matched.
    """
    if not header:
        raise SignatureError("missing signature header")
    if not secrets:
        raise SignatureError("no webhook secret is configured")
    timestamp, candidates = _parse(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"signature timestamp is {int(current - timestamp)} s from now (tolerance {int(tolerance)} s)"
        )
    matched = False
    for secret in secrets:
        expected = _digest(secret, timestamp, body)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no signature matches the body")
    return timestamp
