"""The shapes JobSphere sends, and the split of a page's ``data`` into usable and rejected records.

Two speeds on purpose. The scan path never builds a Python object per field: :func:`decode_page`
reads a ``GET /jobs`` body in two native passes (msgspec), one that keeps each record as the JSON
text the API sent (a view on the body, no copy) and one that decodes only each record's ``id`` and
``posted_at``, skipping every other field. The warehouse parses those texts in bulk (Polars), so
every field survives untouched, and the scan's ids, order checks and completeness proof need only
the two fields. Decoding every record into a dict (orjson) and encoding it again for the warehouse
had been most of a sync's GIL-held CPU: 267 against 154 us per 100-record page, measured alone.
:func:`split_records` does the one check SPEC demands (a JSON object with a non-empty string
``id``). The SDK-style :class:`Job` is for callers who want typed objects: it is lenient, turning
any field it cannot read into None, and keeps unknown fields (``extra="allow"``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
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
    "PageBody",
    "PageBodyError",
    "RecordKeys",
    "RejectedRecord",
    "SalaryRange",
    "UsableRecords",
    "decode_page",
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

    ``texts`` holds the JSON text of each usable record not already yielded earlier in the same
    scan, as the API sent it (one line each), and ``ids`` their ids in the same order; ``reread``
    is True for pages read again to repair drift (their ``number`` may be lower than a page
    yielded before).
    """

    number: int
    meta: Meta
    texts: list[msgspec.Raw]
    ids: list[str]
    rejected: list[RejectedRecord] = field(default_factory=list)
    reread: bool = False
    # When the request for this page went out (UTC); None for pages built by hand.
    fetched_at: datetime | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records decoded, for callers that want dicts (the SDK surface); the pipeline
        hands ``texts`` to the warehouse undecoded."""
        return [_decode_record(text) for text in self.texts]


def _decode_record(text: msgspec.Raw) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        # A number beyond a double or a lone surrogate escape: valid JSON that msgspec refuses.
        return json.loads(bytes(text))


class RecordKeys(msgspec.Struct, gc=False):
    """The two fields of a record the scan reads; every other field is skipped, not decoded.

    Untracked by the cyclic GC (``gc=False``): a million of them would otherwise count towards
    its collections, and decoded values cannot refer back to the struct that holds them.
    """

    id: Any = msgspec.UNSET
    posted_at: Any = None


# A ``data`` item: an object (its keys) or any other JSON value, which the split rejects.
_Item = RecordKeys | str | int | float | bool | None | list[Any]


class _TextsEnvelope(msgspec.Struct):
    data: list[msgspec.Raw]
    meta: msgspec.Raw


class _KeysEnvelope(msgspec.Struct):
    data: list[_Item]


_TEXTS = msgspec.json.Decoder(_TextsEnvelope)
_KEYS = msgspec.json.Decoder(_KeysEnvelope)


class PageBodyError(ValueError):
    """A ``GET /jobs`` body that is not valid JSON (``malformed``) or not a page envelope."""

    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.malformed = malformed


@dataclass(frozen=True, slots=True)
class PageBody:
    """A decoded ``GET /jobs`` body: ``texts[k]`` is item ``k`` of ``data`` as JSON text on one
    line, ``items[k]`` its :class:`RecordKeys` (or the item itself when it is not an object)."""

    meta: Meta
    texts: list[msgspec.Raw]
    items: list[_Item]


def decode_page(content: bytes) -> PageBody:
    """Split a ``GET /jobs`` body into its meta, its items' texts and their keys.

    Unknown envelope and record fields are skipped. Text is checked to be UTF-8 once for the
    whole body (the passes skip what they do not decode). A body that spreads a record over
    several lines (pretty-printed) gets that record compacted onto one, so that one record is one
    line of the NDJSON the warehouse parses.
    """
    try:
        texts = _TEXTS.decode(content)
        items = _KEYS.decode(content).data
    except msgspec.ValidationError as exc:
        raise PageBodyError(str(exc), malformed=False) from None
    except msgspec.DecodeError as exc:
        raise PageBodyError(str(exc), malformed=True) from None
    if not content.isascii():
        try:
            content.decode()
        except UnicodeDecodeError as exc:
            raise PageBodyError(f"invalid UTF-8 at byte {exc.start}", malformed=True) from None
    try:
        meta = Meta.model_validate_json(bytes(texts.meta))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise PageBodyError(f"meta.{where}: {problem['msg']}", malformed=False) from None
    lines = texts.data
    if b"\n" in content:
        lines = [_one_line(text) for text in lines]
    return PageBody(meta=meta, texts=lines, items=items)


def _one_line(text: msgspec.Raw) -> msgspec.Raw:
    if b"\n" not in bytes(text):
        return text
    return msgspec.Raw(msgspec.json.format(text, indent=-1))


class UsableRecords(NamedTuple):
    """The usable records of a page (same order as sent) and the rejected rest."""

    ids: list[str]
    texts: list[msgspec.Raw]
    posted_at: list[Any]
    rejected: list[RejectedRecord]


def split_records(body: PageBody) -> UsableRecords:
    """Usable records (JSON objects with a non-empty string ``id``) and the rejected rest."""
    items, texts = body.items, body.texts
    if all(type(item) is RecordKeys for item in items):
        ids = [item.id for item in items]
        if all(type(job_id) is str and job_id for job_id in ids):
            return UsableRecords(ids, texts, [item.posted_at for item in items], [])
    usable = UsableRecords([], [], [], [])
    for item, text in zip(items, texts, strict=True):
        if type(item) is RecordKeys:
            job_id = item.id
            if type(job_id) is str and job_id:
                usable.ids.append(job_id)
                usable.texts.append(text)
                usable.posted_at.append(item.posted_at)
                continue
            if job_id is msgspec.UNSET:
                reason = "record has no id"
            elif isinstance(job_id, str):
                reason = "record id is empty"
            else:
                reason = f"record id is not a string ({type(job_id).__name__})"
            shown = (
                None if job_id is msgspec.UNSET or job_id is None or job_id == "" else str(job_id)
            )
        else:
            reason = f"record is not a JSON object ({type(item).__name__})"
            shown = None
        raw = bytes(text).decode("utf-8", "replace")
        usable.rejected.append(RejectedRecord(job_id=shown, reason=reason, raw=raw))
    return usable
