"""`python -m cascade_core <command>`: each command lives in its own module with add_parser() and run()."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from cascade_core.cascade.config import ConfigError
from cascade_core.datasets.loader import DatasetError
from cascade_core.store.connection import StoreError

# command name -> module providing `add_parser(subparsers)` and `run(args) -> int`
COMMAND_MODULES: dict[str, str] = {
    "query": "cascade_core.cli.query",
    "sweep": "cascade_core.cli.sweep",
    "audit": "cascade_core.cli.audit",
    "serve": "cascade_core.cli.serve",
    "store": "cascade_core.cli.store",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cascade_core",
        description="Cascade Lab: run, sweep and audit LLM model cascades.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries and other details to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES.values():
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ConfigError, DatasetError, StoreError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
