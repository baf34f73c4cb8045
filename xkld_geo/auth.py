"""Users, roles, sessions, login rate-limiting and the audit log (no Streamlit here).

Roles, from least to most: ``public`` (no login: the public summary screen only), ``viewer``
(leaders: the internal maps), ``planner`` (quota plans), ``clerk`` (data imports), ``admin``
(users and reference tables; may do everything). Pages and actions ask :func:`allowed`; the check
runs in the page's server-side script, so typing a page's URL does not get around it.

Passwords are hashed with Argon2 (argon2-cffi); sessions are random tokens that expire. Failed
logins slow down the source they come from, the name from that source, and (more gently) the name
from everywhere, with exponential backoff instead of a lock (:func:`throttle`). The name-wide wait
only ever holds back sources that have failed themselves: a source with no recent failure always
has its password checked, so strangers guessing a name from any number of machines never keep its
owner out from another. A second factor (TOTP, :mod:`xkld_geo.second_factor`) is offered to every
account and required for administrators, so a guessed password alone is not enough. Known and
unknown names cost the same Argon2 check, so timing does not tell which names exist, and the
failure history is pruned to a bound. Logins, imports, approvals and reference edits are written
to ``audit_log``.
"""
from __future__ import annotations

import datetime as dt
import math
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
    "handle_cases": frozenset({"planner", "admin"}),   # move cases, read their internal notes
    "approve_plans": frozenset({"admin"}),
    "import_data": frozenset({"clerk", "admin"}),
    "edit_reference": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
}
"""Action → roles allowed to do it."""

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")
MIN_PASSWORD = 10
SESSION_HOURS = 8

FREE_FAILURES = {"source": 3, "pair": 3, "name": 20}
"""Failures allowed before a wait is imposed, per kind of key: the source (an address), the name
from that source, and the name from every source (a distributed guess). The name-wide wait applies
only to sources with failures of their own (see :func:`throttle`)."""
BAD_CREDENTIALS = "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
"""The one message of every refused login that was checked: it never says which part was wrong."""
MAX_DELAY_FACTOR = {"source": 1.0, "pair": 1.0, "name": 0.1}
"""Share of the ``login_delay_max_s`` setting a key's wait may reach (the name-wide wait stays short)."""
WINDOW = dt.timedelta(hours=24)
"""Failures older than this no longer count (and are pruned)."""
UNKNOWN_SOURCE = "?"


_hasher = PasswordHasher()
_dummy_hash: list[str] = []


def _dummy() -> str:
    """A hash of a random password, checked for unknown or disabled names so that they cost the
    same time as a known one (made once, on first use)."""
    if not _dummy_hash:
        _dummy_hash.append(_hasher.hash(secrets.token_urlsafe(16)))
    return _dummy_hash[0]


@dataclass(frozen=True)
class User:
    """A logged-in user."""

    username: str
    display_name: str
    role: str


PUBLIC = User("public", "Khách", "public")




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


def _limits() -> tuple[float, float, int]:
    from xkld_geo.settings import current

    cfg = current()
    return cfg.login_delay_base_s, cfg.login_delay_max_s, cfg.login_failures_kept



def _failures(con: duckdb.DuckDBPyConnection, username: str, source: str,
              now: dt.datetime) -> dict[str, tuple[int, dt.datetime | None]]:
    """(failures since the key's last success within :data:`WINDOW`, time of the newest) per key."""
    df = db.run(con, "login_failures", """
        WITH recent AS (SELECT * FROM login_attempts WHERE at_time > $since),
        keys AS (
            SELECT 'source' AS kind, * FROM recent WHERE source = $s
            UNION ALL SELECT 'pair', * FROM recent WHERE source = $s AND username = $u
            UNION ALL SELECT 'name', * FROM recent WHERE username = $u)
        SELECT kind, count(*) FILTER (WHERE NOT ok) AS n, max(at_time) FILTER (WHERE NOT ok) AS last
        FROM keys k
        WHERE at_time > COALESCE((SELECT max(at_time) FROM keys o WHERE o.kind = k.kind AND o.ok),
                                 TIMESTAMP '1970-01-01')
        GROUP BY kind""", {"since": now - WINDOW, "s": source, "u": username})
    found = {r.kind: (int(r.n), None if pd.isna(r.last) else r.last.to_pydatetime())
             for r in df.itertuples(index=False)}
    return {kind: found.get(kind, (0, None)) for kind in FREE_FAILURES}


def wait_seconds(failures: dict[str, tuple[int, dt.datetime | None]], now: dt.datetime,
                 base: float, cap: float) -> float:
    """How long the next attempt must still wait: for each key past its free failures, ``base``
    doubled per further failure (capped), counted from that key's newest failure."""
    wait = 0.0
    for kind, (n, last) in failures.items():
        extra = n - FREE_FAILURES[kind]
        if extra < 0 or last is None:
            continue
        delay = min(cap * MAX_DELAY_FACTOR[kind], base * 2 ** min(extra, 30))
        wait = max(wait, delay - (now - last).total_seconds())
    return wait


