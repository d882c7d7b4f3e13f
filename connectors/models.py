"""The shapes JobSphere sends, and the split of a page's ``data`` into usable and rejected records.

Two speeds on purpose. The scan path validates only the envelope (:class:`PageEnvelope`) and keeps
records as the decoded dicts, so every field survives untouched and a million records cost no
model builds; :func:`split_records` does the one check SPEC demands (a JSON object with a non-empty
string ``id``). The SDK-style :class:`Job` is for callers who want typed objects: it is lenient,
turning any field it cannot read into None, and keeps unknown fields (``extra="allow"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

__all__ = [
    "ApiErrorBody",
    "Job",
    "Meta",
    "Page",
    "PageEnvelope",
    "RejectedRecord",
    "SalaryRange",
    "split_records",
]


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


class SalaryRange(BaseModel):
    """``salary_range``: bounds may be numbers or strings such as ``"120k"``; any part may be absent."""

    model_config = ConfigDict(extra="allow")

    min: float | str | None = None
    max: float | str | None = None
    currency: str | None = None
    period: str | None = None

    _lenient = field_validator("min", "max", "currency", "period", mode="wrap")(_or_none)


class Job(BaseModel):
    """One job as the SDK surface returns it; only a non-empty string ``id`` is required."""

    model_config = ConfigDict(extra="allow")

    id: StrictStr = Field(min_length=1)
    title: str | None = None
    company: str | None = None
    location: str | None = None
    type: str | None = None
    salary_range: SalaryRange | None = None
    posted_at: datetime | None = None
    updated_at: datetime | None = None

    _lenient = field_validator(
        "title",
        "company",
        "location",
        "type",
        "salary_range",
        "posted_at",
        "updated_at",
        mode="wrap",
    )(_or_none)


class Meta(BaseModel):
    """``meta`` of a list response."""

    total: int = Field(ge=0)
    page: int = Field(ge=1)
    limit: int = Field(ge=1)


class PageEnvelope(BaseModel):
    """A ``GET /jobs`` body; records stay undecoded-by-pydantic (``Any``) for speed and fidelity."""

    data: list[Any]
    meta: Meta


class ApiErrorBody(BaseModel):
    """A JSON error body in any of the common shapes: ``{"error": {"code", "message"}}``,
    ``{"error": "..."}``, ``{"message": "..."}`` or ``{"detail": "..."}``."""

    model_config = ConfigDict(extra="allow")

    error: Any = None
    message: Any = None
    detail: Any = None

    def summary(self) -> str | None:
        """The server's human-readable message, if the body has one."""
        candidates: list[Any] = []
        if isinstance(self.error, dict):
            candidates += [self.error.get("message"), self.error.get("detail")]
        candidates += [self.error, self.message, self.detail]
        for candidate in candidates:
            if isinstance(candidate, str) and candidate.strip():
                return candidate.strip()[:300]
        return None


class RejectedRecord(BaseModel):
    """A record SPEC says to reject: not a JSON object, or no usable ``id``."""

    job_id: str | None
    reason: str
    raw: str


@dataclass(slots=True)
class Page:
    """One page as the scan yields it.

    ``records`` holds the usable records not already yielded earlier in the same scan;
    ``reread`` is True for pages read again to repair drift (their ``number`` may be lower than
    a page yielded before).
    """

    number: int
    meta: Meta
    records: list[dict[str, Any]]
    rejected: list[RejectedRecord] = field(default_factory=list)
    reread: bool = False
    # When the request for this page went out (UTC); None for pages built by hand.
    fetched_at: datetime | None = None


def _raw(item: Any) -> str:
    try:
        return orjson.dumps(item).decode()
    except TypeError:
        return repr(item)


def split_records(data: list[Any]) -> tuple[list[dict[str, Any]], list[RejectedRecord]]:
    """Usable records (JSON objects with a non-empty string ``id``) and the rejected rest."""
    usable: list[dict[str, Any]] = []
    rejected: list[RejectedRecord] = []
    for item in data:
        if type(item) is dict:
            job_id = item.get("id")
            if type(job_id) is str and job_id:
                usable.append(item)
                continue
            if "id" not in item:
                reason = "record has no id"
            elif isinstance(job_id, str):
                reason = "record id is empty"
            else:
                reason = f"record id is not a string ({type(job_id).__name__})"
            shown = None if job_id is None or job_id == "" else str(job_id)
            rejected.append(RejectedRecord(job_id=shown, reason=reason, raw=_raw(item)))
        else:
            reason = f"record is not a JSON object ({type(item).__name__})"
            rejected.append(RejectedRecord(job_id=None, reason=reason, raw=_raw(item)))
    return usable, rejected
