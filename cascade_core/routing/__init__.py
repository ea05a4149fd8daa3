"""Routing before the cascade (semantic routes over sentence embeddings) and keeping thresholds certified on
live traffic (shadow labels, re-certification, drift); the learned router is evaluated against the cascade."""

from cascade_core.routing.drift import PSI_ALERT, Drift, drift, psi, weekly_drift
from cascade_core.routing.embeddings import Embedder, EmbeddingError, MemoryCache
from cascade_core.routing.fixed_sequence import fixed_sequence_test
from cascade_core.routing.recertify import Recertification, TierRecert, collect_labels, recertify, recertify_labels
from cascade_core.routing.router import RoutedCascade, RouteMatch, Router
from cascade_core.routing.shadow import ShadowSampler, accepted_step, make_label
from cascade_core.stats.binomial import binom_cdf, error_rate_p_value

__all__ = [
    "PSI_ALERT",
    "Drift",
    "Embedder",
    "EmbeddingError",
    "MemoryCache",
    "Recertification",
    "RouteMatch",
    "RoutedCascade",
    "Router",
    "ShadowSampler",
    "TierRecert",
    "accepted_step",
    "binom_cdf",
    "collect_labels",
    "drift",
    "error_rate_p_value",
    "fixed_sequence_test",
    "make_label",
    "psi",
    "recertify",
    "recertify_labels",
    "weekly_drift",
]
