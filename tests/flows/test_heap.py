"""The between-batches heap release: effective on glibc, a harmless no-op elsewhere."""

from __future__ import annotations

import platform

import pytest

from flows import heap


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_release_free_heap_reaches_glibc_malloc_trim() -> None:
    assert heap.release_free_heap() is True


def test_release_free_heap_is_a_no_op_without_malloc_trim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    assert heap.release_free_heap() is False
