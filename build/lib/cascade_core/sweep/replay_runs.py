"""Log the cascade run each swept item would have had at the configured thresholds (source 'sweep').

Cheap: the runs are replayed from the calls the sweep already collected (no model is called) and written in
one bulk transaction. Logged once per (dataset, items, config fingerprint, thresholds): a re-sweep does not
log them again, so the Runs page is not flooded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cascade_core.cascade.client import TierClient
from cascade_core.cascade.config import CascadeConfig
from cascade_core.store.store import Store
from cascade_core.store.sweeps import sweep_run_count
from cascade_core.sweep.call_cache import canonical_json
from cascade_core.sweep.collect import CollectResult
from cascade_core.sweep.collect_outcomes import replay_traces


def sweep_key(config: CascadeConfig, result: CollectResult) -> str:
    blob = canonical_json({"dataset": result.dataset, "items": [i.id for i in result.items],
                           "fingerprint": config.fingerprint(), "thresholds": config.thresholds})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def log_sweep_runs(store: Store, config: CascadeConfig, clients: Sequence[TierClient], result: CollectResult) -> int:
    """Write one run per collected item (unless already logged for this key); returns how many were written."""
    key = sweep_key(config, result)
    if sweep_run_count(store, key):
        return 0
    traces = replay_traces(config, clients, result.endpoints, result.calls, result.items, result.dataset, key)
    return store.log_traces(traces)
