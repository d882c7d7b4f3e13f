"""Measuring one whole process: wall time, CPU time and peak memory of it and its children.

Each measured command is started fresh and reaped with ``os.wait4``, so the kernel's resource
usage for that one child (which includes every descendant it waited for) is per run, never mixed
with earlier runs the way ``RUSAGE_CHILDREN`` of a long-lived parent would be. ``ru_maxrss`` is the
peak of the single largest process, so a sampler also sums the resident memory of the whole
process tree every few milliseconds; the reported peak is the larger of the two.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MeasureError", "Measurement", "describe", "measure"]

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_SAMPLE_INTERVAL_S = 0.02
_TREE_EVERY = 25  # samples between two walks of /proc for the tree's members
_SECRET_OPTIONS = frozenset({"--api-key", "--webhook-secret"})


class MeasureError(RuntimeError):
    """The measured command failed, so its numbers would describe an error path, not the work."""


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    exit_code: int
    stdout: str
    stderr: str


def describe(command: Sequence[str]) -> str:
    """The command for error text, with the value after any ``--api-key`` hidden."""
    shown = [
        "***" if index and command[index - 1] in _SECRET_OPTIONS else part
        for index, part in enumerate(command)
    ]
    text = " ".join(shown)
    return text if len(text) <= 160 else text[:157] + "..."


def _children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids, read from /proc in one pass."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; fields resume after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants right now."""
    children = _children_map()
    found: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _rss_bytes(pids: Sequence[int]) -> int:
    """Summed resident memory of ``pids`` (those that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident_pages * _PAGE_SIZE
    return total


class _TreeSampler(threading.Thread):
    """Samples the process tree's summed RSS until stopped, keeping the peak.

    Finding the tree reads every ``/proc/<pid>/stat`` (1.7 ms of CPU here); doing that at every
    20 ms sample took ~8% of a core from the two cores the measured tool and the sandbox share,
    slowing what is measured. So the tree is found again only every ``_TREE_EVERY`` samples
    (0.5 s: measured tools start their children, if any, once); in between, only its members'
    ``statm`` is read (~0.05 ms).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._stop_event = threading.Event()
        self.peak = 0

    def run(self) -> None:
        members: list[int] = []
        sample = 0
        while not self._stop_event.is_set():
            if sample % _TREE_EVERY == 0:
                members = _tree_pids(self._pid)
            self.peak = max(self.peak, _rss_bytes(members))
            sample += 1
            self._stop_event.wait(_SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def measure(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout_s: float = 1800.0,
    check: bool = True,
) -> Measurement:
    """Run ``command`` to completion and measure it; raise :class:`MeasureError` if it fails.

    Output is captured to temporary files rather than pipes so a chatty child can never block on
    a full pipe while we are not reading it.
    """
    out_path = (
        Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-measure-{os.getpid()}-{time.time_ns()}"
    )
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so a kill reaches its children
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        deadline = start + timeout_s
        status, usage, timed_out = 0, None, False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    timed_out = True
                    _kill_group(proc.pid)
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.005)
        except BaseException:
            # Interrupted (Ctrl+C, SIGTERM): never leave the measured processes running.
            _kill_group(proc.pid)
            with contextlib.suppress(ChildProcessError):
                os.wait4(proc.pid, 0)
            raise
        finally:
            wall = time.perf_counter() - start
            sampler.stop()
            proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    assert usage is not None
    result = Measurement(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=max(usage.ru_maxrss * 1024, sampler.peak),
        exit_code=proc.returncode,
        stdout=stdout,
        stderr=stderr,
    )
    if check and (proc.returncode != 0 or timed_out):
        why = f"timed out after {timeout_s:.0f} s" if timed_out else f"exit {proc.returncode}"
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise MeasureError(f"{describe(command)}: {why}\n{tail}")
    return result
