"""Options every command shares (--config, --store) and how they become a config."""

from __future__ import annotations

import argparse

from cascade_core.config import CascadeConfig, load_config


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="path to cascade.toml (default: $CASCADE_CONFIG, ./cascade.toml, or the "
                        "embedded simulated tiers)")
    parser.add_argument("--store", help="DuckDB file for the run log (default: the config's store_path)")


def config_from_args(args: argparse.Namespace) -> CascadeConfig:
    config = load_config(args.config)
    if getattr(args, "store", None):
        config = config.model_copy(update={"store_path": args.store})
    return config
