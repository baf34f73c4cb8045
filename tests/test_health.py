"""``/xkld/health`` says up or down and nothing more: no account (whatever cookie comes with the
request), no replica, no error text. Driven as an ASGI call, without a server."""
from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette

from tests.asgi_support import call
from tests.conftest import session_token
from xkld_geo.database import db
from xkld_geo.errors import DatabaseError
from xkld_geo.server import gateway, health
from xkld_geo.settings import Settings


def _get(cookie: str | None = None) -> tuple[int, bytes]:
    headers = [("host", "127.0.0.1:8501")] + ([("cookie", cookie)] if cookie else [])
    got = call(Starlette(routes=health.routes()), "GET", health.HEALTH_PATH, headers=headers, client="203.0.113.9")
    return got.status, got.body


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
