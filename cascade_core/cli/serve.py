"""`serve`: the OpenAI-compatible cascade endpoint. Commits every request's run to the store: with DuckLake
all server processes write at once; with the embedded DuckDB file they take turns at the file."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from typing import Any

from cascade_core.cascade.config import CascadeConfig
from cascade_core.cli.common import add_config_options, config_from_args


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="serve the cascade as an OpenAI-compatible chat endpoint")
    add_config_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model-name", default="cascade", help="the model id clients use and /v1/models lists")
    parser.add_argument("--threshold", type=float, help="one threshold in [0, 1] for every non-final tier")
    parser.add_argument("--signal", choices=["self_rated", "logprob", "verify"], help="confidence signal")
    parser.add_argument("--simulator-url", help="send 'embedded' tiers to an already running simulator at this "
                        "base URL (e.g. http://127.0.0.1:9000/v1) instead of starting one in this process")
    parser.add_argument("--token-env", default="CASCADE_SERVE_TOKEN",
                        help="environment variable holding the bearer token; auth is on when it is set")
    parser.add_argument("--flush-interval", type=float, default=0.5, help="seconds between log commits")
    parser.add_argument("--batch-size", type=int, default=500, help="runs per log commit at most")
    parser.add_argument("--max-backlog", type=int, default=10_000,
                        help="runs the log may hold unwritten (queued or being answered); past it new requests "
                        "get 503 log_unavailable instead of answers that could not be logged (default 10000)")
    parser.add_argument("--log-before-answer", action="store_true",
                        help="answer only once the run is committed to the store (group commit: a request waits "
                        "for the batch holding its run, a few ms); a kill -9 then loses no answered run")
    parser.add_argument("--graceful-timeout", type=float, default=30.0,
                        help="seconds to let in-flight requests finish on SIGTERM (default 30). Requests still "
                        "running then are cancelled, logged as cancelled with every call they paid for, and "
                        "answered 503. The startup line says whether it covers one request's worst case (with "
                        "default retries and 30 s tier timeouts it does not: that is minutes)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes sharing the port; each commits its own runs (use with "
                        "--simulator-url, or every worker starts its own embedded simulator)")
    parser.add_argument("--allow-unauthenticated", action="store_true",
                        help="allow binding beyond loopback without a token (only behind a proxy that authenticates)")
    parser.add_argument("--shadow-rate", type=float, help="share in [0, 1] of answers accepted by a non-final tier "
                        "also asked of the last tier in the background (default: the config's shadow.rate)")
    parser.add_argument("--access-log", action="store_true", help="log every request line to stderr")
    parser.set_defaults(handler=run)


def _with_simulator_url(config: CascadeConfig, url: str | None) -> CascadeConfig:
    if not url:
        return config
    tiers = [t.model_copy(update={"base_url": url.rstrip("/")}) if t.is_embedded else t for t in config.tiers]
    return config.model_copy(update={"tiers": tiers})


def _shared_metrics_dir() -> tempfile.TemporaryDirectory[str] | None:
    """Workers add up their metrics through files in one directory (prometheus_client's multiprocess mode): a
    fresh one for this server, unless PROMETHEUS_MULTIPROC_DIR names one already (then it is the caller's)."""
    from cascade_core.serve.counters import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        return None
    made = tempfile.TemporaryDirectory(prefix="cascade-metrics-")
    os.environ[MULTIPROC_ENV] = made.name
    return made


def run(args: argparse.Namespace) -> int:
    import uvicorn  # imported here: only this command needs the server stack

    from cascade_core.serve.app import ServeSettings, create_app
    from cascade_core.serve.auth import binding_refusal, token_from_env
    from cascade_core.serve.factory import SPEC_ENV, dump_spec
    from cascade_core.serve.grace import grace_note
    from cascade_core.store.location import describe_location, store_location
    from cascade_core.store.retention import RetentionScheduler

    refusal = binding_refusal(args.host, token_from_env(args.token_env), args.token_env, args.allow_unauthenticated)
    if refusal is not None:
        sys.stderr.write(f"error: {refusal}\n")
        return 2
    config = config_from_args(args).with_overrides(threshold=args.threshold, signal=args.signal)
    config = _with_simulator_url(config, args.simulator_url)
    if args.shadow_rate is not None:
        from cascade_core.cascade.config import validate_config

        data = config.model_dump()
        data["shadow"]["rate"] = args.shadow_rate
        config = validate_config(data, source="--shadow-rate")
    target = describe_location(store_location(config))  # fails here, before serving, if a variable is missing
    if args.max_backlog < 1:
        sys.stderr.write("error: --max-backlog: expected at least 1\n")
        return 2
    settings = ServeSettings(model_name=args.model_name, token=token_from_env(args.token_env),
                             flush_interval=args.flush_interval, batch_size=args.batch_size,
                             max_backlog=args.max_backlog, log_before_answer=args.log_before_answer,
                             graceful_timeout=args.graceful_timeout)
    has = importlib.util.find_spec
    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "loop": "uvloop" if has("uvloop") else "asyncio",
        "http": "httptools" if has("httptools") else "h11", "access_log": args.access_log,
        "log_level": "info" if args.verbose else "warning", "timeout_graceful_shutdown": args.graceful_timeout,
        "timeout_keep_alive": 30, "backlog": 2048,
    }
    app = None
    if args.workers > 1:  # uvicorn's supervisor spawns workers; each builds the app from the spec
        os.environ[SPEC_ENV] = dump_spec(config, settings, args.token_env)
        metrics_dir = _shared_metrics_dir()
        server = uvicorn.Server(uvicorn.Config("cascade_core.serve.factory:app_from_env", factory=True,
                                               workers=args.workers, **options))
    else:
        app = create_app(config, settings)
        server = uvicorn.Server(uvicorn.Config(app, **options))
    auth = f"bearer token from ${args.token_env}" if settings.token else "off"
    mode = "each run committed before its answer" if args.log_before_answer else "runs committed every " \
        f"{args.flush_interval:g} s"
    sys.stderr.write(f"cascade endpoint on http://{args.host}:{args.port}/v1 (model {args.model_name!r}, auth "
                     f"{auth}); logging runs to {target} ({mode}, at most {args.max_backlog} unwritten)\n"
                     f"{grace_note(config, args.graceful_timeout)}\n")
    # Purges runs past [privacy] retention_days now and every purge_interval_hours (a no-op when not set).
    retention = RetentionScheduler.for_path(config).start()
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess

        try:
            Multiprocess(server.config, sockets=[server.config.bind_socket()]).run()
        finally:
            retention.stop()
            if metrics_dir is not None:
                metrics_dir.cleanup()
        return 0
    try:
        server.run()
    finally:
        retention.stop()
        state = getattr(app.state, "serve", None) if app is not None else None
        if state is not None:  # lifespan shutdown already flushed; this covers a forced exit
            state.writer.close()
    return 0 if server.started else 2
