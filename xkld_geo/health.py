"""``/xkld/health``: whether this replica can reach its database, for the load balancer and the
cluster's tests. No Streamlit import (served by serve.py beside the app).

The answer is JSON: ``replica`` (``XKLD_REPLICA_NAME``, else the port), ``store`` (``ok`` or
``down``), ``message`` (the Vietnamese refusal when down) and ``user``: the account of the session
cookie the request carries, if it is valid, so a session opened on one replica can be checked on
another. 503 while the database cannot be read, so nginx (or any balancer) can take the replica out.
"""
from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from xkld_geo import auth, db, gateway
from xkld_geo.errors import XkldError
from xkld_geo.settings import current

HEALTH_PATH = "/xkld/health"


def check(token: str | None) -> tuple[int, dict[str, object]]:
    """Read the store once (the accounts table), and the session of ``token`` when given."""
    body: dict[str, object] = {"replica": os.environ.get("XKLD_REPLICA_NAME", ""), "store": "ok", "user": None}
    try:
        con = db.connect(current())
        db.run(con, "health_users", "SELECT count(*) AS n FROM users")
        user = auth.session_user(con, token) if token else None
        body["user"] = user.username if user else None
        return 200, body
    except XkldError as exc:
        body.update(store="down", message=exc.message)
        return 503, body


async def _health(request: Request) -> Response:
    status, body = await run_in_threadpool(check, request.cookies.get(gateway.COOKIE))
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    """The health route, mounted by serve.py."""
    return [Route(HEALTH_PATH, _health, methods=["GET"])]
