"""Webhook event envelopes (SPEC section 2) and the application lifecycle they describe."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["APPLICATION_STATUSES", "EVENT_TYPES", "make_event", "next_status", "rfc3339_ms"]

EVENT_TYPES = ("job.created", "job.updated", "application.received", "candidate.status_changed")

# status -> statuses it may move to; terminal statuses have none.
APPLICATION_STATUSES: dict[str, tuple[str, ...]] = {
    "applied": ("screening", "rejected"),
    "screening": ("interview", "rejected"),
    "interview": ("offer", "rejected"),
    "offer": ("hired", "declined"),
    "hired": (),
    "rejected": (),
    "declined": (),
}


def rfc3339_ms(epoch_seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, so quick successive changes still order correctly."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_event(event_type: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": rfc3339_ms(now),
        "data": data,
    }


def next_status(status: str, draw: float) -> str | None:
    """The status an application moves to next (None once it is final)."""
    options = APPLICATION_STATUSES.get(status, ())
    if not options:
        return None
    return options[min(int(draw * len(options)), len(options) - 1)]
