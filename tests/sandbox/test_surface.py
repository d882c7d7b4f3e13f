"""The sandbox's public surface and configuration checks."""

from __future__ import annotations

import dataclasses

import pytest

import sandbox
from sandbox import SandboxConfig, create_app


def test_public_names_are_exported() -> None:
    assert set(sandbox.__all__) == {
        "Filters",
        "JobStore",
        "JobValidationError",
        "SandboxApp",
        "SandboxConfig",
        "SandboxHandle",
        "create_app",
        "running_sandbox",
        "serve",
    }
    for name in sandbox.__all__:
        assert getattr(sandbox, name) is not None


def test_defaults_match_the_documented_contract() -> None:
    config = SandboxConfig()
    assert (config.jobs, config.seed, config.api_key) == (1000, 42, "sandbox-key")
    assert config.read_only_key is None and config.rate_limit is None
    assert config.retry_after_format == "seconds"
    app = create_app(config)
    assert app.state.store.total() == 1000
    assert app.state.config is config


@pytest.mark.parametrize(
    "changes",
    [
        {"jobs": -1},
        {"api_key": ""},
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"rate_limit": 0},
        {"retry_after_format": "minutes"},
        {"drift_inserts": -1},
        {"webhook_url": "http://127.0.0.1:1/hook"},
        {"webhook_max_attempts": 0},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_invalid_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(SandboxConfig(), **changes)


def test_rotation_secrets_and_redaction() -> None:
    config = SandboxConfig(webhook_url="http://127.0.0.1:1/h", webhook_secret=" a , b ,")
    assert config.webhook_secrets == ["a", "b"]
    public = config.public_dict()
    assert public["webhook_secret"] == "***" and public["api_key"] == "***"
    assert public["read_only_key"] is None
