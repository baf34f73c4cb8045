"""XKLĐ-Geo served with its own HTTP routes: run ``streamlit run serve.py`` (scripts/run.sh does).

Streamlit finds the ``st.App`` below and serves app.py through it, adding the session-cookie
routes, the health check (xkld_geo/health.py) and hiding ``/_stcore/metrics`` (see xkld_geo/gateway.py).
The maps' geometry files, then the overview's national period tables, are warmed once per process
in the background (xkld_geo/maps/warmup.py, xkld_geo/views/overview.py warm_periods).
"""
from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from xkld_geo import gateway, health
from xkld_geo.maps import warmup
from xkld_geo.settings import current
from xkld_geo.views import overview

app = st.App("app.py", routes=gateway.routes() + health.routes(), middleware=[Middleware(gateway.HideInternalRoutes)])
# geometry files first, then the overview's national period tables (both shared by every session)
warmup.start_background(then=lambda con: overview.warm_periods(con, current().effective_today, current().report_due_day))
