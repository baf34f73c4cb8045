"""``/xkld/health`` says up or down and nothing more: no account (whatever cookie comes with the
request), no replica, no error text. Driven as an ASGI call, without a server."""
from __future__ import annotations

import asyncio
import concurrent.futures
import json

import pytest
from starlette.applications import Starlette

from tests.conftest import session_token
from xkld_geo import db, gateway, health
from xkld_geo.errors import DatabaseError
from xkld_geo.settings import Settings


def _get(cookie: str | None = None) -> tuple[int, bytes]:
    headers = [(b"host", b"127.0.0.1:8501")] + ([(b"cookie", cookie.encode())] if cookie else [])
    scope = {"type": "http", "method": "GET", "path": health.HEALTH_PATH, "raw_path": health.HEALTH_PATH.encode(),
             "query_string": b"", "headers": headers, "scheme": "http", "server": ("127.0.0.1", 8501),
             "client": ("203.0.113.9", 5000), "http_version": "1.1", "root_path": ""}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, Starlette(routes=health.routes())(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("role", [None, "viewer", "admin"])
def test_health_names_no_account_whatever_the_cookie(app_env: Settings, role: str | None) -> None:
    cookie = f"{gateway.COOKIE}={session_token(app_env, role)}" if role else None
    status, body = _get(cookie)
    assert (status, json.loads(body)) == (200, {"status": "up"})
    assert b"test_" not in body and (role is None or role.encode() not in body)


def test_health_says_down_and_nothing_more(app_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise DatabaseError("Không kết nối được cơ sở dữ liệu /srv/bi-mat/xkld.duckdb", path="/srv/bi-mat")

    monkeypatch.setattr(db, "connect", down)
    status, body = _get()
    assert (status, json.loads(body)) == (503, {"status": "down"})
