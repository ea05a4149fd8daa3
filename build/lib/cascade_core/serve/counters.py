"""Prometheus metrics in the text exposition format, hand-written: counters, gauges and histograms.

Updated from the event loop (one thread); the log writer's figures are read from it at render time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable

from cascade_core.records import Trace

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # last slot: +Inf only
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1

    def render(self, name: str) -> list[str]:
        lines: list[str] = []
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            cumulative += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.n}')
        lines.append(f"{name}_sum {self.total:.6f}")
        lines.append(f"{name}_count {self.n}")
        return lines


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Everything /metrics shows. `observe_run` is called once per cascade run, `observe_request` per request."""

    def __init__(self, tier_names: list[str]) -> None:
        self.requests: dict[tuple[str, str], int] = defaultdict(int)  # (path, status) -> count
        self.tier_answers: dict[str, int] = dict.fromkeys(tier_names, 0)
        self.tier_calls: dict[str, int] = dict.fromkeys(tier_names, 0)
        self.errors: dict[str, int] = defaultdict(int)  # kind -> count
        self.spend_usd = 0.0
        self.always_large_usd = 0.0
        self.escalations = 0
        self.runs = 0
        self.streams = 0
        self.latency = Histogram()
        self.added_latency = Histogram()
        self.in_flight = 0
        self.gauges: dict[str, Callable[[], float]] = {}  # name -> reader, e.g. the log queue depth

    def observe_request(self, path: str, status: int) -> None:
        self.requests[(path, str(status))] += 1

    def observe_error(self, kind: str) -> None:
        self.errors[kind] += 1

    def observe_run(self, trace: Trace, seconds: float, stream: bool) -> None:
        self.runs += 1
        self.streams += stream
        self.spend_usd += trace.total_cost
        self.always_large_usd += trace.always_large_cost
        self.escalations += trace.escalations
        for step in trace.steps:
            self.tier_calls[step.tier_name] = self.tier_calls.get(step.tier_name, 0) + 1
            if step.error:
                self.errors[f"tier_{step.call.error_kind or 'other'}"] += 1
        if trace.final_tier is not None:
            self.tier_answers[trace.final_tier] = self.tier_answers.get(trace.final_tier, 0) + 1
        else:
            self.errors["cascade_failed"] += 1
        self.latency.observe(seconds)
        self.added_latency.observe(max(0.0, seconds - trace.latency_ms / 1000))

    def render(self) -> str:
        out: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")

        family("cascade_http_requests_total", "counter", "HTTP requests by path and status code")
        for (path, status), count in sorted(self.requests.items()):
            out.append(f'cascade_http_requests_total{{path="{_label(path)}",status="{status}"}} {count}')
        family("cascade_runs_total", "counter", "cascade runs (one per chat completion request that ran)")
        out.append(f"cascade_runs_total {self.runs}")
        family("cascade_stream_runs_total", "counter", "cascade runs answered as a stream")
        out.append(f"cascade_stream_runs_total {self.streams}")
        family("cascade_tier_answers_total", "counter", "runs answered by each tier (the tier mix)")
        for tier, count in self.tier_answers.items():
            out.append(f'cascade_tier_answers_total{{tier="{_label(tier)}"}} {count}')
        family("cascade_tier_calls_total", "counter", "steps run on each tier, escalated ones included")
        for tier, count in self.tier_calls.items():
            out.append(f'cascade_tier_calls_total{{tier="{_label(tier)}"}} {count}')
        family("cascade_spend_usd_total", "counter", "USD charged for every invoked tier call")
        out.append(f"cascade_spend_usd_total {self.spend_usd:.9f}")
        family("cascade_always_large_usd_total", "counter", "USD the same runs would have cost on the last tier")
        out.append(f"cascade_always_large_usd_total {self.always_large_usd:.9f}")
        family("cascade_escalations_total", "counter", "escalations (a tier not confident, or failed)")
        out.append(f"cascade_escalations_total {self.escalations}")
        family("cascade_errors_total", "counter", "errors by kind (tier call failures, failed runs, bad requests)")
        for kind, count in sorted(self.errors.items()):
            out.append(f'cascade_errors_total{{kind="{_label(kind)}"}} {count}')
        family("cascade_requests_in_flight", "gauge", "chat completion requests being answered")
        out.append(f"cascade_requests_in_flight {self.in_flight}")
        family("cascade_request_duration_seconds", "histogram", "chat completion time in the server")
        out.extend(self.latency.render("cascade_request_duration_seconds"))
        family("cascade_added_latency_seconds", "histogram",
               "chat completion time in the server minus time spent in tier calls")
        out.extend(self.added_latency.render("cascade_added_latency_seconds"))
        for name, read in sorted(self.gauges.items()):
            family(name, "gauge" if not name.endswith("_total") else "counter", name.replace("_", " "))
            out.append(f"{name} {read()}")
        return "\n".join(out) + "\n"
