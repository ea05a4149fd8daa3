"""`cascade-lab <command>` (or `python -m cascade_core <command>`): each command lives in its own module with
add_parser() and run().

Only the chosen command's module is imported: `cascade-lab --help` loads no pandas, duckdb, openai or plotly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# command name -> (module providing `add_parser(subparsers)` and a handler, one-line help for the command list)
COMMANDS: dict[str, tuple[str, str]] = {
    "query": ("cascade_core.cli.query", "run one question through the cascade and print its trace"),
    "sweep": ("cascade_core.cli.sweep", "sweep thresholds over a dataset: cost/quality frontier and recommendation"),
    "audit": ("cascade_core.cli.audit", "have a judge re-grade accepted small-tier answers; report overconfidence"),
    "recertify": ("cascade_core.cli.recertify", "re-certify the thresholds on recent labelled live traffic; drift"),
    "serve": ("cascade_core.cli.serve", "serve the cascade as an OpenAI-compatible chat endpoint"),
    "purge": ("cascade_core.cli.purge", "delete stored prompts by age, run id or text and every row pointing at them"),
    "store": ("cascade_core.cli.store", "move the run log to DuckLake (migrate); lake maintenance"),
}


def chosen_command(argv: list[str]) -> str | None:
    """The first word that is not an option: the command whose module must be imported to parse the rest."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command` (of none when None); the other commands are listed by name and help only."""
    parser = argparse.ArgumentParser(
        prog="cascade-lab",
        description="Cascade Lab: run, sweep and audit LLM model cascades.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries and other details to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    module_to_load = COMMANDS[command][0] if command in COMMANDS else None
    for name, (module_name, help_text) in COMMANDS.items():
        if module_name != module_to_load:
            subparsers.add_parser(name, help=help_text)
        elif name == command:
            importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = chosen_command(argv)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    from cascade_core.cascade.config import ConfigError
    from cascade_core.datasets.loader import DatasetError
    from cascade_core.store.connection import StoreError

    try:
        return int(args.handler(args) or 0)
    except (ConfigError, DatasetError, StoreError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    except Exception as err:
        # A failure of the store engine or of a path the user named: one line that says what failed (passwords
        # redacted), not a traceback; -v shows the traceback. Anything else is a bug and keeps its traceback.
        duckdb = sys.modules.get("duckdb")
        engine_error = duckdb is not None and isinstance(err, duckdb.Error)
        if args.verbose or not (engine_error or isinstance(err, OSError)):
            raise
        from cascade_core.store.lake import known_cause, redact
        what = f"the store failed: {err}" if engine_error else str(err)
        cause = known_cause(err)
        if cause:
            what += f"; {cause}"
        sys.stderr.write(f"error: {args.command}: {redact(what)} (run again with -v for the details)\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
