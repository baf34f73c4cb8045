"""``/xkld/health``: whether this replica can reach its database, for the load balancer and the
cluster's tests. No Streamlit import (served by serve.py beside the app).

The answer says up or down and nothing more: ``{"status": "up"}`` with 200, or
``{"status": "down"}`` with 503 while the database cannot be read, so nginx (or any balancer) can
take the replica out. It names no account, no replica and no error text: anyone can ask it, with
any cookie (the reason the database is down goes to the server's log).
"""
from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xkld_geo.database import db
from xkld_geo.errors import XkldError
from xkld_geo.settings import current

HEALTH_PATH = "/xkld/health"
log = logging.getLogger("xkld_geo.server.health")


def check() -> tuple[int, dict[str, str]]:
    """Read the store once (the accounts table): (200, up) or (503, down)."""
    try:
        con = db.connect(current())
        db.run(con, "health_users", "SELECT count(*) AS n FROM users")
        return 200, {"status": "up"}
    except XkldError as exc:
        log.warning("health check: database down: %s", exc.message)
        return 503, {"status": "down"}


async def _health(request: Request) -> Response:
    status, body = await run_in_threadpool(check)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    """The health route, mounted by serve.py."""
    return [Route(HEALTH_PATH, _health, methods=["GET"])]
