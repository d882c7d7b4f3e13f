"""Fixtures for flow and CLI tests: a real sandbox on a free port and a temp warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from flows.settings import SyncSettings
from sandbox.testing import SandboxHandle, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(jobs=1_000, seed=7) as handle:
        yield handle


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def settings_for(sb: SandboxHandle, db: Path, **overrides: object) -> SyncSettings:
    values: dict[str, object] = {
        "db": db,
        "base_url": sb.base_url,
        "api_key": SecretStr(sb.config.api_key),
        "batch_rows": 250,
        "lock_timeout": 10.0,
    }
    values.update(overrides)
    return SyncSettings(**values)  # type: ignore[arg-type]
