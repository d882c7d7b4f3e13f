"""The webhook envelope (SPEC section 2) as a pydantic model: the 400-or-not decision."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

__all__ = ["KNOWN_EVENT_TYPES", "Envelope"]

KNOWN_EVENT_TYPES = frozenset(
    {"job.created", "job.updated", "application.received", "candidate.status_changed"}
)

# RFC 3339 date-time: full date, time, optional fraction, mandatory offset. pydantic alone
# would also accept unix numbers, naive times and dates, which are not envelopes.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


class Envelope(BaseModel):
    """``{"id", "type", "created_at", "data"}``; unknown top-level keys are tolerated."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr = Field(min_length=1)
    type: StrictStr = Field(min_length=1)
    created_at: datetime
    data: dict[str, Any]

    @field_validator("created_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if not isinstance(value, str) or not _RFC3339.fullmatch(value):
            raise ValueError("created_at must be an RFC 3339 date-time with an offset")
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)
