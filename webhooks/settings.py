"""Receiver settings: validated once at the edge (CLI/env), passed inward as one plain object."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connectors.webhook_signature import DEFAULT_TOLERANCE_SECONDS

__all__ = ["MAX_BODY_BYTES", "SECRET_ENV_VAR", "ReceiverSettings", "parse_secrets"]

#: SPEC section 2: bodies over 1 MiB are answered 413.
MAX_BODY_BYTES = 1024 * 1024
#: Where the CLI reads the webhook secrets from (comma-separated during rotation).
SECRET_ENV_VAR = "JOBSPHERE_WEBHOOK_SECRET"


def parse_secrets(value: str | None) -> list[SecretStr]:
    """Split ``JOBSPHERE_WEBHOOK_SECRET`` (``new,old`` during rotation) into secrets."""
    if not value:
        return []
    return [SecretStr(part.strip()) for part in value.split(",") if part.strip()]


class ReceiverSettings(BaseModel):
    """What the receiver app needs; secrets stay :class:`SecretStr` so reprs never show them."""

    model_config = ConfigDict(frozen=True)

    secrets: tuple[SecretStr, ...] = Field(min_length=1)
    inbox_path: Path
    tolerance: float = Field(default=DEFAULT_TOLERANCE_SECONDS, ge=0)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, gt=0)

    @field_validator("secrets")
    @classmethod
    def _no_empty_secret(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        if any(not s.get_secret_value() for s in value):
            raise ValueError("webhook secrets must not be empty")
        return value
