"""The benchmark harness: ``python -m bench.run`` (see docs/benchmarks.md for the latest figures)."""
