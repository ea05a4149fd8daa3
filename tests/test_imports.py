"""Importing is light: a package's public names load on first use, and a command's --help loads no heavy library."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAZY_PACKAGES = ("cascade_core.cascade", "cascade_core.audit")
HEAVY = ("pandas", "duckdb", "openai", "plotly", "pyarrow", "numpy")


def _declared(package: str) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> module) from the package's `if TYPE_CHECKING:` imports, and from its lazy_exports map."""
    source = (ROOT / package.replace(".", "/") / "__init__.py").read_text()
    tree = ast.parse(source)
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If):  # if TYPE_CHECKING:
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                typed.update({alias.name: imp.module for alias in imp.names})
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):  # __getattr__, __dir__ = ...
            mapping = node.value.args[1]
            assert isinstance(mapping, ast.Dict)
            for key, names in zip(mapping.keys, mapping.values, strict=True):
                assert isinstance(key, ast.Constant) and isinstance(names, ast.Tuple)
                lazy.update({n.value: key.value for n in names.elts if isinstance(n, ast.Constant)})
    return typed, lazy


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_lazy_package_names_match_what_type_checkers_see_and_all_resolve(package: str) -> None:
    typed, lazy = _declared(package)
    assert typed and typed == lazy  # a name added to one list and not the other fails here
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(lazy)
    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(importlib.import_module(lazy[name]), name) is value
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = module.not_a_name


def _heavy_loaded(code: str) -> list[str]:
    probe = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(sorted({set(HEAVY)!r} & set(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, check=True)
    return ast.literal_eval(probe.stdout.strip().splitlines()[-1])


def test_the_config_loads_no_heavy_library() -> None:
    assert _heavy_loaded("from cascade_core.cascade.config import load_config\nload_config(None)") == []


@pytest.mark.parametrize("command", ["query", "sweep", "audit", "recertify", "serve", "purge", "store"])
def test_a_commands_help_loads_no_heavy_library(command: str) -> None:
    code = ("import cascade_core.cli.main as m\n"
            f"try:\n    m.main([{command!r}, '--help'])\nexcept SystemExit:\n    pass")
    assert _heavy_loaded(code) == []


def test_sweep_parser_default_split_is_the_analysis_auto_split() -> None:
    """cli/sweep.py spells the default split out (importing it would load the sweep library for --help)."""
    import argparse

    from cascade_core.cli import sweep as sweep_cli
    from cascade_core.sweep.analysis import AUTO_SPLIT

    parser = argparse.ArgumentParser()
    sweep_cli.add_parser(parser.add_subparsers())
    assert parser.parse_args(["sweep", "bundled"]).split == AUTO_SPLIT
