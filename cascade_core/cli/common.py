"""Options every command shares (--config, --store) and how they become a config."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from cascade_core.cascade.config import CascadeConfig, load_config
from cascade_core.cascade.store_config import StoreConfig

if TYPE_CHECKING:  # imported when a command runs: a command's --help loads no pandas or duckdb
    from cascade_core.store.store import Store


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="path to cascade.toml (default: $CASCADE_CONFIG, ./cascade.toml, or the "
                        "embedded simulated tiers)")
    parser.add_argument("--store", help="DuckDB file for the run log (default: the config's [store], else its "
                        "store_path); overrides a DuckLake [store]")


def config_from_args(args: argparse.Namespace) -> CascadeConfig:
    config = load_config(args.config)
    if getattr(args, "store", None):
        config = config.model_copy(update={"store_path": args.store, "store": StoreConfig()})
    return config


# A dashboard lets its store go after 2 s idle; a command waits this long for it (or another command) to.
CLI_LOCK_WAIT = 30.0


def open_store(config: CascadeConfig) -> Store:
    """The run log for a command: waits for another process to let a DuckDB file go, and lets go itself when
    idle (a DuckLake needs neither: every process writes at once)."""
    from cascade_core.store.location import store_location
    from cascade_core.store.store import Store

    return Store(store_location(config), lock_wait=CLI_LOCK_WAIT, idle_release=2.0)


_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_span(text: str) -> timedelta:
    """'7d', '36h', '2w' -> a timedelta (argparse type)."""
    match = _SPAN.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive span like 7d, 36h or 2w, got {text!r}")
    return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
