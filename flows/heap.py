"""Hand freed heap memory back to the operating system between batches (glibc only).

A sync decodes ~100 KB response bodies on eight HTTP threads and frees them on others; glibc
keeps what is freed in per-thread arenas and reuses it only in part, so a million-job sync's
resident memory crept up by ~7 MiB/s although the live data stayed the size of a batch.
``malloc_trim(0)`` after each committed batch returns the free pages of every arena, which keeps
peak RSS bounded by the batch. Elsewhere (macOS, musl) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

__all__ = ["release_free_heap"]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Return free heap pages to the OS; whether this platform could (glibc)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
