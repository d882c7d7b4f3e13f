"""The load-test client counts what it receives (no speed is asserted: timings are noisy)."""

from __future__ import annotations

from sandbox import running_sandbox
from sandbox.loadtest import run_load


def test_run_load_sends_the_requested_pages() -> None:
    with running_sandbox(jobs=300) as sb:
        port = int(sb.root_url.rsplit(":", 1)[1])
        result = run_load(port, sb.api_key, requests=40, connections=4, pages=3, seconds=60)
        assert result.requests == 40
        assert result.statuses == {200: 40}
        assert sb.stats()["requests"]["by_status"] == {"200": 40}
