"""Polars <-> DuckDB through the Arrow C stream interface, without pyarrow.

DuckDB recognizes a ``polars.DataFrame`` handed to ``register`` and converts it with
``to_arrow()``, and ``relation.pl()`` goes through a pyarrow table too: either imports pyarrow,
37 MB of resident memory in every sync process for nothing. Both libraries speak the Arrow
PyCapsule protocol (``__arrow_c_stream__``) natively, so frames cross through it instead, zero-copy
where the layouts allow, and the registered view can be scanned any number of times (each scan
asks the frame for a fresh stream).
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

__all__ = ["frame_of", "register_frame"]


class _ArrowStream:
    """Exposes only ``__arrow_c_stream__``, so DuckDB takes its capsule path, not pyarrow's."""

    __slots__ = ("_frame",)

    def __init__(self, frame: pl.DataFrame) -> None:
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._frame.__arrow_c_stream__(requested_schema)


def register_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    """``con.register(name, frame)`` without pyarrow; unregister it when done."""
    con.register(name, _ArrowStream(frame))


def frame_of(relation: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    """``relation.pl()`` without pyarrow."""
    return pl.DataFrame(relation)
