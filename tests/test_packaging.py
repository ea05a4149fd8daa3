"""The wheel: builds, carries the bundled dataset, and its `cascade-lab` script runs from any directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built and installed (without dependencies: the test venv has them) into a folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy: an in-tree build would leave build/ in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "cascade_core", source / "cascade_core", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work), str(source)], check=True,
                   cwd=work, env={**os.environ, "PIP_NO_INPUT": "1"})
    wheel = next(work.glob("cascade_lab-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "cascade_core/datasets/bundled/mixed.jsonl" in names
    assert "cascade_core/py.typed" in names
    assert not any(n.startswith(("tests/", "pages/", "bench/")) for n in names)
    target = work / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    return target


def _run(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    env.pop("CASCADE_CONFIG", None)
    env.pop("CASCADE_STORE", None)
    return subprocess.run([str(installed / "bin" / "cascade-lab"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_console_script_runs_a_query_from_another_directory(installed: Path, tmp_path: Path) -> None:
    first = json.loads((ROOT / "cascade_core/datasets/bundled/mixed.jsonl").read_text().splitlines()[0])
    done = _run(installed, "query", first["question"], "--json", "--store", str(tmp_path / "log.duckdb"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trace = json.loads(done.stdout)
    assert trace["steps"] and trace["final_answer"]
    # the question is a bundled one, so it was graded: the dataset came from inside the installed package
    assert trace["item_id"] == first["id"] and trace["correct"] in (True, False)
    assert str(ROOT) not in done.stdout + done.stderr


def test_help_lists_every_command_without_loading_heavy_libraries(installed: Path, tmp_path: Path) -> None:
    done = _run(installed, "--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("query", "sweep", "audit", "serve"):
        assert command in done.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, cascade_core.cli.main as m\n"
         "try:\n    m.main(['--help'])\nexcept SystemExit:\n    pass\n"
         "print(sorted({'pandas', 'duckdb', 'openai', 'plotly', 'numpy', 'pydantic'} & set(sys.modules)))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True, check=True)
    assert probe.stdout.strip().splitlines()[-1] == "[]"
