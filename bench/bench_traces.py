"""What span recording costs a request: `Tracing.record` for a finished run, with the real SDK pipeline
(BatchSpanProcessor + OTLP/HTTP exporter) sending to a local HTTP sink that answers 200.

    .venv/bin/python bench/bench_traces.py                 # 6,000 runs of 2 tier calls (one escalation), 300/s
    .venv/bin/python bench/bench_traces.py --runs 5000 --tiers 3

Prints the time the request's thread spends in `record` (what a request pays: building 1 + tiers spans and
queueing them), and the process CPU per run including the exporter thread's serialising and sending, against
the same loop without tracing. Compare with bench_serve.py's added latency per request.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.telemetry import Tracing  # noqa: E402
from tests.factories import make_trace  # noqa: E402


class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        Sink.received += length
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=6_000)
    parser.add_argument("--rate", type=float, default=300.0, help="runs per second (bench_serve.py's order)")
    parser.add_argument("--tiers", type=int, default=2, choices=[1, 2, 3], help="tier calls per run")
    args = parser.parse_args()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_port}"}
    traces = [make_trace(args.tiers - 1) for _ in range(args.runs)]

    cpu0 = time.process_time()
    for trace in traces:  # the baseline: the same loop, nothing recorded
        trace.run_id.encode()
    base_cpu = time.process_time() - cpu0

    tracing = Tracing.from_env(env)
    assert tracing is not None
    for trace in traces[:500]:  # warm up
        tracing.record(trace)
    tracing.provider.force_flush()
    per_call = np.empty(args.runs)
    cpu0 = time.process_time()
    start = time.perf_counter()
    for i, trace in enumerate(traces):
        wait = start + i / args.rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        t0 = time.perf_counter()
        tracing.record(trace)
        per_call[i] = time.perf_counter() - t0
    tracing.close()  # flushes: every span serialised and sent
    cpu = time.process_time() - cpu0 - base_cpu
    sink.shutdown()
    spans = args.runs * (1 + args.tiers)
    p50, p99 = np.percentile(per_call, [50, 99]) * 1e6
    print(f"runs {args.runs:,} at {args.rate:.0f}/s, {1 + args.tiers} spans each ({spans:,} spans); "
          f"sent {Sink.received / 1e6:.1f} MB OTLP")
    print(f"record() on the request's thread: p50 {p50:.0f} us, p99 {p99:.0f} us, mean {per_call.mean() * 1e6:.0f} us")
    print(f"process CPU per run incl. export thread: {cpu / args.runs * 1e6:.0f} us "
          f"({cpu / args.runs * 1e6 / (1 + args.tiers):.0f} us per span)")
    print(f"failures: {tracing.failures}")


if __name__ == "__main__":
    main()
