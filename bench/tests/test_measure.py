"""bench.measure: per-run figures of a whole process tree, and failures that say why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.measure import MeasureError, describe, measure

_ALLOCATE_IN_CHILD = (
    "import subprocess, sys\n"
    "code = 'b = bytearray(200 * 2**20); b[::4096] = b\"x\" * len(b[::4096])'\n"
    "subprocess.run([sys.executable, '-c', code], check=True)\n"
)


def test_peak_rss_includes_children() -> None:
    """200 MiB touched by a grandchild shows in the measured peak of the child we started."""
    result = measure([sys.executable, "-c", _ALLOCATE_IN_CHILD])
    assert result.exit_code == 0
    assert result.peak_rss_bytes >= 200 * 2**20
    assert result.wall_s > 0 and result.cpu_s > 0


_BOTH_HOLD_MEMORY = (
    "import subprocess, sys\n"
    "mine = bytearray(120 * 2**20); mine[::4096] = b'x' * len(mine[::4096])\n"
    "code = ('import time; b = bytearray(120 * 2**20); '\n"
    "        'b[::4096] = b\"x\" * len(b[::4096]); time.sleep(1.5)')\n"
    "subprocess.run([sys.executable, '-c', code], check=True)\n"
)


def test_peak_rss_sums_a_tree_that_grows_after_the_start() -> None:
    """Parent and child holding 120 MiB each at once: only the summed tree shows 240 MiB.

    The child starts after the first sample, so this also pins that the sampler finds the
    tree's members again while the run goes on (it walks /proc only every half second).
    """
    result = measure([sys.executable, "-c", _BOTH_HOLD_MEMORY])
    assert result.exit_code == 0
    assert result.peak_rss_bytes >= 235 * 2**20


def test_each_run_is_measured_alone() -> None:
    """A small run after a big one reports its own, small peak (no RUSAGE_CHILDREN carry-over).

    Measured from a fresh, small parent as ``make bench`` does: a child forked from a large
    process (this pytest session) starts with the parent's pages counted in its ``ru_maxrss``.
    """
    script = (
        "import sys\n"
        "from bench.measure import measure\n"
        f"measure([sys.executable, '-c', {_ALLOCATE_IN_CHILD!r}])\n"
        "print(measure([sys.executable, '-c', 'pass']).peak_rss_bytes)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    assert int(out.strip()) < 150 * 2**20


def test_cpu_time_counts_busy_children() -> None:
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {busy!r}])"
    result = measure([sys.executable, "-c", code])
    assert result.cpu_s >= 0.3


def test_failure_raises_with_stderr_tail() -> None:
    with pytest.raises(MeasureError, match="exit 3") as info:
        measure([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"])
    assert "boom" in str(info.value)


def test_timeout_kills_and_raises() -> None:
    with pytest.raises(MeasureError, match="timed out"):
        measure([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)


def test_unchecked_failure_returns_exit_code() -> None:
    result = measure([sys.executable, "-c", "raise SystemExit(2)"], check=False)
    assert result.exit_code == 2


def test_describe_hides_keys() -> None:
    text = describe(["jobsphere", "sync", "--api-key", "s3cret", "--db", "x.duckdb"])
    assert "s3cret" not in text
    assert "--db x.duckdb" in text
