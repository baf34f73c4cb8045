"""Users, roles, sessions, login rate-limiting and the audit log (no Streamlit here).

Roles, from least to most: ``public`` (no login: the public summary screen only), ``viewer``
(leaders: the internal maps), ``planner`` (quota plans), ``clerk`` (data imports), ``admin``
(users and reference tables; may do everything). Pages and actions ask :func:`allowed`; the check
runs in the page's server-side script, so typing a page's URL does not get around it.

Passwords are hashed with Argon2 (argon2-cffi); sessions are random tokens that expire; failed
logins are counted per user name and a burst of failures locks the name for a while; logins,
imports, approvals and reference edits are written to ``audit_log``.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from xkld_geo import db
from xkld_geo.errors import AuthError

ROLES: dict[str, str] = {"public": "Công chúng", "viewer": "Lãnh đạo (xem)", "planner": "Cán bộ kế hoạch",
                         "clerk": "Cán bộ nhập liệu", "admin": "Quản trị"}
PERMISSIONS: dict[str, frozenset[str]] = {
    "public_summary": frozenset(ROLES),
    "overview": frozenset({"viewer", "planner", "clerk", "admin"}),
    "programme": frozenset({"viewer", "planner", "clerk", "admin"}),
    "plan_quotas": frozenset({"planner", "admin"}),
    "approve_plans": frozenset({"admin"}),
    "import_data": frozenset({"clerk", "admin"}),
    "edit_reference": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
}
"""Action → roles allowed to do it."""

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
SESSION_HOURS = 8

DDL = """
CREATE TABLE IF NOT EXISTS users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash VARCHAR PRIMARY KEY,     -- SHA-256 of the token: a leaked table opens no session
    username VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS login_attempts (
    username VARCHAR NOT NULL,
    at_time TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_log (
    at_time TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,          -- 'public' / 'cli' where nobody is logged in
    action VARCHAR NOT NULL,            -- login, login_failed, logout, user_added, import, approve, ...
    target VARCHAR,
    detail VARCHAR
);
"""

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    """A logged-in user."""

    username: str
    display_name: str
    role: str


PUBLIC = User("public", "Khách", "public")


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the user, session and audit tables if missing."""
    db.execute(con, "auth_tables", DDL)


def allowed(user: User, action: str) -> bool:
    """Whether ``user`` may do ``action`` (a key of :data:`PERMISSIONS`)."""
    if action not in PERMISSIONS:
        raise KeyError(action)
    return user.role == "admin" or user.role in PERMISSIONS[action]


def audit(con: duckdb.DuckDBPyConnection, username: str, action: str, target: str | None = None,
          detail: str | None = None, now: dt.datetime | None = None) -> None:
    """Append one line to the audit log (append-only: nothing updates or deletes it)."""
    db.execute(con, "audit", "INSERT INTO audit_log VALUES ($at, $u, $a, $t, $d)",
               {"at": now or dt.datetime.now(), "u": username, "a": action, "t": target,
                "d": (detail or "")[:2000] or None})


def create_user(con: duckdb.DuckDBPyConnection, username: str, password: str, role: str,
                display_name: str | None = None, by: str = "cli") -> User:
    """Add a user after checking the name, the role and the password's length."""
    if not USERNAME.match(username or ""):
        raise AuthError("Tên đăng nhập cần 3–32 ký tự: chữ thường không dấu, số, dấu chấm, gạch.",
                        field="username", value=username)
    if role not in ROLES or role == "public":
        raise AuthError(f"Vai trò '{role}' không hợp lệ; chọn một trong: viewer, planner, clerk, admin.",
                        field="role", value=role, allowed=[r for r in ROLES if r != "public"])
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.", field="password")
    exists = db.run(con, "user_exists", "SELECT 1 FROM users WHERE username = $u", {"u": username})
    if len(exists):
        raise AuthError(f"Tài khoản '{username}' đã có.", field="username", value=username)
    name = (display_name or username)[:100]
    db.execute(con, "user_add", "INSERT INTO users VALUES ($u, $n, $r, $h, $at, FALSE)",
               {"u": username, "n": name, "r": role, "h": _hasher.hash(password), "at": dt.datetime.now()})
    audit(con, by, "user_added", username, f"role={role}")
    return User(username, name, role)


def list_users(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, bool]]:
    """(username, display name, role, disabled) of every user."""
    df = db.run(con, "users_list", "SELECT username, display_name, role, disabled FROM users ORDER BY 1")
    return list(df.itertuples(index=False, name=None))


