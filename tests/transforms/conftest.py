"""Shared fixtures: a small FX table with rates chosen so the expected figures are exact."""

from __future__ import annotations

import polars as pl
import pytest


@pytest.fixture(scope="session")
def fx_rates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "currency": ["USD", "EUR", "GBP", "INR", "JPY", "CAD"],
            "usd_per_unit": [1.0, 1.5, 2.0, 0.0125, 0.0078125, 0.75],
        }
    )
