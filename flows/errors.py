"""Failures already phrased for the person at the terminal: the CLI prints them as they are."""

from __future__ import annotations

__all__ = ["MissingApiKeyError", "NoPrefectServerError", "UserFacingError"]


class UserFacingError(Exception):
    """The message says what went wrong and what to do; it never contains a secret."""


class MissingApiKeyError(UserFacingError):
    """No JobSphere API key was configured."""


class NoPrefectServerError(UserFacingError):
    """Scheduling was asked for without a Prefect server to hold the schedule."""
