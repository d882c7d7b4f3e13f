"""A page body is split into each record's text as sent and the two fields the scan reads."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest

from connectors.models import (
    Page,
    PageBody,
    PageBodyError,
    RecordKeys,
    decode_page,
    split_records,
)

META = {"total": 3, "page": 1, "limit": 100}


def _body(data: list[Any], **extra: Any) -> bytes:
    return orjson.dumps({"data": data, "meta": META, **extra})


def test_texts_are_the_records_as_sent_and_only_id_and_posted_at_are_decoded() -> None:
    sent = (
        b'{"links":{"next":"?page=2"},"data":[{"id":"a","posted_at":"2026-01-01T00:00:00Z",'
        b'"n":123456789012345678901234567890,"salary_range":{"min":1e400}},'
        b'{"id":"b" , "title":"caf\xc3\xa9 \\u00e9"}],"meta":{"total":2,"page":1,"limit":100,'
        b'"cursor":null}}'
    )
    body = decode_page(sent)
    assert (body.meta.total, body.meta.page, body.meta.limit) == (2, 1, 100)
    assert [bytes(text) for text in body.texts] == [
        b'{"id":"a","posted_at":"2026-01-01T00:00:00Z","n":123456789012345678901234567890,'
        b'"salary_range":{"min":1e400}}',
        b'{"id":"b" , "title":"caf\xc3\xa9 \\u00e9"}',
    ]
    assert body.items == [
        RecordKeys(id="a", posted_at="2026-01-01T00:00:00Z"),
        RecordKeys(id="b", posted_at=None),
    ]


def test_a_pretty_printed_body_gives_one_line_per_record() -> None:
    records = [{"id": "a", "skills": ["SQL", "Go"], "note": "two\nlines"}, {"id": "b"}]
    body = decode_page(json.dumps({"data": records, "meta": META}, indent=2).encode())
    assert all(b"\n" not in bytes(text) for text in body.texts)
    assert [orjson.loads(bytes(text)) for text in body.texts] == records


def test_page_records_decode_exactly_even_where_orjson_cannot() -> None:
    sent = b'{"data":[{"id":"a","n":123456789012345678901234567890,"x":1e400}],"meta":'
    page_body = decode_page(sent + orjson.dumps(META) + b"}")
    usable = split_records(page_body)
    page = Page(number=1, meta=page_body.meta, texts=usable.texts, ids=usable.ids)
    [record] = page.records
    assert record["n"] == 123456789012345678901234567890 and math.isinf(record["x"])


@pytest.mark.parametrize(
    ("sent", "malformed", "message"),
    [
        (b'{"data":[{"id":"a","t":"\xff"}],"meta":' + orjson.dumps(META) + b"}", True, "UTF-8"),
        (b'{"data":[{"id":"a"}', True, "truncated"),
        (b'{"data":[{"id":"a","t":"\\ud800"}],"meta":' + orjson.dumps(META) + b"}", True, "escape"),
        (b"<html>maintenance</html>", True, "malformed"),
        (
            _body(
                [],
            ),
            False,
            "",
        ),
        (orjson.dumps({"data": {}, "meta": META}), False, "$.data"),
        (orjson.dumps({"data": []}), False, "meta"),
        (orjson.dumps({"data": [], "meta": {**META, "total": -1}}), False, "meta.total"),
        (orjson.dumps({"data": [], "meta": {"total": 1}}), False, "meta.page"),
    ],
    ids=[
        "bad-utf8",
        "cut",
        "lone-surrogate",
        "html",
        "ok",
        "data-object",
        "no-meta",
        "negative-total",
        "no-page",
    ],
)
def test_what_is_not_a_page_says_why(sent: bytes, malformed: bool, message: str) -> None:
    if not message:
        assert isinstance(decode_page(sent), PageBody)
        return
    with pytest.raises(PageBodyError, match=message.replace("$", r"\$")) as caught:
        decode_page(sent)
    assert caught.value.malformed is malformed


def test_split_keeps_usable_records_in_order_and_rejects_the_rest_with_a_reason() -> None:
    data = [
        {"id": "a", "posted_at": "2026-01-01T00:00:00Z"},
        {"title": "no id"},
        {"id": ""},
        {"id": 7},
        {"id": None},
        {"id": {"x": 1}},
        "text",
        3.5,
        [1],
        None,
        {"id": "b"},
    ]
    usable = split_records(decode_page(_body(data)))
    assert usable.ids == ["a", "b"]
    assert [orjson.loads(bytes(t)) for t in usable.texts] == [data[0], data[-1]]
    assert usable.posted_at == ["2026-01-01T00:00:00Z", None]
    assert [(r.job_id, r.reason) for r in usable.rejected] == [
        (None, "record has no id"),
        (None, "record id is empty"),
        ("7", "record id is not a string (int)"),
        (None, "record id is not a string (NoneType)"),
        ("{'x': 1}", "record id is not a string (dict)"),
        (None, "record is not a JSON object (str)"),
        (None, "record is not a JSON object (float)"),
        (None, "record is not a JSON object (list)"),
        (None, "record is not a JSON object (NoneType)"),
    ]
    assert [r.raw for r in usable.rejected][:2] == ['{"title":"no id"}', '{"id":""}']


def test_split_of_a_clean_page_hands_over_the_texts_as_they_are() -> None:
    data = [{"id": f"j{k}", "posted_at": None} for k in range(5)]
    body = decode_page(_body(data))
    usable = split_records(body)
    assert usable.texts is body.texts and usable.ids == [d["id"] for d in data]
    assert usable.rejected == []
