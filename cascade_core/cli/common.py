"""Options every command shares (--config, --store) and how they become a config."""

from __future__ import annotations

import argparse

from cascade_core.cascade.config import CascadeConfig, load_config
from cascade_core.cascade.store_config import StoreConfig
from cascade_core.store.location import store_location
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
    return Store(store_location(config), lock_wait=CLI_LOCK_WAIT, idle_release=2.0)