def set_disabled(con: duckdb.DuckDBPyConnection, username: str, disabled: bool, by: str = "cli") -> None:
    """Disable (or enable again) a user; their open sessions end."""
    db.execute(con, "user_disable", "UPDATE users SET disabled = $d WHERE username = $u",
               {"d": disabled, "u": username})
    db.execute(con, "sessions_end", "DELETE FROM sessions WHERE username = $u", {"u": username})
    audit(con, by, "user_disabled" if disabled else "user_enabled", username)


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def _recent_failures(con: duckdb.DuckDBPyConnection, username: str, now: dt.datetime) -> int:
    df = db.run(con, "login_failures", """
        SELECT count(*) AS n FROM login_attempts
        WHERE username = $u AND NOT ok AND at_time > $since
          AND at_time > COALESCE((SELECT max(at_time) FROM login_attempts WHERE username = $u AND ok), TIMESTAMP '1970-01-01')""",
                {"u": username, "since": now - dt.timedelta(minutes=LOCK_MINUTES)})
    return int(df["n"].iloc[0])


def login(con: duckdb.DuckDBPyConnection, username: str, password: str,
          now: dt.datetime | None = None, hours: float = SESSION_HOURS) -> tuple[str, User]:
    """Check a password and open a session; returns (token, user) or raises :class:`AuthError`.

    The message never says whether the name exists. After :data:`MAX_FAILURES` failures within
    :data:`LOCK_MINUTES` minutes the name is refused until that window has passed.
    """
    now = now or dt.datetime.now()
    username = (username or "").strip().lower()[:64]
    if _recent_failures(con, username, now) >= MAX_FAILURES:
        audit(con, username or "?", "login_locked", now=now)
        raise AuthError(f"Đăng nhập sai quá {MAX_FAILURES} lần; tài khoản tạm khóa {LOCK_MINUTES} phút.",
                        field="username", reason="rate_limited")
    row = db.run(con, "user_get", "SELECT display_name, role, password_hash, disabled FROM users "
                                  "WHERE username = $u", {"u": username})
    ok = False
    if len(row) and not bool(row["disabled"].iloc[0]):
        try:
            ok = _hasher.verify(row["password_hash"].iloc[0], password or "")
        except (VerificationError, InvalidHashError):
            ok = False
    db.execute(con, "login_attempt", "INSERT INTO login_attempts VALUES ($u, $at, $ok)",
               {"u": username, "at": now, "ok": ok})
    if not ok:
        audit(con, username or "?", "login_failed", now=now)
        raise AuthError("Tên đăng nhập hoặc mật khẩu không đúng.", field="password", reason="bad_credentials")
    token = secrets.token_urlsafe(32)
    db.execute(con, "session_open", "INSERT INTO sessions VALUES ($t, $u, $at, $exp)",
               {"t": _token_hash(token), "u": username, "at": now, "exp": now + dt.timedelta(hours=hours)})
    audit(con, username, "login", now=now)
    return token, User(username, row["display_name"].iloc[0], row["role"].iloc[0])


def session_user(con: duckdb.DuckDBPyConnection, token: str | None,
                 now: dt.datetime | None = None) -> User | None:
    """The user of a live session, or None (no token, unknown, expired or disabled)."""
    if not token:
        return None
    df = db.run(con, "session_get", """
        SELECT u.username, u.display_name, u.role FROM sessions s JOIN users u USING (username)
        WHERE s.token_hash = $t AND s.expires_at > $now AND NOT u.disabled""",
                {"t": _token_hash(token), "now": now or dt.datetime.now()})
    if not len(df):
        return None
    return User(*df.iloc[0].tolist())


def logout(con: duckdb.DuckDBPyConnection, token: str | None) -> None:
    """End a session."""
    if token:
        user = session_user(con, token)
        db.execute(con, "session_end", "DELETE FROM sessions WHERE token_hash = $t", {"t": _token_hash(token)})
        if user:
            audit(con, user.username, "logout")


def bootstrap_admin(con: duckdb.DuckDBPyConnection) -> str | None:
    """Create the first administrator with a random password when there are no users yet.

    Returns the password (to print once) or None when users exist already.
    """
    if len(db.run(con, "users_any", "SELECT 1 FROM users LIMIT 1")):
        return None
    password = secrets.token_urlsafe(12)
    create_user(con, "admin", password, "admin", "Quản trị viên", by="bootstrap")
    return password


def audit_entries(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """The newest lines of the audit log."""
    return db.run(con, "audit_entries", """
        SELECT at_time AS "Thời điểm", username AS "Tài khoản", action AS "Việc", target AS "Đối tượng",
               detail AS "Chi tiết" FROM audit_log ORDER BY at_time DESC LIMIT $n""", {"n": int(limit)})
