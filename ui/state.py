"""Process-wide resources for the dashboard: the config, the store and the live cascade runtime.

Streamlit reruns pages on every interaction; these are built once per process (st.cache_resource) and shared
by every session. The Store serialises access with its own lock.
"""

from __future__ import annotations

import streamlit as st

from cascade_core import CascadeConfig, Runtime, Store, build_runtime, load_config


@st.cache_resource(show_spinner=False)
def get_config() -> CascadeConfig:
    return load_config()


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    return Store(get_config().store_path)


@st.cache_resource(show_spinner="Starting the cascade tiers…")
def get_runtime() -> Runtime:
    """The configured tiers; starts the embedded simulator on loopback when a tier is 'embedded'."""
    return build_runtime(get_config())
