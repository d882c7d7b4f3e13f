"""``jobs_frame``: decoded records -> one loose, string-typed row each, never an exception."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms import jobs_frame
from transforms.records import RECORDS_SCHEMA, canonical_json, frame_from_ndjson, ndjson

FULL = {
    "id": "job_1",
    "title": "Data Engineer",
    "company": "Acme",
    "type": "full_time",
    "location": "Austin, TX",
    "salary_range": {"min": 100000, "max": "150k", "currency": "USD", "period": "year"},
    "posted_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-01-03T00:00:00+02:00",
    "description": "Pipelines.\nLots of them.",
    "skills": ["python", "sql"],
    "extra": {"nested": [1, 2.5, None, True]},
}


def test_full_record_maps_every_column() -> None:
    frame = jobs_frame([FULL])
    assert frame.schema == RECORDS_SCHEMA
    row = frame.row(0, named=True)
    assert {k: v for k, v in row.items() if k != "raw"} == {
        "job_id": "job_1",
        "title": "Data Engineer",
        "company": "Acme",
        "employment_type": "full_time",
        "location_raw": "Austin, TX",
        "salary_min_raw": "100000",
        "salary_max_raw": "150k",
        "salary_currency_raw": "USD",
        "salary_period_raw": "year",
        "posted_at_raw": "2026-01-02T03:04:05Z",
        "updated_at_raw": "2026-01-03T00:00:00+02:00",
    }
    assert orjson.loads(row["raw"]) == FULL


def test_missing_fields_are_null() -> None:
    row = jobs_frame([{"id": "x"}]).row(0, named=True)
    assert row["job_id"] == "x"
    assert orjson.loads(row["raw"]) == {"id": "x"}
    assert all(v is None for k, v in row.items() if k not in {"job_id", "raw"})


def test_empty_input_gives_empty_frame_with_schema() -> None:
    frame = jobs_frame([])
    assert frame.height == 0
    assert frame.schema == RECORDS_SCHEMA


SCALARS: list[tuple[str, Any, str | None]] = [
    ("int", 42, "42"),
    ("negative-int", -7, "-7"),
    ("float", 1.5, "1.5"),
    ("true", True, "true"),
    ("false", False, "false"),
    ("null", None, None),
    ("string", "text", "text"),
    ("empty-string", "", ""),
    ("unicode", "Zürich 😀", "Zürich 😀"),
    ("escapes", 'a"b\\c\nd', 'a"b\\c\nd'),
]
FIELDS = ["title", "company", "type", "location", "posted_at", "updated_at"]
COLUMN = {"type": "employment_type", "location": "location_raw", "posted_at": "posted_at_raw"}


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    ("value", "expected"), [s[1:] for s in SCALARS], ids=[s[0] for s in SCALARS]
)
def test_scalar_of_any_type_becomes_text(field: str, value: Any, expected: str | None) -> None:
    frame = jobs_frame([{"id": "x", field: value}, {"id": "y", field: "other"}])
    column = COLUMN.get(field, "updated_at_raw" if field == "updated_at" else field)
    assert frame[column].to_list() == [expected, "other"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "value", [{"a": 1}, [1, "x"], [], {}], ids=["object", "list", "empty-list", "empty-object"]
)
def test_nested_value_becomes_text_not_an_error(field: str, value: Any) -> None:
    frame = jobs_frame([{"id": "x", field: value}, {"id": "y", field: "plain"}])
    column = COLUMN.get(field, "updated_at_raw" if field == "updated_at" else field)
    first, second = frame[column].to_list()
    assert isinstance(first, str)
    assert second == "plain"


@pytest.mark.parametrize(
    ("salary_range", "expected"),
    [
        ({"min": 1, "max": 2.5, "currency": "$", "period": "hour"}, ("1", "2.5", "$", "hour")),
        ({"min": None}, (None, None, None, None)),
        ({"min": True, "currency": 5}, ("true", None, "5", None)),
        (None, (None, None, None, None)),
        ("100k", (None, None, None, None)),
        ([1, 2], (None, None, None, None)),
        (7, (None, None, None, None)),
    ],
    ids=["object", "partial", "odd-types", "null", "string", "list", "number"],
)
def test_salary_range_fields(salary_range: Any, expected: tuple[str | None, ...]) -> None:
    frame = jobs_frame([{"id": "x", "salary_range": salary_range}])
    assert (
        frame.select(
            "salary_min_raw", "salary_max_raw", "salary_currency_raw", "salary_period_raw"
        ).row(0)
        == expected
    )


def test_values_orjson_cannot_serialize_still_give_valid_raw() -> None:
    huge = 2**80
    records = [
        {"id": "big", "title": huge, "salary_range": {"min": huge}},
        {"id": "surrogate", "title": "a\ud800b"},
        {"id": "keys", "extra": {1: "one"}},
        {"id": "plain", "title": "ok"},
    ]
    frame = jobs_frame(records)
    assert frame["job_id"].to_list() == ["big", "surrogate", "keys", "plain"]
    assert frame["title"].to_list()[0] == str(huge)
    assert frame["title"].to_list()[3] == "ok"
    raws = [orjson.loads(r) if i != 0 else None for i, r in enumerate(frame["raw"])]
    assert raws[2] == {"id": "keys", "extra": {"1": "one"}}
    assert raws[3] == {"id": "plain", "title": "ok"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=5,
)
KNOWN = ["title", "company", "type", "location", "salary_range", "posted_at", "updated_at"]
records_strategy = st.lists(
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=12)},
        optional={
            **{k: json_values for k in KNOWN},
            "salary_range": st.fixed_dictionaries(
                {}, optional={k: json_values for k in ("min", "max", "currency", "period")}
            )
            | json_values,
        },
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=records_strategy)
def test_arbitrary_json_never_raises_and_raw_round_trips(records: list[dict[str, Any]]) -> None:
    frame = jobs_frame(records)
    assert frame.schema == RECORDS_SCHEMA
    assert frame["job_id"].to_list() == [r["id"] for r in records]
    assert [orjson.loads(raw) for raw in frame["raw"]] == records


def test_raw_is_compact_one_line_json() -> None:
    raw = jobs_frame([FULL])["raw"][0]
    assert "\n" not in raw
    assert raw == orjson.dumps(FULL).decode()


def test_frame_is_polars_string_typed() -> None:
    assert all(dtype == pl.String for dtype in jobs_frame([FULL]).schema.values())


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=records_strategy, cuts=st.lists(st.integers(min_value=0, max_value=6), max_size=4))
def test_page_chunks_give_the_same_frame_as_one_list(
    records: list[dict[str, Any]], cuts: list[int]
) -> None:
    """The sync keeps one NDJSON chunk per page (empty pages included) until the batch loads."""
    bounds = sorted({0, len(records), *(min(c, len(records)) for c in cuts)})
    pages = [records[a:b] for a, b in pairwise(bounds)] + [[]]
    frame = frame_from_ndjson([ndjson(page) for page in pages])
    assert frame.equals(jobs_frame(records))


def test_no_chunks_or_only_empty_ones_give_the_empty_frame() -> None:
    assert frame_from_ndjson([]).schema == RECORDS_SCHEMA
    assert frame_from_ndjson([ndjson([]), b""]).height == 0


def test_ndjson_chunk_is_exact_size_one_line_per_record() -> None:
    chunk = ndjson([FULL, {"id": "b"}])
    assert chunk == orjson.dumps(FULL) + b"\n" + orjson.dumps({"id": "b"})


def test_sent_text_keeps_its_form_in_raw() -> None:
    sent = b'{"id": "a" , "title":"caf\xc3\xa9 \\u00e9","n":123456789012345678901234567890}'
    frame = frame_from_ndjson([sent])
    assert frame["raw"].to_list() == [sent.decode()]
    assert frame["title"].to_list() == ["café é"]


def test_a_line_polars_cannot_read_is_read_canonically_and_only_that_line() -> None:
    lines = [
        b'{"id":"a","salary_range":{"min":123456789012345678901234567890}}',
        b'{"id":"b","salary_range":{"min":1e400,"max":5}}',
    ]
    frame = frame_from_ndjson([b"\n".join(lines)])
    assert frame["job_id"].to_list() == ["a", "b"]
    # The readable line is read as sent (its huge integer stays exact), the other canonically.
    assert frame["salary_min_raw"].to_list() == ["123456789012345678901234567890", None]
    assert frame["salary_max_raw"].to_list() == [None, "5"]
    assert frame["raw"].to_list() == [line.decode() for line in lines]


def test_a_repeated_id_key_is_read_as_the_connector_read_it() -> None:
    lines = [b'{"id":"a"}', b'{"id":"b","title":"T","id":"c"}', b'{"id":"d"}']
    frame = frame_from_ndjson([b"\n".join(lines[:2]), lines[2]])
    assert frame["job_id"].to_list() == ["a", "c", "d"]
    assert frame["title"].to_list() == [None, "T", None]
    assert frame["raw"].to_list() == [line.decode() for line in lines]


@pytest.mark.parametrize(
    ("line", "job_id", "title"),
    [
        (b'{"\\u0069d":"a","title":"T"}', "a", "T"),  # the key spelled with an escape
        (b'{"id":"x","i\\u0064":"b"}', "b", None),  # repeated, the second one escaped
        (b'{"id":"c","company":{"id":"k"},"title":"T"}', "c", "T"),  # a nested "id"
        (b'{"id":"d","title":"say \\"id\\""}', "d", 'say "id"'),  # "id" inside a string
        (b'{"title":"T","id":"e"}', "e", "T"),
        (b'{"title":"T","id":"e","id":"f"}', "f", "T"),  # repeated, the record not led by it
        (b'{ "id":"g", "id":"h"}', "h", None),  # led by it, but not in the usual form
    ],
)
def test_only_lines_that_could_read_otherwise_are_checked_and_all_read_as_the_connector(
    line: bytes, job_id: str, title: str | None
) -> None:
    plain = b'{"id":"p","title":"P"}'
    frame = frame_from_ndjson([plain + b"\n" + line + b"\n" + plain])
    assert frame["job_id"].to_list() == ["p", job_id, "p"]
    assert frame["title"].to_list() == ["P", title, "P"]
    assert frame["raw"].to_list()[1] == line.decode()


def test_canonical_json_keeps_the_last_of_a_repeated_key_and_nulls_what_a_double_cannot_hold() -> (
    None
):
    assert canonical_json(b'{"id":"b","id":"c"}') == b'{"id":"c"}'
    assert canonical_json(b'{"id":"a","x":1e400}') == b'{"id":"a","x":null}'


@pytest.mark.parametrize(
    ("number", "read_as"),
    [
        (2**128 - 1, str(2**128 - 1)),  # the largest integer Polars reads: kept exactly
        (-(2**127) - 1, "-170141183460469230000000000000000000000"),  # beyond: as a double
        (10**400, None),  # beyond a double too: null
    ],
)
def test_an_integer_beyond_what_polars_reads_fails_only_its_own_line(
    number: int, read_as: str | None
) -> None:
    lines = [b'{"id":"a","location":' + str(number).encode() + b"}", b'{"id":"b","title":"T"}']
    frame = frame_from_ndjson([b"\n".join(lines)])
    assert frame["job_id"].to_list() == ["a", "b"]
    assert frame["location_raw"].to_list() == [read_as, None]
    assert frame["title"].to_list() == [None, "T"]
    assert frame["raw"].to_list() == [line.decode() for line in lines]
