"""Turns a config into live parts: tier clients (and the embedded simulator when a tier needs it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.walk import Cascade


@dataclass
class Runtime:
    """A ready cascade. `close()` stops the embedded simulator if this runtime started one."""

    config: CascadeConfig
    clients: list[TierClient]
    cascade: Cascade
    simulator: Any = None  # EmbeddedSimulator when a tier is 'embedded'
    owns_simulator: bool = False
    _closed: bool = field(default=False, repr=False)

    @property
    def simulated(self) -> bool:
        return self.simulator is not None

    def endpoint_of(self, tier_index: int) -> str:
        return self.clients[tier_index].base_url

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for client in self.clients:
            client.close()
        if self.simulator is not None and self.owns_simulator:
            self.simulator.stop()


def build_runtime(config: CascadeConfig, *, simulator: Any = None) -> Runtime:
    """Build clients for every tier; start the embedded simulator unless one is passed in (tests share one)."""
    owns = False
    if config.uses_embedded and simulator is None:
        from cascade_core.simulator.embedded import EmbeddedSimulator

        simulator = EmbeddedSimulator(config.simulator)
        simulator.start()
        owns = True
    clients = [
        TierClient(tier, simulator.base_url if tier.is_embedded else tier.base_url, config.retry)
        for tier in config.tiers
    ]
    return Runtime(config=config, clients=clients, cascade=Cascade(config, clients),
                   simulator=simulator if config.uses_embedded else None, owns_simulator=owns)


@contextmanager
def open_runtime(config: CascadeConfig, *, simulator: Any = None) -> Iterator[Runtime]:
    runtime = build_runtime(config, simulator=simulator)
    try:
        yield runtime
    finally:
        runtime.close()