def _prune(con: duckdb.DuckDBPyConnection, failures: dict[str, tuple[int, dt.datetime | None]],
           username: str, source: str, now: dt.datetime, kept: int) -> None:
    """Keep the failure history bounded: at most ``kept`` failures per name and per source (pruned
    when a key reaches it), and every :data:`PRUNE_EVERY` writes: nothing older than
    :data:`WINDOW`, one success per name, at most ``kept`` × 100 failures in all."""
    statements: list[tuple[str, str]] = []
    if failures["name"][0] >= kept:
        statements.append(("login_prune_name", """
            DELETE FROM login_attempts WHERE NOT ok AND username = $u AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok AND username = $u
                ORDER BY at_time DESC LIMIT 1 OFFSET $k)"""))
    if failures["source"][0] >= kept:
        statements.append(("login_prune_source", """
            DELETE FROM login_attempts WHERE NOT ok AND source = $s AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok AND source = $s
                ORDER BY at_time DESC LIMIT 1 OFFSET $k)"""))
    _writes[0] += 1
    if _writes[0] % PRUNE_EVERY == 0:
        statements += [
            ("login_prune_old", "DELETE FROM login_attempts WHERE at_time < $old AND NOT ok"),
            ("login_prune_ok", """DELETE FROM login_attempts a WHERE a.ok AND a.at_time < (
                SELECT max(b.at_time) FROM login_attempts b WHERE b.ok AND b.username = a.username)"""),
            ("login_prune_all", """DELETE FROM login_attempts WHERE NOT ok AND at_time < (
                SELECT at_time FROM login_attempts WHERE NOT ok ORDER BY at_time DESC LIMIT 1 OFFSET $all)""")]
    params = {"old": now - WINDOW, "u": username, "s": source, "k": max(1, kept) - 1, "all": max(1, kept) * 100 - 1}
    for name, sql in statements:
        db.execute(con, name, sql, {k: v for k, v in params.items() if f"${k}" in sql})


PRUNE_EVERY = 50
_writes = [0]


def throttle(failures: dict[str, tuple[int, dt.datetime | None]], now: dt.datetime, base: float,
             cap: float) -> float:
    """How long this attempt must wait before its password may even be checked (0: check it now).

    The source's own wait and the name-from-this-source wait always apply. The name-wide wait
    (failures for the name from every source) applies only when this source has failed since its
    last success: a source with a clean record always gets its password checked, so guesses from
    other machines, however many, cannot keep the owner out; the sources that guess are slowed
    down by the name-wide wait after their first failure."""
    own = wait_seconds({k: failures[k] for k in ("source", "pair")}, now, base, cap)
    if failures["source"][0] == 0:
        return own
    return max(own, wait_seconds({"name": failures["name"]}, now, base, cap))


def _refuse_wait(wait: float) -> AuthError:
    return AuthError(f"Đăng nhập sai nhiều lần; hãy thử lại sau {math.ceil(wait)} giây.",
                     field="username", reason="rate_limited", wait_s=math.ceil(wait))


def login(con: duckdb.DuckDBPyConnection, username: str, password: str,
          now: dt.datetime | None = None, hours: float = SESSION_HOURS,
          source: str | None = None, code: str | None = None) -> tuple[str, User]:
    """Check a password (and the one-time ``code`` of an account with a second factor) and open a
    session; returns (token, user) or raises :class:`AuthError`.

    ``source`` is the client's address (see ``ui.access``). The message never says whether the
    name exists or which part was wrong, and known, unknown and disabled names all cost one Argon2
    check. An attempt that :func:`throttle` holds back is refused without checking the password
    and without being recorded. An administrator without a second factor gets a session that can
    only enrol one (:func:`needs_enrolment`).
    """
    from xkld_geo import second_factor

    now = now or dt.datetime.now()
    username = (username or "").strip().lower()[:64]
    source = (source or UNKNOWN_SOURCE)[:64]
    base, cap, kept = _limits()
    failures = _failures(con, username, source, now)
    wait = throttle(failures, now, base, cap)
    if wait > 0:
        raise _refuse_wait(wait)
    row = db.run(con, "user_get", "SELECT display_name, role, password_hash, disabled FROM users "
                                  "WHERE username = $u", {"u": username})
    known = bool(len(row)) and not bool(row["disabled"].iloc[0])
    stored = row["password_hash"].iloc[0] if known else _dummy()
    try:
        ok = _hasher.verify(stored, password or "") and known
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and second_factor.enabled(con, username):
        ok = second_factor.check(con, username, code, now)
    db.execute(con, "login_attempt", "INSERT INTO login_attempts (username, at_time, ok, source) "
                                     "VALUES ($u, $at, $ok, $s)", {"u": username, "at": now, "ok": ok, "s": source})
    if not ok:
        if failures["source"][0] < kept:  # a long burst is audited once per series, not row by row
            audit(con, username or "?", "login_failed", detail=f"source={source}", now=now)
        _prune(con, failures, username, source, now, kept)
        raise AuthError(BAD_CREDENTIALS, field="password", reason="bad_credentials")
    token = secrets.token_urlsafe(32)
    db.execute(con, "session_open", "INSERT INTO sessions VALUES ($t, $u, $at, $exp)",
               {"t": _token_hash(token), "u": username, "at": now, "exp": now + dt.timedelta(hours=hours)})
    audit(con, username, "login", detail=f"source={source}", now=now)
    _prune(con, failures, username, source, now, kept)
    return token, User(username, row["display_name"].iloc[0], row["role"].iloc[0])


def needs_enrolment(con: duckdb.DuckDBPyConnection, user: User) -> bool:
    """Whether ``user`` must enrol a second factor before doing anything else (an administrator
    without a confirmed one)."""
    from xkld_geo import second_factor

    return second_factor.required(user.role) and not second_factor.enabled(con, user.username)


def session_user(con: duckdb.DuckDBPyConnection, token: str | None,
                 now: dt.datetime | None = None) -> User | None:
    """The user of a live session, or None (no token, unknown, expired or disabled)."""
    if not token:
        return None
    found = db.keyed(con, "session_get", """
        SELECT u.username, u.display_name, u.role FROM sessions s JOIN users u ON u.username = s.username
        WHERE s.token_hash = $t AND s.expires_at > $now AND NOT u.disabled""",
                     {"t": _token_hash(token), "now": now or dt.datetime.now()})
    return None if found is None else User(*found)


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
