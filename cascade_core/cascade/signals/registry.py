"""The registry: the only list of confidence signals (one module each under this package).

Adding a signal: write a module that builds a `Signal` (prompt, request options, parser, optional verify rule)
and name it in `_ALL` below and in `SignalName` (cascade_core/records.py). The walk, the sweep's collection and
the simulator read it here.
"""

from __future__ import annotations

from typing import get_args

from cascade_core.cascade.signals.base import Signal
from cascade_core.cascade.signals.logprob import LOGPROB
from cascade_core.cascade.signals.self_rated import SELF_RATED
from cascade_core.cascade.signals.verify import VERIFY
from cascade_core.records import SignalName

__all__ = ["SIGNALS", "SIGNAL_NAMES", "SignalName", "get_signal"]

_ALL: tuple[Signal, ...] = (SELF_RATED, LOGPROB, VERIFY)
SIGNALS: dict[str, Signal] = {s.name: s for s in _ALL}
SIGNAL_NAMES: tuple[str, ...] = get_args(SignalName)
if set(SIGNAL_NAMES) != set(SIGNALS):
    raise RuntimeError("SignalName and the registry must list the same signals")


def get_signal(name: str) -> Signal:
    """The signal called `name`; a clear error naming the known ones otherwise."""
    try:
        return SIGNALS[name]
    except KeyError:
        raise ValueError(f"unknown confidence signal {name!r}; expected one of {', '.join(SIGNALS)}") from None
