"""Process-wide resources for the dashboard: the config, the store and the live cascade runtime.

Streamlit reruns pages on every interaction; these are built once per process (st.cache_resource) and shared
by every session. The Store serialises access with its own lock. Each resource is keyed by what it is built
from ($CASCADE_CONFIG / $CASCADE_STORE, the store path, the config's fingerprint), so tests that point
$CASCADE_STORE at a fresh file get a fresh store without clearing the cache.
"""

from __future__ import annotations

import os

import streamlit as st

from cascade_core.cascade import CascadeConfig, Runtime, build_runtime, load_config
from cascade_core.datasets import Dataset, load_bundled
from cascade_core.store import RetentionScheduler, Store, StoreEmbeddingCache, store_location


def through_app() -> None:
    """Every page runs inside the app's frame (ui/entry.py: page config, the sidebar's backend line, the store
    check). On a fresh server whose first request is a page's own address (a shared link such as /runs?run=<id>),
    Streamlit runs that page file alone: it keeps its old "pages/ folder" mode until some run has called
    st.navigation. Then this switches that mode off and runs the frame here, which renders the page the URL
    names, and ends the run (the rest of the outer page file must not render twice). Same run, so a click's
    value is not lost. Streamlit is pinned; tests/browser/test_links.py opens a link as a server's first request."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        from ui.entry import run_app

        run_app()
        st.stop()


@st.cache_resource(show_spinner=False)
def _config_for(config_env: str | None, store_env: str | None) -> CascadeConfig:
    return load_config()


def get_config() -> CascadeConfig:
    through_app()  # every page asks for the config (or the store, which does) before it renders anything
    return _config_for(os.environ.get("CASCADE_CONFIG"), os.environ.get("CASCADE_STORE"))


# With the embedded DuckDB file the dashboard lets the file go after 2 s idle, so the weekly cron audit, CLI
# commands and API servers can write to it; it waits up to 10 s for them in turn. (A DuckLake needs no turns.)
STORE_IDLE_RELEASE = 2.0
STORE_LOCK_WAIT = 10.0


# Released (st.cache_resource.clear(), a new $CASCADE_STORE): closed at once, so its idle-release thread ends
# instead of closing the DuckDB file later from a daemon thread, perhaps while the process exits.
@st.cache_resource(show_spinner=False, on_release=lambda store: store.close())
def _store_for(key: str, _config: CascadeConfig) -> Store:
    return Store(store_location(_config), idle_release=STORE_IDLE_RELEASE, lock_wait=STORE_LOCK_WAIT)


@st.cache_resource(show_spinner=False, on_release=lambda scheduler: scheduler.stop())
def _retention_for(path: str, days: float | None, hours: float, _config: CascadeConfig,
                   _store: Store) -> RetentionScheduler:
    return RetentionScheduler.for_store(_config, _store).start()  # a no-op when retention_days is not set


def get_store() -> Store:
    config = get_config()
    key = config.store_path if config.store.backend == "duckdb" else config.store.model_dump_json()
    store = _store_for(key, config)
    # Purge runs past [privacy] retention_days now and every purge_interval_hours, once per process.
    _retention_for(key, config.privacy.retention_days, config.privacy.purge_interval_hours, config, store)
    return store


@st.cache_resource(show_spinner="Starting the cascade tiers…")
def _runtime_for(fingerprint: str, _config: CascadeConfig) -> Runtime:
    # Route embeddings are kept in the store: each example and question is embedded once, by any process.
    return build_runtime(_config, embedding_cache=StoreEmbeddingCache(get_store()) if _config.routes else None)


def get_runtime() -> Runtime:
    """The configured tiers; starts the embedded simulator on loopback when a tier is 'embedded'."""
    config = get_config()
    return _runtime_for(config.fingerprint(), config)


@st.cache_resource(show_spinner=False)
def get_bundled() -> Dataset:
    """The bundled dataset (a question typed on the Query page that matches one of its items is graded)."""
    return load_bundled()
