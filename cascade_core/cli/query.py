"""`query`: run one question through the cascade, print the trace, log the run."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING

from cascade_core.cli.common import add_config_options, config_from_args, open_store

if TYPE_CHECKING:  # the library is imported when the command runs: `query --help` stays light
    from cascade_core.cascade.config import CascadeConfig
    from cascade_core.store.store import Store


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("query", help="run one question through the cascade and print its trace")
    parser.add_argument("question", help="the question to ask")
    add_config_options(parser)
    parser.add_argument("--threshold", type=float, help="one threshold in [0, 1] for every non-final tier")
    parser.add_argument("--signal", choices=["self_rated", "logprob", "verify"], help="confidence signal")
    parser.add_argument("--json", action="store_true", help="print the trace as JSON")
    parser.set_defaults(handler=run)


def _cache(config: CascadeConfig, store: Store) -> object | None:
    """Route embeddings are kept in the store, so each example and question is embedded once."""
    if not config.routes:
        return None
    from cascade_core.store.routing_tables import StoreEmbeddingCache

    return StoreEmbeddingCache(store, config.privacy.redact)


def run(args: argparse.Namespace) -> int:
    import duckdb

    from cascade_core.cascade.runtime import open_runtime
    from cascade_core.cascade.walk import RunFailed
    from cascade_core.datasets.loader import load_bundled
    from cascade_core.store.connection import StoreError
    from cascade_core.telemetry.exporter import Tracing
    from cascade_core.views.trace import format_trace_table, trace_notes

    config = config_from_args(args).with_overrides(threshold=args.threshold, signal=args.signal)
    item = load_bundled().by_question().get(args.question.strip())  # graded when it is a bundled question
    not_logged = None
    tracing = Tracing.from_env()  # an OpenTelemetry trace of the run, when OTEL_EXPORTER_OTLP_* is set (before
    # any tier is paid: a tracing set-up that cannot work is said before the run, never after it)
    with open_store(config) as store, open_runtime(config, embedding_cache=_cache(config, store)) as runtime:
        try:
            trace = runtime.answerer.run(args.question, item=item, source="query",
                                        dataset=load_bundled().name if item is not None else None)
        except RunFailed as failed:  # a bug of ours after tiers were paid: log and show what they returned
            logging.getLogger(__name__).info("the cascade failed", exc_info=failed)  # -v shows where
            trace = failed.trace
        if tracing is not None:
            tracing.record(trace)
            tracing.close()
        try:
            store.log_trace(trace)
        except (StoreError, duckdb.Error) as err:  # the calls are paid for: still show what they returned
            not_logged = str(err)
    if args.json:
        sys.stdout.write(json.dumps(trace.to_dict(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(format_trace_table(trace) + "\n")
    for note in trace_notes(trace):
        sys.stderr.write(f"note: {note}\n")
    if not_logged:
        sys.stderr.write(f"error: the run was not logged: {not_logged}\n")
    return 1 if trace.error or not_logged else 0
