"""Routes and shadow labels under `serve`, over real HTTP: the openai SDK -> `serve` (with the local embedding
model loaded) -> simulator; shadow labels land beside the run log and are read back through the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pandas as pd
import pytest

from cascade_core.datasets.loader import load_bundled
from cascade_core.store import Store
from cascade_core.store.routing_tables import shadow_labels
from tests.polling import wait_for
from tests.test_serve_support import FAST_CONFIG, ServerProc, wait_for_run

ROUTES = FAST_CONFIG.replace("[retry]", """thresholds = [0.5, 0.5]

[shadow]
rate = 1.0
seed = 1

[[routes]]
name = "chitchat"
tier = "small"
escalate = false
threshold = 0.9
examples = ["hello", "hi there", "good morning", "hey, how are you?", "thanks a lot!"]

[retry]""")


@pytest.fixture(scope="module")
def server(simulator, tmp_path_factory) -> Iterator[ServerProc]:
    proc = ServerProc(tmp_path_factory.mktemp("serve_routes") / "runs.duckdb", simulator.base_url,
                      config_text=ROUTES, ready_timeout=60)
    yield proc
    proc.stop()


def _labels(store_path: Path, run_ids: set[str], timeout: float = 30.0) -> pd.DataFrame:
    """The shadow labels of `run_ids` once all are written (the endpoint writes them in the background)."""
    def read() -> list[pd.DataFrame]:  # a list: wait_for needs a truth value, a DataFrame has none
        with Store(store_path, lock_wait=10.0) as store:  # the server lets the file go between writes
            labels = shadow_labels(store)
        found = labels[labels["run_id"].isin(run_ids)]
        return [found] if len(found) == len(run_ids) else []

    return wait_for(read, timeout, 0.1, "every accepted answer's shadow label")[0]


def test_route_taken_and_shown_by_serve(server: ServerProc) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="cascade", messages=[{"role": "user", "content": "hello there"}])
    ext = raw.parse().model_extra["cascade"]
    assert raw.headers["x-cascade-route"] == "chitchat"
    assert ext["route"] == "chitchat" and ext["route_similarity"] > 0.9
    assert ext["tiers_called"] == ["small"]  # the route's tier answers alone
    trace = wait_for_run(server.store_path, ext["run_id"])
    assert trace.route == "chitchat" and trace.meta["api"]["model"] == "cascade"
    alone = _labels(server.store_path, {ext["run_id"]})  # a tier's answer alone is shadowed too (rate 1.0)
    assert alone["tier_name"].tolist() == ["small"] and alone["shadow_tier"].tolist() == ["large"]
    assert alone["threshold"].isna().all() and alone["route"].tolist() == ["chitchat"]
    other = client.chat.completions.create(model="cascade",
                                           messages=[{"role": "user", "content": "What is 12 times 12?"}])
    ext = other.model_extra["cascade"]
    assert ext["route"] is None and ext["route_similarity"] < 0.9
    assert wait_for_run(server.store_path, ext["run_id"]).meta["route"]["closest"] == "chitchat"


def test_shadow_labels_for_accepted_answers(server: ServerProc) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
    items = [i for i in load_bundled().items if i.difficulty == "easy"][:8]
    accepted: dict[str, str] = {}
    for item in items:
        ext = client.chat.completions.create(
            model="cascade", messages=[{"role": "user", "content": item.question}]).model_extra["cascade"]
        if ext["tier_index"] is not None and ext["tier_index"] < 2:
            accepted[ext["run_id"]] = item.gold
    assert accepted, "no answer was accepted below the last tier"
    labels = _labels(server.store_path, set(accepted))
    assert set(labels["run_id"]) == set(accepted)  # rate 1.0: every accepted answer is shadowed
    assert (labels["shadow_tier"] == "large").all() and (labels["cost"] > 0).all()
    assert labels["agree"].notna().all()
    assert labels["gold"].tolist() == [accepted[r] for r in labels["run_id"]]  # graded against the bundled gold
    assert labels["correct"].notna().all() and labels["shadow_correct"].notna().all()
    with Store(server.store_path, lock_wait=10.0) as store:  # the shadow's cost is not in the run's
        for run_id in accepted:
            trace = store.get_trace(run_id)
            assert trace is not None and all(s.tier_name != "large" for s in trace.steps)
