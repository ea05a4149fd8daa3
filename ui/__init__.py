"""Streamlit-side helpers shared by pages: cached resources and reusable widgets. Rendering only, no logic."""
