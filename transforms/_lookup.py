"""Per-row lookups into tables of distinct values, by position rather than by join."""

from __future__ import annotations

import polars as pl

__all__ = ["lookup"]


def lookup(frame: pl.DataFrame, table: pl.DataFrame, on: str) -> pl.DataFrame:
    """``table``'s other columns for each row of ``frame``, in ``frame``'s row order.

    ``table`` holds one row per distinct non-null value of ``frame[on]`` (built from
    ``unique().drop_nulls()``); a null or unmatched key gives a row of nulls, as a left join
    would. Why not a join: a left join gathers its whole left side (at best the key column
    again, at worst the wide jobs frame with ``raw``) and two index columns, and every fresh
    column costs page faults as well as copying. Casting the key to an ``Enum`` whose categories
    are ``table[on]`` yields each row's table position in one hashing pass; the outputs are then
    plain gathers from the small table.
    """
    keys = table.get_column(on)
    positions = frame.get_column(on).cast(pl.Enum(keys), strict=False).to_physical()
    return table.drop(on).gather(positions)
