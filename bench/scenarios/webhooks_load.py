"""Scenario 4: webhook receiver throughput and acknowledgement-to-queryable latency.

Uses the webhooks package's own load tool (``python -m webhooks.bench``), which starts the real
receiver in its own process on a free loopback port with a throw-away warehouse and drives it
with signed events; this module repeats it and collects the figures.
"""

from __future__ import annotations

import json
import sys

from bench.context import REPO_ROOT, Context
from bench.measure import MeasureError, measure
from bench.results import Result, Target, failure_reason

__all__ = ["SCENARIO", "TITLE", "run"]

SCENARIO = "webhooks"
TITLE = "4. Webhooks"
RECEIVER = "webhook receiver"


def _run_tool(ctx: Context, args: list[str]) -> dict[str, float]:
    command = [sys.executable, "-m", "webhooks.bench", *args]
    m = measure(command, env=ctx.env(), cwd=REPO_ROOT, timeout_s=600)
    body: dict[str, float] = json.loads(m.stdout.strip().splitlines()[-1])
    return body


def run(ctx: Context, prefect_api_url: str | None) -> tuple[list[Result], list[Target]]:
    del prefect_api_url
    s = ctx.settings
    burst_case = f"burst of {s.webhook_burst_events:,} events, 8 clients"
    paced_case = f"{s.webhook_rate:g} events/s for {s.webhook_paced_seconds:g} s"
    burst = Result(SCENARIO, burst_case, RECEIVER)
    paced = Result(SCENARIO, paced_case, RECEIVER + " (ack → queryable)")
    if not (REPO_ROOT / "webhooks" / "bench.py").exists():
        burst.skipped = paced.skipped = "webhooks/bench.py (the load tool) is missing"
        return [burst, paced], _targets(burst, paced)
    costs: list[dict[str, float]] = []
    for repeat in range(s.repeat):
        ctx.log(f"{SCENARIO}: throughput run {repeat + 1}")
        try:
            body = _run_tool(
                ctx, ["throughput", "--events", str(s.webhook_burst_events), "--clients", "8"]
            )
            burst.samples.append({"events_per_s": float(body["events_per_s"])})
            costs.append(body)
        except (MeasureError, ValueError, KeyError, IndexError) as exc:
            burst.skipped = failure_reason(exc)
            break
    for repeat in range(s.repeat):
        ctx.log(f"{SCENARIO}: latency run {repeat + 1}")
        try:
            body = _run_tool(
                ctx,
                [
                    "latency",
                    "--rate",
                    str(s.webhook_rate),
                    "--seconds",
                    str(s.webhook_paced_seconds),
                ],
            )
        except (MeasureError, ValueError, IndexError) as exc:
            paced.skipped = failure_reason(exc)
            break
        sample = {
            f"{q}_s": float(body[f"ack_to_queryable_{q}_ms"]) / 1000
            for q in ("p50", "p95", "p99")
            if body.get(f"ack_to_queryable_{q}_ms") is not None
        }
        sample["events"] = float(body.get("visible", 0))
        paced.samples.append(sample)
    burst.note = _cost_note(costs)
    return [burst, paced], _targets(burst, paced)


def _cost_note(bodies: list[dict[str, float]]) -> str:
    """Median CPU per acknowledged event of the load generator, receiver and applier.

    The load generator shares the 2 cores with the receiver, so its cost is shown beside the
    rate it produced: a rate bought with a client that starved the receiver would mean little.
    """
    parts = []
    for key, label in (
        ("client_cpu_ms_per_event", "client"),
        ("receiver_cpu_ms_per_event", "receiver"),
        ("applier_cpu_ms_per_event", "applier"),
    ):
        values = sorted(float(b[key]) for b in bodies if key in b)
        if values:
            parts.append(f"{label} {values[len(values) // 2]:.2f}")
    return f"CPU ms per event: {', '.join(parts)}" if parts else ""


def _targets(burst: Result, paced: Result) -> list[Target]:
    targets = []
    rate = burst.median("events_per_s")
    targets.append(
        Target(
            "webhooks acknowledged",
            "≥1,000 events/s",
            "not measured" if rate is None else f"{rate:,.0f} events/s",
            None if rate is None else rate >= 1000,
        )
    )
    p95 = paced.median("p95_s")
    p99 = paced.median("p99_s")
    observed = "not measured" if p95 is None else f"p95 {p95:.2f} s"
    if p95 is not None and p99 is not None:
        observed += f" (p99 {p99:.2f} s)"
    targets.append(
        Target(
            "webhook ack → queryable at 200 events/s",
            "p95 ≤2 s",
            observed,
            None if p95 is None else p95 <= 2.0,
        )
    )
    return targets
