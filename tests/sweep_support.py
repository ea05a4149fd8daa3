"""Helpers for sweep tests: configs pointed at a test simulator, a synthetic arithmetic dataset."""

from __future__ import annotations

import random
from pathlib import Path

from cascade_core.cascade import CascadeConfig, default_config
from cascade_core.cascade.config import RetryConfig
from cascade_core.datasets import Dataset, Item

FAST_RETRY = RetryConfig(max_retries=2, backoff_base=0.001, backoff_max=0.01, retry_after_max=0.5)


def sim_config(simulator, **changes) -> CascadeConfig:
    """The default three simulated tiers at this simulator's URL, with fast retries."""
    data = default_config().model_dump()
    for tier in data["tiers"]:
        tier["base_url"] = simulator.base_url
    data["retry"] = FAST_RETRY.model_dump()
    data.update(changes)
    return CascadeConfig.model_validate(data)


def config_toml(simulator, path: Path, store: Path) -> Path:
    """The same config as a TOML file for CLI subprocesses."""
    lines = [f'store_path = "{store}"', "[retry]", "max_retries = 2", "backoff_base = 0.001", "backoff_max = 0.01"]
    for tier in default_config().tiers:
        lines += ["[[tiers]]", f'name = "{tier.name}"', f'model = "{tier.model}"',
                  f'base_url = "{simulator.base_url}"', f"input_price = {tier.input_price}",
                  f"output_price = {tier.output_price}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def arithmetic_dataset(n: int, seed: int = 7) -> Dataset:
    """n numeric questions of mixed difficulty (the simulator draws each one's latent difficulty from it)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        level = ("easy", "medium", "hard")[i % 3]
        items.append(Item(id=f"arith-{i:04d}", question=f"Item {i}: what is {a} plus {b}?", gold=str(a + b),
                          answer_type="number", category="math", difficulty=level, line=i + 1))
    return Dataset(name="arithmetic", path="<generated>", items=tuple(items))
