"""Settings: the tiers in order with prices and thresholds, where keys come from, the store, connection tests."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cascade_core.views import check_connection, human_bytes, store_info, tier_rows
from ui.state import get_config, get_runtime, get_store
from ui.text import md_escape

config = get_config()
runtime = get_runtime()
st.title("Settings")
st.caption("Read from the config file (`--config`, `$CASCADE_CONFIG` or `./cascade.toml`; the embedded default "
           "when there is none). Edit the file to change them; this page never shows an API key.")

if runtime.simulated:
    st.badge("Embedded simulator in use", icon=":material/science:", color="orange")
    st.caption(f"Simulated tiers are served over the OpenAI protocol at {runtime.simulator.base_url} "
               "(loopback only, no key, no network). Everything they produce is labelled simulated.")
else:
    st.badge("Live endpoints", icon=":material/cloud:", color="green")

st.subheader("Tiers, in cascade order")
rows = tier_rows(config, [runtime.endpoint_of(i) for i in range(len(config.tiers))])
table = pd.DataFrame(rows)
table["threshold"] = ["last tier: always answers" if r["threshold"] is None else f"{r['threshold']:.2f}"
                      for r in rows]
st.dataframe(
    table, hide_index=True, key="set_tiers",
    column_config={
        "input_usd_per_mtok": st.column_config.NumberColumn("input $/M tok", format="$%.2f"),
        "output_usd_per_mtok": st.column_config.NumberColumn("output $/M tok", format="$%.2f"),
        "price_from": st.column_config.TextColumn("prices from", help="config, or the built-in catalog (genai-prices)"),
        "threshold": st.column_config.TextColumn("threshold", help="escalate below this confidence (0-1)"),
        "key_set": st.column_config.CheckboxColumn("key variable set"),
    },
)
st.caption("Prices: " + md_escape(config.price_source) + ". Prices change: every price is editable in the config.")
st.caption(f"Confidence signal: {config.signal} · retries: {config.retry.max_retries} "
           f"(backoff {config.retry.backoff_base}–{config.retry.backoff_max} s)")

st.subheader("API keys")
for row in rows:
    if row["key_set"] is None:
        st.markdown(f"- **{md_escape(row['tier'])}**: no key needed")
    else:
        state = "set" if row["key_set"] else "NOT set"
        # Inside a code span backslashes show literally, so the name is not md_escaped (NVIDIA\_API\_KEY);
        # stripping backticks and line breaks is what keeps it inside the span.
        name = "".join(ch for ch in str(row["key_variable"]) if ch not in "`\r\n")
        st.markdown(f"- **{md_escape(row['tier'])}**: from `${name}` — {state}")

st.subheader("Test connection")
st.caption("One tiny chat call (retried as configured) and the endpoint's model list, per tier.")
for index, client in enumerate(runtime.clients):
    cols = st.columns([1, 4])
    if cols[0].button(f"Test {md_escape(client.tier.name)}", key=f"set_test_{index}", icon=":material/bolt:"):
        with st.spinner("Calling…"):
            st.session_state[f"set_check_{index}"] = check_connection(client)
    check = st.session_state.get(f"set_check_{index}")
    with cols[1]:
        if check is None:
            st.caption(f"{md_escape(client.tier.model)} at {md_escape(client.base_url)}")
        elif check.ok:
            st.success(f"Connected: {check.call_ms:,.0f} ms for the call, {check.models_ms:,.0f} ms for the model "
                       "list.", icon=":material/check_circle:")
        else:
            st.error(f"The call failed after {check.call_ms:,.0f} ms.", icon=":material/error:")
            st.code(check.error or "", language=None, wrap_lines=True)
        if check is not None and check.logprobs_note:
            st.caption(f"Logprobs: {md_escape(check.logprobs_note)}")
        if check is not None:
            if check.models_error:
                st.caption("Model list unavailable:")
                st.code(check.models_error, language=None, wrap_lines=True)
            else:
                listed = "listed" if check.model_listed else "NOT listed"
                st.caption(f"{len(check.models)} models; this tier's model is {listed}:")
                st.code("\n".join(check.models[:50]) or "(none)", language=None)

st.subheader("Store")
info = store_info(config.store_path, get_store() if config.store.backend == "ducklake" else None)
if info.backend == "ducklake":
    st.caption("DuckLake (the `[store]` table of the config; many processes write at once):")
    st.code(info.path, language=None)
    st.markdown(f"Data: **{human_bytes(info.size_bytes)}** in **{info.data_files}** files")
else:
    st.caption("DuckDB file (set `$CASCADE_STORE` to move it; `[store] backend = \"ducklake\"` for many writers):")
    st.code(info.path, language=None)
    size = human_bytes(info.size_bytes) if info.exists else "not created yet"
    st.markdown(f"Size: **{size}**")
