"""The sweep's rules, for the Sweep page and the CLI (as audit/service.py is for audits): which tiers a live sweep
runs, what a sweep is called and where it came from, which split it is analysed on, when it is saved, what its
"current setting" is, how two saved sweeps compare and how an operating point is written to the config in use.

Pages keep a `LoadedSweep` in their session state and call these functions; no streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from cascade_core.cascade.config import CascadeConfig, validate_config
from cascade_core.cascade.config_write import set_operating_point
from cascade_core.clock import utc_now
from cascade_core.datasets.loader import Dataset, Item
from cascade_core.security.pii import redact_pii
from cascade_core.store import sweeps as sql
from cascade_core.store.store import Store
from cascade_core.sweep.analysis import AUTO_SPLIT, SweepResult, SweepSettings, analyse
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.importer import import_results
from cascade_core.sweep.job import SweepJob
from cascade_core.sweep.saved import SweepMeta, compare_saved, reopen, save_result, saved_points, saved_questions

SPLIT_FIELD_NAMES = ("split", "fold")  # columns the importer reads as the split field without a mapping


@dataclass
class ImportSpec:
    """How an imported sweep was read, to read it again when the split names another column."""

    paths: list[str]
    args: dict[str, Any]  # format, tiers, default_costs
    mapping: dict[str, str]  # as the user gave it
    used: dict[str, str]  # the mapping the current outcome table was imported with


@dataclass
class LoadedSweep:
    """An outcome table on the page: where it came from, whether it is saved, and its last analysis."""

    outcomes: pd.DataFrame
    meta: SweepMeta
    sweep_id: str | None = None  # None until saved (the first analysis saves it)
    questions: dict[str, str] = field(default_factory=dict)
    imported: ImportSpec | None = None
    grid: dict[str, Any] = field(default_factory=dict)  # SweepSettings' grid fields (a reopened sweep's own)
    memo: tuple[SweepSettings, SweepResult] | None = None

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(pd.unique(self.outcomes.sort_values("tier_index")["tier"]))


# -- starting ---------------------------------------------------------------------------------------------------
def default_name(dataset: str, tiers: Sequence[str], when: datetime | None = None) -> str:
    """'bundled · small → large · 2026-12-05 08:30': what a sweep is called unless named."""
    return f"{dataset} · {' → '.join(tiers)} · {(when or utc_now()):%Y-%m-%d %H:%M}"


def config_for_tiers(config: CascadeConfig, names: Sequence[str] | None) -> CascadeConfig:
    """The config restricted to the named tiers, in the given order (thresholds kept where they exist).
    Raises ValueError naming an unknown tier, or when fewer than two are left."""
    if not names:
        return config
    wanted = [n.strip() for n in names if n.strip()]
    by_name = {t.name: (i, t) for i, t in enumerate(config.tiers)}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise ValueError(f"unknown tier(s) {unknown}; configured tiers are {list(by_name)}")
    if len(wanted) < 2:
        raise ValueError("a cascade needs at least two tiers (one to escalate to)")
    if wanted == [t.name for t in config.tiers]:
        return config
    data = config.model_dump()
    data["tiers"] = [by_name[n][1].model_dump() for n in wanted]
    old = config.thresholds
    data["thresholds"] = [old[by_name[n][0]] if by_name[n][0] < len(old) else 0.75 for n in wanted[:-1]]
    data.update(skip_below=[], start_tier=None)  # the sub-cascade's own walk: no skips or start of the whole
    return validate_config(data, source="tiers")


def start_live(dataset: Dataset, config: CascadeConfig, tiers: Sequence[str], base_urls: Sequence[str],
               store: Store, *, name: str = "", concurrency: int = 16, limit: int | None = None) -> SweepJob:
    """Collect `dataset` on the chosen tiers (of the configured ones) in the background; see SweepJob."""
    chosen = config_for_tiers(config, tiers)
    urls = dict(zip([t.name for t in config.tiers], base_urls, strict=True))
    job = SweepJob(dataset, chosen, [urls[t.name] for t in chosen.tiers], store, concurrency=concurrency,
                   limit=limit, name=name.strip() or default_name(dataset.name, [t.name for t in chosen.tiers]))
    return job.start()


def current_setting(config: CascadeConfig, tiers: Sequence[str], signal: str | None) -> tuple[float, ...] | None:
    """The configured thresholds as a point of this sweep: only when it ran the configured tiers, in order, on the
    configured signal, with no skip-ahead or start tier (anything else is another cascade)."""
    if list(tiers) != [t.name for t in config.tiers] or signal != config.signal:
        return None
    if any(config.skip_below) or config.start_tier is not None or config.abstain_below is not None:
        return None
    return tuple(float(v) for v in config.thresholds)


def stored_questions(items: Sequence[Item], config: CascadeConfig) -> dict[str, str]:
    """item id -> question text as a saved sweep keeps it: redacted as runs are ([privacy] redact)."""
    return {i.id: redact_pii(i.question, config.privacy.redact) or "" for i in items}


def live_sweep(job: SweepJob, configured: CascadeConfig) -> LoadedSweep:
    """A finished live collection as a sweep: its name, dataset, the fingerprint and signal of the tiers it ran,
    its questions, and the configured setting (`configured`: the whole config) when it ran the configured tiers."""
    r = job.result
    if r is None:
        raise ValueError("the collection has not finished")
    meta = SweepMeta(name=job.name or default_name(r.dataset, r.tiers), dataset=r.dataset, source="live",
                     config_fingerprint=job.config.fingerprint(), signal=job.config.signal, simulated=r.simulated)
    current = current_setting(configured, r.tiers, job.config.signal)
    return LoadedSweep(r.outcomes, meta, questions=stored_questions(r.items, configured),
                       grid={"current": current} if current else {})


def import_sweep(paths: Sequence[str], *, format: str = "auto", tiers: Sequence[str] | None = None,
                 costs: Mapping[str, float] | None = None, mapping: Mapping[str, str] | None = None,
                 split: str | float = AUTO_SPLIT, name: str = "") -> tuple[LoadedSweep, list[str]]:
    """Recorded results as a sweep (the split column, when named, imported as the split field), with notes."""
    if not paths:
        raise ValueError("choose a results file first")
    args: dict[str, Any] = {"format": format, "tiers": list(tiers) if tiers else None,
                            "default_costs": dict(costs) if costs else None}
    base = dict(mapping or {})
    used, _ = import_split(split, base)
    imported = import_results(list(paths), **args, mapping=used)
    names = [p.rsplit("/", 1)[-1] for p in imported.sources]
    files = ", ".join(names)
    # A default name short enough for a picker and a legend (RouteLLM's MMLU is 57 files); the dataset keeps all.
    short = files if len(names) <= 2 else f"{names[0]}, {names[1]} and {len(names) - 2} more files"
    meta = SweepMeta(name=name.strip() or f"{short} · {utc_now():%Y-%m-%d %H:%M}", dataset=files, source="import")
    spec = ImportSpec(list(paths), args, base, used)
    return LoadedSweep(imported.outcomes, meta, imported=spec), list(imported.notes)


def open_saved(store: Store, sweep_id: str) -> LoadedSweep:
    """A saved sweep with its own settings and analysis (not recomputed with the page's defaults) and questions."""
    row, result = reopen(store, sweep_id)
    meta = SweepMeta(name=row["name"], dataset=row["dataset"], source=row["source"],
                     config_fingerprint=row["config_fingerprint"], signal=row["signal"],
                     simulated=bool(row["simulated"]))
    s = result.settings
    grid = {k: v for k, v in s.grid().items() if k != "current"}
    if s.current is not None:
        grid["current"] = tuple(s.current)
    return LoadedSweep(result.outcomes, meta, sweep_id=row["sweep_id"], questions=saved_questions(store, sweep_id),
                       grid=grid, memo=(s, result))


# -- analysing ---------------------------------------------------------------------------------------------------
def import_split(split: str | float, mapping: Mapping[str, str]) -> tuple[dict[str, str], str | float]:
    """(column mapping, split) for importing results that are to be split on a column.

    The importer puts the split field in the outcome table's `split` column: a split column named anything but
    split/fold is mapped to that field, and the sweep then splits on "split". Fractions and "auto" pass through.
    """
    out = dict(mapping)
    if not isinstance(split, str) or split == AUTO_SPLIT:
        return out, split
    if split.strip().lower() in SPLIT_FIELD_NAMES and "split" not in out:
        return out, "split"
    if out.setdefault("split", split) != split:
        raise ValueError(f"split column {split!r} conflicts with the mapping split={out['split']!r}; give one")
    return out, "split"


def resolve_split(loaded: LoadedSweep, split: str | float) -> str | float:
    """The split to analyse with. A live sweep has no split column; an import naming one is read again with that
    column as the split field (then it is "split"); a reopened sweep's stored table holds it as "split"."""
    if not isinstance(split, str) or split == AUTO_SPLIT:
        return split
    if loaded.meta.source == "live":
        raise ValueError(f"{split!r}: a live sweep has no split column; use a fraction (e.g. 0.5) or auto")
    spec = loaded.imported
    if spec is None:
        return split
    mapping, split = import_split(split, spec.mapping)
    if mapping != spec.used:
        loaded.outcomes = import_results(spec.paths, **spec.args, mapping=mapping).outcomes
        spec.used = mapping
        loaded.memo = None
    return split


def settings_for(loaded: LoadedSweep, *, target: float, split: str | float, seed: int) -> SweepSettings:
    """The settings a sweep is analysed with: the page's target, split and seed, and the sweep's own grid."""
    return SweepSettings(target=float(target), split=resolve_split(loaded, split), seed=int(seed), **loaded.grid)


def analyse_loaded(store: Store, loaded: LoadedSweep, settings: SweepSettings) -> tuple[SweepResult, bool]:
    """(analysis, saved now): analysed once per settings; a sweep not yet saved is saved on its first analysis
    (with its questions), so every sweep the page shows can be reopened and linked."""
    if loaded.memo is None or loaded.memo[0] != settings:
        loaded.memo = (settings, analyse(loaded.outcomes, settings))
    result = loaded.memo[1]
    if loaded.sweep_id is None:
        loaded.sweep_id = save_result(store, result, loaded.meta, loaded.questions)
        return result, True
    return result, False


# -- comparing ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Two saved sweeps side by side: their stored points, names, a table of what differs and a warning."""

    points: tuple[pd.DataFrame, pd.DataFrame]
    names: tuple[str, str]
    simulated: bool  # both are: the plot says SIMULATED data (each simulated one is marked in its name)
    differences: pd.DataFrame
    warning: str | None


def compare(store: Store, a: str, b: str) -> Comparison:
    rows = []
    for sid in (a, b):
        row = sql.get_sweep(store, sid)
        if row is None:
            raise KeyError(f"no saved sweep {sid!r}")
        rows.append(row)
    table, warning = compare_saved(store, a, b)
    # Each sweep says whether it is simulated; the plot's title only when both are (a real import beside a
    # simulated sweep is not "SIMULATED data").
    names = [f"{r['name']} ({sid}){' · SIMULATED' if r['simulated'] else ''}" for r, sid in zip(rows, (a, b),
                                                                                              strict=True)]
    return Comparison(points=(saved_points(store, a), saved_points(store, b)), names=(names[0], names[1]),
                      simulated=all(bool(r["simulated"]) for r in rows), differences=table, warning=warning)


# -- applying ----------------------------------------------------------------------------------------------------
def point_config(point: FrontierPoint, sweep_tiers: Sequence[str], config: CascadeConfig) -> dict[str, Any]:
    """The config keys that set `point` in `config` (None removes a key). A sweep of the configured tiers maps
    one to one; a sub-cascade maps through `start_tier` (mid -> large) or a skip to the last tier (small -> large).
    Raises ValueError when the sweep's tiers are not the config's (imported models): paste the snippet instead."""
    names = [t.name for t in config.tiers]
    tiers = list(sweep_tiers)
    if not set(tiers) <= set(names) or tiers[-1] != names[-1] or [n for n in names if n in tiers] != tiers:
        raise ValueError(f"this sweep's tiers ({' → '.join(tiers)}) are not the configured tiers "
                         f"({' → '.join(names)}): copy the lines into the config of those tiers instead")
    pos = {n: i for i, n in enumerate(names)}
    old = list(config.thresholds)
    thresholds, skip = list(old), [0.0] * len(old)
    first = pos[tiers[point.start]]
    for k in range(point.start, len(tiers) - 1):
        tier = tiers[k]
        i = pos[tier]
        thresholds[i] = _unit(point.thresholds[k])
        if k < len(point.skip) and point.skip[k] > 0:
            skip[i] = min(_unit(point.skip[k]), thresholds[i])
        following = pos[tiers[k + 1]]
        if following > i + 1:  # tiers left out in between: below its threshold this tier goes to the next one
            if following != len(names) - 1:
                raise ValueError(f"leaving out the tiers between {tier} and {tiers[k + 1]} cannot be written as "
                                 "a config (skip-ahead goes to the last tier only)")
            skip[i] = thresholds[i]
    return {"thresholds": thresholds, "skip_below": skip if any(v > 0 for v in skip) else None,
            "abstain_below": point.abstain, "start_tier": names[first] if first else None}


def _unit(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def save_point(path: str | Path, point: FrontierPoint, sweep_tiers: Sequence[str], config: CascadeConfig) -> str:
    """Write `point` into the config file at `path` (only the operating-point keys change); returns the new text.
    Raises ValueError / ConfigError with the reason, leaving the file as it was."""
    return set_operating_point(path, point_config(point, sweep_tiers, config))
