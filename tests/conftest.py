"""Shared fixtures. `simulator`: one embedded simulator for the whole session; `fresh_simulator`: a factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cascade_core.cascade.config import SimulatorConfig
from cascade_core.simulator import EmbeddedSimulator


@pytest.fixture(scope="session")
def simulator() -> Iterator[EmbeddedSimulator]:
    """The simulated tiers on loopback, shared by every test (reset knobs you change)."""
    with EmbeddedSimulator(SimulatorConfig()) as sim:
        yield sim


@pytest.fixture
def fresh_simulator() -> Iterator[Callable[..., EmbeddedSimulator]]:
    """Factory: fresh_simulator(seed=3, error_rate=1.0, dataset=...) -> a running simulator, stopped after the test."""
    started: list[EmbeddedSimulator] = []

    def make(*, dataset: Any = None, **knobs: Any) -> EmbeddedSimulator:
        sim = EmbeddedSimulator(SimulatorConfig(**knobs), dataset=dataset).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store file for page tests: $CASCADE_STORE points at it, no config file in reach."""
    import streamlit as st

    path = tmp_path / "cascade.duckdb"
    monkeypatch.setenv("CASCADE_STORE", str(path))
    monkeypatch.delenv("CASCADE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./cascade.toml
    st.cache_resource.clear()
    yield path
    st.cache_resource.clear()  # the next test must not get this store


KINDS = ("unit", "integration", "pages", "browser")
# Fixtures that put a real server on loopback: a test using one is an integration test.
SERVER_FIXTURES = {"simulator", "fresh_simulator", "postgres", "lake", "phoenix"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test gets one kind marker (`-m unit`, `-m integration`, `-m pages`, `-m browser`): its own when it
    declares one, else browser/pages by folder and module name, integration when it starts a server or a
    subprocess, unit otherwise."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in KINDS):
            continue
        path = Path(str(item.fspath))
        source = path.read_text(encoding="utf-8") if path.suffix == ".py" else ""
        if "browser" in path.parts:
            kind = "browser"
        elif path.name.startswith("test_page"):
            kind = "pages"
        elif SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or "subprocess" in source or "serve" in path.name:
            kind = "integration"
        else:
            kind = "unit"
        item.add_marker(getattr(pytest.mark, kind))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A real PostgreSQL on a free loopback port for the session (skipped only if the server binaries are
    absent: `apt-get install postgresql`, as .ci/run does)."""
    from tests.pg import LocalPostgres, pg_bindir

    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    server = LocalPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lake(postgres: Any, tmp_path: Path) -> Any:
    """A fresh DuckLake: catalog in a new PostgreSQL database, data files under tmp_path."""
    from cascade_core.store.lake import LakeTarget

    return LakeTarget(catalog="postgres", dsn=postgres.new_database(), data_path=str(tmp_path / "lake"),
                      maintenance_every=0)


@pytest.fixture(scope="session")
def phoenix() -> Iterator[Any]:
    """A real Arize Phoenix on a free loopback port for the session, offline (skipped if the test-only
    .venv-phoenix is not built: scripts/setup_phoenix.sh, which ./test runs)."""
    from tests.phoenix_server import LocalPhoenix, phoenix_available

    if not phoenix_available():
        pytest.skip("the Phoenix test environment is not built (scripts/setup_phoenix.sh)")
    server = LocalPhoenix().start()
    try:
        yield server
    finally:
        server.stop()
