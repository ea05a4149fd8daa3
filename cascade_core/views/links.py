"""Deep links: the Runs page's filters, sort, page and open run as URL query parameters, both ways (pure).

`?run=<id>` opens a run's trace; `?source=api&tier=large&q=capital&errors=1` restores the filters. Values that
do not parse are dropped (a shared link never crashes the page); defaults are left out of the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cascade_core.store.run_filter import SORT_COLUMNS, SOURCES, WINDOWS

CUSTOM = "custom dates"
GRADED_CHOICES = ("any", "correct", "incorrect", "ungraded")
ORDERS = ("descending", "ascending")
PAGE_SIZES = (25, 50, 100, 200)
DEFAULTS: dict[str, Any] = {
    "runs_window": "all time", "runs_sources": [], "runs_tiers": [], "runs_text": "", "runs_conf": (0.0, 1.0),
    "runs_graded": "any", "runs_errors": False, "runs_sort": "time", "runs_order": "descending", "runs_size": 50,
    "runs_page": 1, "runs_open_id": "",
}


def _one(values: Sequence[str]) -> str | None:
    return values[-1] if values else None


def _choice(options: Sequence[str]) -> Callable[[Sequence[str]], Any]:
    def parse(values: Sequence[str]) -> Any:
        value = _one(values)
        return value if value in options else None
    return parse


def _conf(values: Sequence[str]) -> tuple[float, float] | None:
    value = _one(values)
    try:
        low, high = (round(float(part), 2) for part in (value or "").split("-", 1))
    except ValueError:
        return None
    return (low, high) if 0.0 <= low <= high <= 1.0 else None


def _int_in(allowed: Callable[[int], bool]) -> Callable[[Sequence[str]], int | None]:
    def parse(values: Sequence[str]) -> int | None:
        try:
            number = int(_one(values) or "")
        except ValueError:
            return None
        return number if allowed(number) else None
    return parse


def _run_id(values: Sequence[str]) -> str | None:
    value = (_one(values) or "").strip()
    return value if value and len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum() else None


def _dates(values: Sequence[str]) -> tuple[date, date] | None:
    value = _one(values)
    try:
        first, last = (date.fromisoformat(part) for part in (value or "").split("..", 1))
    except ValueError:
        return None
    return (first, last) if first <= last else None


@dataclass(frozen=True)
class Field:
    param: str
    key: str  # the widget's session-state key
    parse: Callable[[Sequence[str]], Any]
    write: Callable[[Any], str | list[str]]


FIELDS: tuple[Field, ...] = (
    Field("window", "runs_window", _choice([*WINDOWS, CUSTOM]), str),
    Field("dates", "runs_dates", _dates, lambda v: f"{v[0]:%Y-%m-%d}..{v[1]:%Y-%m-%d}"),
    Field("source", "runs_sources", lambda vs: [v for v in vs if v in SOURCES] or None, list),
    Field("tier", "runs_tiers", lambda vs: [v[:100] for v in vs if v] or None, list),
    Field("q", "runs_text", lambda vs: (_one(vs) or "")[:500] or None, str),
    Field("conf", "runs_conf", _conf, lambda v: f"{v[0]:.2f}-{v[1]:.2f}"),
    Field("graded", "runs_graded", _choice(GRADED_CHOICES), str),
    Field("errors", "runs_errors", lambda vs: True if _one(vs) in ("1", "true", "yes") else None, lambda v: "1"),
    Field("sort", "runs_sort", _choice(list(SORT_COLUMNS)), str),
    Field("order", "runs_order", _choice(ORDERS), str),
    Field("size", "runs_size", _int_in(lambda n: n in PAGE_SIZES), str),
    Field("page", "runs_page", _int_in(lambda n: n >= 1), str),
    Field("run", "runs_open_id", _run_id, str),
)


def state_from_params(params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Session-state values for the Runs page's widgets from URL parameters (every value validated).

    A parameter that is absent resets its widget to the default, so following a link gives exactly its view."""
    state: dict[str, Any] = {}
    for field in FIELDS:
        parsed = field.parse(list(params.get(field.param, [])))
        if parsed is not None:
            state[field.key] = parsed
        elif field.key in DEFAULTS:
            state[field.key] = DEFAULTS[field.key]
    if "runs_dates" in state and "window" not in params:
        state["runs_window"] = CUSTOM
    return state


def params_from_state(state: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """URL parameters for the widgets' current values; defaults (and dates unless custom) are left out."""
    params: dict[str, str | list[str]] = {}
    for field in FIELDS:
        value = state.get(field.key)
        if value is None or value == DEFAULTS.get(field.key):
            continue
        if field.key == "runs_dates" and (state.get("runs_window") != CUSTOM or not isinstance(value, tuple)
                                          or len(value) != 2):
            continue
        if isinstance(value, list | tuple) and not value:
            continue
        if field.key == "runs_conf":
            value = tuple(value)
        params[field.param] = field.write(value)
    return params


def run_link(run_id: str) -> dict[str, str]:
    """The query parameters that open one run's trace on the Runs page."""
    return {"run": run_id}
