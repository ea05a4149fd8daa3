"""The cascade itself: config, prompts, confidence signals, the tier client, pricing, the walk, grading.

Names are imported on first use (cascade_core/lazy.py): importing one submodule stays light.
"""

from typing import TYPE_CHECKING

from cascade_core.lazy import lazy_exports

if TYPE_CHECKING:
    from cascade_core.cascade.client import TierClient
    from cascade_core.cascade.config import (
        CascadeConfig,
        ConfigError,
        default_config,
        load_config,
        read_config_text,
        validate_config,
    )
    from cascade_core.cascade.config_write import config_in_use, restore_config, set_operating_point
    from cascade_core.cascade.decisions import decide, read_confidence
    from cascade_core.cascade.grading import grade
    from cascade_core.cascade.pricing import call_cost, price_table_cost
    from cascade_core.cascade.query import CallProgress, QueryOverrides, QueryResult, run_query
    from cascade_core.cascade.runtime import Runtime, build_runtime, open_runtime
    from cascade_core.cascade.signals import (
        SIGNAL_NAMES,
        RequestOptions,
        Signal,
        SignalName,
        get_signal,
        parse_logprob,
        parse_self_rated,
        parse_verify,
    )
    from cascade_core.cascade.simulator_config import SimulatorConfig
    from cascade_core.cascade.tier_config import EMBEDDED, RetryConfig, TierConfig
    from cascade_core.cascade.walk import Cascade
    from cascade_core.records import Confidence, Step, TierCall, Trace

__getattr__, __dir__ = lazy_exports(__name__, {
    "cascade_core.cascade.client": ("TierClient",),
    "cascade_core.cascade.config": (
        "CascadeConfig", "ConfigError", "default_config", "load_config", "read_config_text", "validate_config",
    ),
    "cascade_core.cascade.config_write": ("config_in_use", "restore_config", "set_operating_point"),
    "cascade_core.cascade.decisions": ("decide", "read_confidence"),
    "cascade_core.cascade.grading": ("grade",),
    "cascade_core.cascade.pricing": ("call_cost", "price_table_cost"),
    "cascade_core.cascade.query": ("CallProgress", "QueryOverrides", "QueryResult", "run_query"),
    "cascade_core.cascade.runtime": ("Runtime", "build_runtime", "open_runtime"),
    "cascade_core.cascade.signals": (
        "SIGNAL_NAMES", "RequestOptions", "Signal", "SignalName", "get_signal", "parse_logprob", "parse_self_rated",
        "parse_verify",
    ),
    "cascade_core.cascade.simulator_config": ("SimulatorConfig",),
    "cascade_core.cascade.tier_config": ("EMBEDDED", "RetryConfig", "TierConfig"),
    "cascade_core.cascade.walk": ("Cascade",),
    "cascade_core.records": ("Confidence", "Step", "TierCall", "Trace"),
})

__all__ = [
    "EMBEDDED",
    "SIGNAL_NAMES",
    "CallProgress",
    "Cascade",
    "CascadeConfig",
    "Confidence",
    "ConfigError",
    "QueryOverrides",
    "QueryResult",
    "RequestOptions",
    "RetryConfig",
    "Runtime",
    "Signal",
    "SignalName",
    "SimulatorConfig",
    "Step",
    "TierCall",
    "TierClient",
    "TierConfig",
    "Trace",
    "build_runtime",
    "call_cost",
    "config_in_use",
    "decide",
    "default_config",
    "get_signal",
    "grade",
    "load_config",
    "open_runtime",
    "parse_logprob",
    "parse_self_rated",
    "parse_verify",
    "price_table_cost",
    "read_confidence",
    "read_config_text",
    "restore_config",
    "run_query",
    "set_operating_point",
    "validate_config",
]
