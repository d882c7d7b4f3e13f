"""The sandbox's settings: one frozen object, validated once when it is built.

Every fault is its own field so a test or the CLI can switch exactly one behaviour on. Secrets
(API keys, webhook secret) are plain strings here because the sandbox is a local test double; they
are still kept out of :meth:`SandboxConfig.public_dict`, which is what the stats route shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RETRY_AFTER_FORMATS", "SandboxConfig"]

RETRY_AFTER_FORMATS = ("seconds", "http-date")
_SECRET_FIELDS = frozenset({"api_key", "read_only_key", "webhook_secret"})


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox behaves: data size and seed, keys, faults and webhook delivery."""

    jobs: int = 1000
    seed: int = 42
    api_key: str = "sandbox-key"
    read_only_key: str | None = None
    updated_at: bool = False
    latency_ms: float = 0
    rate_limit: float | None = None
    retry_after_format: str = "seconds"
    error_rate: float = 0
    truncate_rate: float = 0
    drop_rate: float = 0
    drift_inserts: int = 0
    drift_deletes: int = 0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_duplicate_rate: float = 0
    webhook_shuffle: bool = False
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 0.05
    webhook_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.jobs < 0:
            raise ValueError(f"jobs must be >= 0, got {self.jobs}")
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be > 0 requests per second, got {self.rate_limit}")
        if self.retry_after_format not in RETRY_AFTER_FORMATS:
            raise ValueError(
                f"retry_after_format must be one of {', '.join(RETRY_AFTER_FORMATS)}, "
                f"got {self.retry_after_format!r}"
            )
        for name in ("error_rate", "truncate_rate", "drop_rate", "webhook_duplicate_rate"):
            _check_fraction(name, getattr(self, name))
        if self.drift_inserts < 0 or self.drift_deletes < 0:
            raise ValueError("drift_inserts and drift_deletes must be >= 0")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be >= 1")
        if self.webhook_backoff_s < 0 or self.webhook_timeout_s <= 0:
            raise ValueError("webhook_backoff_s must be >= 0 and webhook_timeout_s > 0")
        if self.webhook_url and not self.webhook_secrets:
            raise ValueError("webhook_url needs a webhook_secret to sign events with")

    @property
    def webhook_secrets(self) -> list[str]:
        """The signing secrets; several (comma-separated) while a rotation is in progress."""
        if not self.webhook_secret:
            return []
        return [part.strip() for part in self.webhook_secret.split(",") if part.strip()]

    def public_dict(self) -> dict[str, Any]:
        """The settings without secrets, for the stats route and logs."""
        return {
            key: ("***" if value is not None else None) if key in _SECRET_FIELDS else value
            for key, value in asdict(self).items()
        }
