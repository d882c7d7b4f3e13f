"""Session-wide test settings: no network, no telemetry, one Prefect harness for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session: starting one costs ~10 s.

    Request it (directly or through another fixture) from any test that runs a flow.
    """
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the tests that need the Prefect harness last.

    Once the harness is up, Prefect's background workers (events, logs) keep running for the rest
    of the session and draw from the global ``random`` module, which Hypothesis rightly treats as
    nondeterminism inside its data generation. Property tests therefore run before the harness
    starts; the sort is stable, so the order is otherwise unchanged.
    """
    items.sort(key=lambda item: "prefect_harness" in getattr(item, "fixturenames", ()))
