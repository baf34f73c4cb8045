"""XKLĐ-Geo served with its own HTTP routes: run ``python serve.py [streamlit options]``
(scripts/run.sh does).

Run so, the script starts Streamlit's server itself (``streamlit run serve.py``) after making its
listening socket one whose connections send without Nagle's delay (xkld_geo/listener.py). A
bare ``streamlit run serve.py`` serves the same app and logs that each run's messages may wait
for the browser's acknowledgements.

Streamlit finds the ``st.App`` below and serves app.py through it, adding the session-cookie
routes, the health check (xkld_geo/health.py) and hiding ``/_stcore/metrics`` (see xkld_geo/gateway.py).
The maps' geometry files, then the overview's national period tables, are warmed once per process
in the background (xkld_geo/maps/warmup.py, xkld_geo/views/period_tables.py warm_periods); the
notification scheduler starts beside them (xkld_geo/notifications/scheduler.py start_in_app).
"""
from __future__ import annotations

import sys

import streamlit as st
from starlette.middleware import Middleware
from streamlit.web.server.starlette import starlette_server

from xkld_geo import gateway, health, leftovers, listener
from xkld_geo.maps import warmup
from xkld_geo.notifications import scheduler
from xkld_geo.settings import current
from xkld_geo.ui.navigation import menu_of_files_off
from xkld_geo.views import period_tables

app = st.App("app.py", routes=gateway.routes() + health.routes(), middleware=[Middleware(gateway.HideInternalRoutes)])

if __name__ == "__main__":   # the launcher: Streamlit's server, which imports this file again as the app
    from streamlit.web import cli

    listener.install(starlette_server)
    cli.main(["run", __file__, *sys.argv[1:]], prog_name="streamlit")
else:
    listener.check(starlette_server)
    menu_of_files_off()   # app.py's menu from the first visit on, never one built from pages/
    leftovers.remove(current())   # what killed builds and publishes left behind, at the server's start
    # geometry files first, then the overview's national period tables (both shared by every session)
    warmup.start_background(then=lambda con: period_tables.warm_periods(con, current().effective_today,
                                                                        current().report_due_day))
    scheduler.start_in_app()   # notifications: daily jobs and the outbox's sender (XKLD_SCHEDULER=app)
