"""Typed settings passed from the command line (or a deployment) into the flows.

Validated once at the edge and handed inward as plain objects; nothing is read from the
environment at import time. The API key is a ``SecretStr`` so it is masked wherever the settings
are printed, logged or stored as Prefect flow-run parameters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .defaults import DEFAULT_BASE_URL, DEFAULT_BATCH_ROWS, DEFAULT_DB

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DB",
    "BackfillSlice",
    "JobType",
    "SyncSettings",
]

JobType = Literal["full_time", "part_time", "contract"]


class SyncSettings(BaseModel):
    """Where to read from and write to, and how hard to push."""

    model_config = ConfigDict(frozen=True)

    db: Path = Path(DEFAULT_DB)
    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr
    # Rows per warehouse transaction: bounds memory and the time the DuckDB file is held.
    batch_rows: int = Field(default=DEFAULT_BATCH_ROWS, ge=100)
    # Concurrent page requests once the first page has revealed the total.
    concurrency: int = Field(default=8, ge=1, le=64)
    # How far below the stored cursor an incremental run still looks, for late-indexed jobs.
    overlap: timedelta = timedelta(seconds=0)
    lock_timeout: float = Field(default=60.0, ge=0)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class BackfillSlice(BaseModel):
    """The slice an ad-hoc backfill covers; every field narrows it."""

    model_config = ConfigDict(frozen=True)

    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    location: str | None = None
    type: JobType | None = None

    @field_validator("since", "until", mode="before")
    @classmethod
    def _as_utc(cls, value: object) -> object:
        """Dates mean midnight UTC; naive datetimes are read as UTC."""
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time.min)
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def api_filters(self) -> dict[str, str]:
        """The part of the slice the API can filter on; dates are applied on our side."""
        filters = {"q": self.q, "location": self.location, "type": self.type}
        return {k: v for k, v in filters.items() if v}

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.model_dump(mode="json").items() if v]
        return ", ".join(parts) or "everything"
