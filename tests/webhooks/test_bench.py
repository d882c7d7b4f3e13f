"""The load tool's arithmetic and its minimal HTTP client (``python -m webhooks.bench``)."""

from __future__ import annotations

import socket
import statistics
import threading
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from tests.webhooks.conftest import Receiver
from webhooks import bench


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100, shuffled order must not matter
    shuffled = values[::2] + values[1::2]
    assert bench.percentile(shuffled, 50) == pytest.approx(50.5)
    assert bench.percentile(shuffled, 95) == pytest.approx(95.05)
    assert bench.percentile(shuffled, 99) == pytest.approx(99.01)
    assert bench.percentile(shuffled, 0) == 1.0 and bench.percentile(shuffled, 100) == 100.0
    assert bench.percentile([7.0], 99) == 7.0


def test_p99_matches_the_inclusive_quantile_definition_and_sees_the_tail() -> None:
    # 2,000 lags: 1,970 fast ones and a slow tail of 30 (1.5%): p95 misses it, p99 must not.
    lags = [0.5] * 1970 + [3.0] * 30
    inclusive = statistics.quantiles(lags, n=100, method="inclusive")
    assert bench.percentile(lags, 95) == pytest.approx(inclusive[94]) == 0.5
    assert bench.percentile(lags, 99) == pytest.approx(inclusive[98]) == 3.0
    figures = bench._ms_percentiles("ack_to_queryable", lags)
    assert figures == {
        "ack_to_queryable_p50_ms": 500.0,
        "ack_to_queryable_p95_ms": 500.0,
        "ack_to_queryable_p99_ms": 3000.0,
    }
    assert bench._ms_percentiles("x", []) == {"x_p50_ms": None, "x_p95_ms": None, "x_p99_ms": None}
    with pytest.raises(ValueError):
        bench.percentile([], 50)


@pytest.fixture
def served(make_receiver: Callable[..., Receiver]) -> Iterator[tuple[str, Receiver]]:
    """A receiver app with the bench's secret on a real loopback socket, in a thread."""
    import time

    receiver = make_receiver(secrets=(bench._SECRET,), tolerance=10**10)
    transport = receiver.client._transport
    app = transport.app  # type: ignore[attr-defined]
    app._clock = time.time
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield f"http://127.0.0.1:{port}", receiver
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_the_client_gets_every_event_acknowledged_once(served: tuple[str, Receiver]) -> None:
    url, receiver = served
    ids, bodies = zip(*(bench._event(n, 5) for n in range(40)), strict=True)
    sent = bench.send_all(url, ids, bodies, clients=3)
    assert sorted(event_id for event_id, _ in sent.acks) == sorted(ids)
    assert sent.client_cpu_s > 0 and sent.seconds > 0
    assert receiver.inbox.backlog().count == 40
    # Re-sending is answered 200 "duplicate"; the client accepts any 200.
    again = bench.send_all(url, ids[:5], bodies[:5], clients=2, rate=1000.0)
    assert len(again.acks) == 5 and receiver.inbox.backlog().count == 40


def test_the_client_fails_loudly_on_a_non_200(served: tuple[str, Receiver]) -> None:
    url, _ = served
    with pytest.raises(RuntimeError, match="400 Bad Request"):  # signed, not an envelope
        bench.send_all(url, ["evt_x"], [b'{"id": "evt_x"}'], clients=1, rate=None)


def test_the_scenario_reports_p99_and_what_the_rate_cost() -> None:
    from bench.results import Result
    from bench.scenarios import webhooks_load

    burst = Result("webhooks", "burst", "webhook receiver")
    burst.samples = [{"events_per_s": v} for v in (900.0, 1100.0, 1200.0)]
    paced = Result("webhooks", "paced", "webhook receiver (ack → queryable)")
    paced.samples = [{"p50_s": 0.6, "p95_s": 1.2, "p99_s": 1.6}]
    rate, latency = webhooks_load._targets(burst, paced)
    assert (rate.observed, rate.met) == ("1,100 events/s", True)
    assert (latency.observed, latency.met) == ("p95 1.20 s (p99 1.60 s)", True)
    note = webhooks_load._cost_note(
        [
            {"client_cpu_ms_per_event": c, "receiver_cpu_ms_per_event": 0.3}
            for c in (0.09, 0.07, 0.08)
        ]
    )
    assert note == "CPU ms per event: client 0.08, receiver 0.30"
