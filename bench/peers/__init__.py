"""Peers our pipeline is measured beside: the plain fetch floor and dlt (in its own venv)."""
