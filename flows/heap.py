"""Hand freed heap memory back to the operating system between batches (glibc only).

Each batch allocates and frees tens of MB (texts, frames, Arrow buffers) on several threads;
glibc keeps what is freed in per-thread arenas and returns it to the system only now and then.
``malloc_trim(0)`` after each committed batch returns the free pages of every arena at once:
measured on a 1M-job sync, peak RSS 446 -> 433 MiB at no measurable CPU cost. Elsewhere (macOS,
musl) it is a no-op.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache

__all__ = ["release_free_heap"]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    # The C library is already loaded: look the symbol up in the process itself, rather than
    # ``ctypes.util.find_library``, which runs ldconfig (or a compiler) in a subprocess.
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
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
