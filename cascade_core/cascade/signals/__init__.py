"""The confidence signals: one module per signal, listed in registry.py."""

from cascade_core.cascade.signals.base import PLAIN_OPTIONS, RequestOptions, Signal, VerifyRule
from cascade_core.cascade.signals.logprob import parse_logprob
from cascade_core.cascade.signals.plain import PLAIN_SYSTEM, plain_answer
from cascade_core.cascade.signals.registry import SIGNAL_NAMES, SIGNALS, SignalName, get_signal
from cascade_core.cascade.signals.self_rated import parse_self_rated
from cascade_core.cascade.signals.text import json_objects
from cascade_core.cascade.signals.verify import parse_verify

__all__ = [
    "PLAIN_OPTIONS",
    "PLAIN_SYSTEM",
    "SIGNALS",
    "SIGNAL_NAMES",
    "RequestOptions",
    "Signal",
    "SignalName",
    "VerifyRule",
    "get_signal",
    "json_objects",
    "parse_logprob",
    "parse_self_rated",
    "parse_verify",
    "plain_answer",
]
