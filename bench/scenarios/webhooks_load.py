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
    for repeat in range(s.repeat):
        ctx.log(f"{SCENARIO}: throughput run {repeat + 1}")
        try:
            body = _run_tool(
                ctx, ["throughput", "--events", str(s.webhook_burst_events), "--clients", "8"]
            )
            burst.samples.append({"events_per_s": float(body["events_per_s"])})
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
            if f"ack_to_queryable_{q}_ms" in body
        }
        sample["events"] = float(body.get("visible", 0))
        paced.samples.append(sample)
    if paced.samples and "p99_s" not in paced.samples[0]:
        paced.note = "webhooks.bench reports no p99 yet"
    return [burst, paced], _targets(burst, paced)


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
    targets.append(
        Target(
            "webhook ack → queryable at 200 events/s",
            "p95 ≤2 s",
            "not measured" if p95 is None else f"p95 {p95:.2f} s",
            None if p95 is None else p95 <= 2.0,
        )
    )
    return targets
