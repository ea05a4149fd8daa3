"""`pip install .` brings what the library imports: every third-party module cascade_core imports (at the top of a
module or when first used) comes from a distribution pyproject.toml declares, as a dependency, in an extra, or
pulled in by one of those (installed metadata, markers evaluated)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, for every import in cascade_core."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "cascade_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return {m: f for m, f in found.items() if m not in sys.stdlib_module_names and m != "cascade_core"}


def _declared_closure() -> set[str]:
    """Distributions `pip install .[every extra]` installs, from pyproject.toml and the installed metadata."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    todo += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            extras = req.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(sub)
    return seen


def test_every_imported_library_is_declared() -> None:
    provided = md.packages_distributions()
    declared = _declared_closure()
    missing = {module: where for module, where in _imported_top_modules().items()
               if not {_norm(d) for d in provided.get(module, [module])} & declared}
    assert missing == {}, f"imported by cascade_core but not installed by `pip install .`: {missing}"


def test_the_check_sees_what_a_missing_declaration_would_hide() -> None:
    # orjson reaches fastapi only through its "all" extra: without our own line it would not be installed.
    assert "orjson" in _imported_top_modules()
    assert "orjson" in _declared_closure()
    assert not any(Requirement(r).name == "orjson" and (Requirement(r).marker is None)
                   for r in md.requires("fastapi") or [])
