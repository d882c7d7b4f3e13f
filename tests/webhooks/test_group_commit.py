"""The receiver's group commit: every event answered after its own commit, commits shared.

A fake inbox records each ``put_many`` batch, so batch boundaries are observed directly; the
gathering wait is pinned with a long bound, so no assertion depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from webhooks.app import _GroupCommit
from webhooks.inbox import Inbox, InboxEvent

pytestmark = pytest.mark.anyio

T0 = datetime(2027, 1, 15, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def event(n: int) -> InboxEvent:
    return InboxEvent(event_id=f"evt_{n}", event_type="job.updated", created_at=T0, payload="{}")


class FakeInbox:
    """Records batches; each commit blocks until the test releases it (when ``hold`` is set)."""

    def __init__(self, *, hold: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def put_many(self, events: Sequence[InboxEvent]) -> list[bool]:
        self.release.wait(30)
        self.batches.append([e.event_id for e in events])
        return [True] * len(events)


def committer(inbox: FakeInbox, gather: float) -> _GroupCommit:
    return _GroupCommit(inbox, gather=gather)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_lone_sender_never_waits_to_gather() -> None:
    inbox = FakeInbox()
    commit = committer(inbox, gather=60)
    commit._commit_ewma = 60.0  # a gathering wait, if any, would outlast the test's timeout
    for n in range(3):
        assert await asyncio.wait_for(commit.put(event(n)), 10) is True
    assert inbox.batches == [["evt_0"], ["evt_1"], ["evt_2"]]
    commit.close()


async def test_events_arriving_during_a_commit_share_the_next_one() -> None:
    inbox = FakeInbox(hold=True)
    commit = committer(inbox, gather=0)
    first = asyncio.ensure_future(commit.put(event(0)))
    await settle()  # the first commit is in flight (held)
    rest = [asyncio.ensure_future(commit.put(event(n))) for n in range(1, 5)]
    await settle()
    assert not first.done() and not any(r.done() for r in rest)  # nothing answered before commit
    inbox.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *rest), 10) == [True] * 5
    assert inbox.batches == [["evt_0"], ["evt_1", "evt_2", "evt_3", "evt_4"]]
    commit.close()


async def test_a_commit_waits_for_as_many_events_as_the_previous_batch_held() -> None:
    inbox = FakeInbox()
    commit = committer(inbox, gather=60)
    await asyncio.gather(*(commit.put(event(n)) for n in range(3)))
    assert inbox.batches == [["evt_0", "evt_1", "evt_2"]]
    commit._commit_ewma = 60.0  # pin the wait's bound far above the test's duration
    early = asyncio.ensure_future(commit.put(event(3)))
    await settle()
    assert not early.done() and len(inbox.batches) == 1  # waiting for two more senders
    late = [asyncio.ensure_future(commit.put(event(n))) for n in (4, 5)]
    await asyncio.wait_for(asyncio.gather(early, *late), 10)
    assert inbox.batches[1:] == [["evt_3", "evt_4", "evt_5"]]
    commit.close()


async def test_the_gathering_wait_is_bounded() -> None:
    inbox = FakeInbox()
    commit = committer(inbox, gather=0.01)
    await asyncio.gather(*(commit.put(event(n)) for n in range(3)))
    commit._commit_ewma = 60.0  # the recent commit time would allow a minute: gather caps it
    assert await asyncio.wait_for(commit.put(event(3)), 10) is True
    assert inbox.batches[1:] == [["evt_3"]]
    commit.close()


async def test_a_failed_commit_fails_every_event_in_it() -> None:
    class Broken(FakeInbox):
        def put_many(self, events: Sequence[InboxEvent]) -> list[bool]:
            raise OSError("disk full")

    commit = committer(Broken(), gather=0)
    results = await asyncio.gather(
        *(commit.put(event(n)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)
    commit.close()


async def test_duplicates_in_one_shared_commit_are_reported_per_event(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.sqlite3") as inbox:
        commit = _GroupCommit(inbox, gather=0)
        results = await asyncio.gather(*(commit.put(event(n % 2)) for n in range(4)))
        assert sorted(results) == [False, False, True, True]
        assert commit.events == 4 and commit.commits <= 4
        commit.close()
