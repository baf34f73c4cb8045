"""XKLĐ-Geo served with its own HTTP routes: run ``python serve.py [streamlit options]``
(scripts/run.sh does).

Run so, the script starts Streamlit's server itself (``streamlit run serve.py``) after making its
listening socket one whose connections send without Nagle's delay (xkld_geo/server/listener.py, installed
through xkld_geo/ui/compat.py, the one module that touches library internals). A bare
``streamlit run serve.py`` serves the same app and logs that each run's messages may wait for the
browser's acknowledgements.

Streamlit finds the ``st.App`` below and serves app.py through it, adding the session-cookie
routes, the health check (xkld_geo/server/health.py) and hiding ``/_stcore/metrics`` (see xkld_geo/server/gateway.py).
What runs once per server process starts in the app's documented lifespan hook (:func:`lifespan`,
``st.App(lifespan=...)``), not as a side effect of importing this file: the library versions are
checked (xkld_geo/ui/compat.py), leftovers of killed builds removed, the maps' geometry files then
the overview's national period tables warmed in the background (xkld_geo/maps/warmup.py,
xkld_geo/views/period_tables.py warm_periods), and the notification scheduler started beside them
(xkld_geo/notifications/scheduler.py start_in_app).
"""
from __future__ import annotations

import contextlib
import sys
from typing import AsyncIterator

import streamlit as st
from starlette.middleware import Middleware

from xkld_geo.database import leftovers
from xkld_geo.maps import warmup
from xkld_geo.notifications import scheduler
from xkld_geo.server import gateway, health, listener
from xkld_geo.settings import current
from xkld_geo.ui import compat
from xkld_geo.views import period_tables


def start() -> None:
    """What the served app starts once per process, before the first session."""
    compat.check_versions()   # logged (English and Vietnamese) when a library differs from what was tested
    compat.menu_of_files_off()   # app.py's menu from the first visit on, never one built from pages/
    listener.check(compat.socket_wrapper_installed())
    leftovers.remove(current())   # what killed builds and publishes left behind, at the server's start
    # geometry files first, then the overview's national period tables (both shared by every session)
    warmup.start_background(then=lambda con: period_tables.warm_periods(con, current().effective_today,
                                                                        current().report_due_day))
    scheduler.start_in_app()   # notifications: daily jobs and the outbox's sender (XKLD_SCHEDULER=app)


@contextlib.asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """The app's lifespan (Streamlit's documented start-up hook): :func:`start`, then serve."""
    start()
    yield


app = st.App("app.py", routes=gateway.routes() + health.routes(),
             middleware=[Middleware(gateway.HideInternalRoutes)], lifespan=lifespan)

if __name__ == "__main__":   # the launcher: Streamlit's server, which imports this file again as the app
    compat.install_socket_wrapper(listener.wrapped)
    compat.run_server(__file__, sys.argv[1:])
