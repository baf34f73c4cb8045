"""Users, roles, sessions, rate-limiting, audit; accounts survive a rebuild."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from xkld_geo import auth, db, warehouse
from xkld_geo.cli import main
from xkld_geo.errors import AuthError
from xkld_geo.settings import Settings

NOW = dt.datetime(2026, 3, 15, 9, 0)
PASSWORD = "mot-mat-khau-dai"





@pytest.mark.parametrize("username,password,role,field", [
    ("ab", PASSWORD, "viewer", "username"),
    ("Nguyễn", PASSWORD, "viewer", "username"),
    ("x'; DROP TABLE users; --", PASSWORD, "viewer", "username"),
    ("canbo1", "ngan", "viewer", "password"),
    ("canbo1", PASSWORD, "superuser", "role"),
    ("canbo1", PASSWORD, "public", "role"),
])
def test_create_user_validation(tiny_con, username: str, password: str, role: str, field: str) -> None:
    with pytest.raises(AuthError) as err:
        auth.create_user(tiny_con, username, password, role)
    assert err.value.details["field"] == field


def test_password_is_hashed_and_login_works(tiny_con) -> None:
    auth.create_user(tiny_con, "lanhdao", PASSWORD, "viewer", "Lãnh đạo")
    stored = tiny_con.execute("SELECT password_hash FROM users WHERE username = 'lanhdao'").fetchone()[0]
    assert stored.startswith("$argon2") and PASSWORD not in stored
    token, user = auth.login(tiny_con, "LanhDao ", PASSWORD, now=NOW)
    assert user == auth.User("lanhdao", "Lãnh đạo", "viewer")
    assert auth.session_user(tiny_con, token, now=NOW + dt.timedelta(hours=1)) == user
    assert token not in str(tiny_con.execute("SELECT * FROM sessions").fetchall())  # only a hash is kept


def test_duplicate_user_is_refused(tiny_con) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    with pytest.raises(AuthError):
        auth.create_user(tiny_con, "canbo", PASSWORD, "viewer")


def test_wrong_password_and_unknown_user_get_the_same_message(tiny_con) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    messages = []
    for name, pw in (("canbo", "sai-mat-khau-roi"), ("khongco", PASSWORD)):
        with pytest.raises(AuthError) as err:
            auth.login(tiny_con, name, pw, now=NOW)
        messages.append(err.value.message)
    assert messages[0] == messages[1]


def test_sessions_expire(tiny_con) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    token, _ = auth.login(tiny_con, "canbo", PASSWORD, now=NOW)
    assert auth.session_user(tiny_con, token, now=NOW + dt.timedelta(hours=auth.SESSION_HOURS, seconds=1)) is None
    assert auth.session_user(tiny_con, "made-up-token", now=NOW) is None


def test_failed_logins_are_rate_limited_and_logged(tiny_con) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    for i in range(auth.MAX_FAILURES):
        with pytest.raises(AuthError):
            auth.login(tiny_con, "canbo", "sai-mat-khau-roi", now=NOW + dt.timedelta(seconds=i))
    with pytest.raises(AuthError) as err:  # even the right password is refused while locked
        auth.login(tiny_con, "canbo", PASSWORD, now=NOW + dt.timedelta(minutes=1))
    assert err.value.details["reason"] == "rate_limited"
    token, _ = auth.login(tiny_con, "canbo", PASSWORD, now=NOW + dt.timedelta(minutes=auth.LOCK_MINUTES + 1))
    assert token
    actions = [r[0] for r in tiny_con.execute("SELECT action FROM audit_log ORDER BY rowid").fetchall()]
    assert actions.count("login_failed") == auth.MAX_FAILURES
    assert "login_locked" in actions and actions[-1] == "login" and actions[0] == "user_added"


def test_disabled_user_cannot_log_in_and_loses_sessions(tiny_con) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    token, _ = auth.login(tiny_con, "canbo", PASSWORD, now=NOW)
    auth.set_disabled(tiny_con, "canbo", True)
    assert auth.session_user(tiny_con, token, now=NOW) is None
    with pytest.raises(AuthError):
        auth.login(tiny_con, "canbo", PASSWORD, now=NOW)


@pytest.mark.parametrize("role,action,ok", [
    ("public", "public_summary", True), ("public", "overview", False), ("viewer", "overview", True),
    ("viewer", "plan_quotas", False), ("planner", "plan_quotas", True), ("planner", "manage_users", False),
    ("planner", "import_data", False), ("clerk", "import_data", True), ("clerk", "approve_plans", False),
    ("admin", "manage_users", True), ("admin", "approve_plans", True), ("admin", "import_data", True),
])
def test_permissions(role: str, action: str, ok: bool) -> None:
    assert auth.allowed(auth.User("u", "u", role), action) is ok


def test_accounts_and_audit_survive_a_rebuild(tiny_db: Settings) -> None:
    tiny_con = db.open_connection(tiny_db.db_path)
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    tiny_con.close()
    assert warehouse.build(tiny_db, force=True).built
    tiny_con = db.open_connection(tiny_db.db_path)
    assert [u[0] for u in auth.list_users(tiny_con)] == ["canbo"]
    assert tiny_con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 1
    tiny_con.close()


def test_cli_users(tiny_db: Settings, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("XKLD_DB", str(tiny_db.db_path))
    assert main(["users", "bootstrap"]) == 0
    first = capsys.readouterr().out
    assert "admin" in first and "chỉ hiện một lần" in first
    assert main(["users", "bootstrap"]) == 0 and capsys.readouterr().out == ""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "kehoach", "--role", "planner", "--password-stdin"]) == 0
    assert main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "kehoach" in listing and "planner" in listing
    monkeypatch.setattr("sys.stdin", io.StringIO("ngan\n"))
    assert main(["users", "add", "ngan", "--role", "viewer", "--password-stdin"]) == 2
    assert "Mật khẩu cần ít nhất" in capsys.readouterr().err


@pytest.mark.parametrize("name,password", [("x'; DROP TABLE users; --", "' OR '1'='1"),
                                           ("../../etc/passwd", "a" * 10_000), ("admin" * 500, "")])
def test_hostile_logins_change_nothing(tiny_con, name: str, password: str) -> None:
    auth.create_user(tiny_con, "canbo", PASSWORD, "planner")
    with pytest.raises(AuthError) as err:
        auth.login(tiny_con, name, password, now=NOW)
    assert err.value.message == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert [u[0] for u in auth.list_users(tiny_con)] == ["canbo"]
