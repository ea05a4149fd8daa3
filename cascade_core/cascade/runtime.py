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
    router: Any = None  # RoutedCascade when the config has routes (cascade_core/routing)
    _closed: bool = field(default=False, repr=False)

    @property
    def simulated(self) -> bool:
        return self.simulator is not None

    @property
    def answerer(self) -> Any:
        """What answers a question: the router (when routes are configured) in front of the cascade."""
        return self.router if self.router is not None else self.cascade

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
        if self.router is not None:
            for client in self.router.route_clients.values():
                if client not in self.clients:
                    client.close()
            self.router.router.embedder.close()
        if self.simulator is not None and self.owns_simulator:
            self.simulator.stop()


def build_runtime(config: CascadeConfig, *, simulator: Any = None, embedding_cache: Any = None) -> Runtime:
    """Build clients for every tier; start the embedded simulator unless one is passed in (tests share one).
    With routes configured, a router goes in front of the cascade (`embedding_cache`: where its vectors are
    kept, e.g. the store; default in memory)."""
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
    cascade = Cascade(config, clients)
    router = None
    if config.routes:
        from cascade_core.routing.build import build_routed

        router = build_routed(config, cascade, simulator_url=simulator.base_url if simulator is not None else None,
                              cache=embedding_cache)
    return Runtime(config=config, clients=clients, cascade=cascade,
                   simulator=simulator if config.uses_embedded else None, owns_simulator=owns, router=router)


@contextmanager
def open_runtime(config: CascadeConfig, *, simulator: Any = None, embedding_cache: Any = None) -> Iterator[Runtime]:
    runtime = build_runtime(config, simulator=simulator, embedding_cache=embedding_cache)
    try:
        yield runtime
    finally:
        runtime.close()
