"""Turn a config's routes into a RoutedCascade over an existing cascade (used by build_runtime)."""

from __future__ import annotations

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.cascade.tier_config import EMBEDDED
from cascade_core.cascade.walk import Cascade
from cascade_core.routing.embeddings import Embedder, EmbeddingCache
from cascade_core.routing.router import RoutedCascade, Router


def build_routed(config: CascadeConfig, cascade: Cascade, *, simulator_url: str | None,
                 cache: EmbeddingCache | None = None) -> RoutedCascade:
    """The router with its embedder (an 'embedded' embeddings endpoint is the simulator's) and the clients of
    routes that send questions to their own model."""
    embedding = config.embedding
    base_url = embedding.base_url
    if base_url == EMBEDDED:
        if simulator_url is None:
            raise ValueError("embedding.base_url is 'embedded' but no simulator is running")
        base_url = simulator_url
    embedder = Embedder(embedding, base_url=base_url, cache=cache)
    clients: dict[str, TierClient] = {}
    for route in config.routes:
        if route.model is not None:
            url = simulator_url if route.model.is_embedded else route.model.base_url
            clients[route.name] = TierClient(route.model, url or route.model.base_url, config.retry)
    return RoutedCascade(cascade, Router(config.routes, embedder), clients)
