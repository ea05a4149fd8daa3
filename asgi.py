"""The dashboard as an ASGI app (`./run` starts this): Streamlit's app.py plus one route of our own that streams
prepared exports from disk (ui/downloads.py), so a 5M-run download never sits in the dashboard's memory."""

import streamlit as st

from ui.downloads import export_routes

app = st.App("app.py", routes=export_routes())
