"""Individual worker registers: a keyed hash instead of the citizen ID, and deduplication.

Registers list one worker per row with the citizen ID number (CCCD). The number is needed only to
recognise the same worker reported twice (by the commune and by the company), so the database never
sees it: each number becomes a keyed BLAKE2b hash whose key lives outside the database (a setting
or a key file), so a copied database file cannot be turned back into ID numbers by trying every
possible number. A worker is identified by (hash, year of departure): contracts run three to five
years, so one person does not leave twice in a year, while the commune and the company may date
the same departure a few days apart.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

import duckdb
import pandas as pd

from xkld_geo.database import db
from xkld_geo.errors import ConfigError, IngestError
from xkld_geo.settings import Settings

KEY_CHECK_LABEL = b"xkld-geo key check"




def secret_key(settings: Settings) -> bytes:
    """The ID-hash key: from the setting, else from the key file (created, mode 600, if absent)."""
    text = settings.id_key
    if text is None:
        path = Path(settings.id_key_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
        text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16 or len(key) > 64:
        raise ConfigError("Khóa băm số CCCD phải là chuỗi hex 32–128 ký tự (XKLD_ID_KEY hoặc tệp khóa).",
                          setting="id_key", allowed="hex, 32–128 ký tự")
    return key


def key_check(key: bytes) -> str:
    """A short fingerprint of the key, stored with each register import to notice a changed key."""
    return hashlib.blake2b(KEY_CHECK_LABEL, key=key, digest_size=8).hexdigest()


def person_keys(ids: pd.Series, key: bytes) -> pd.Series:
    """Keyed 128-bit hashes of ID numbers (digits only, already checked)."""
    return ids.map(lambda number: hashlib.blake2b(number.encode(), key=key, digest_size=16).hexdigest())


def check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Refuse to go on when earlier registers were hashed with another key (dedup would fail)."""
    used = db.run(con, "register_key_checks", """
        SELECT DISTINCT key_check FROM import_log WHERE key_check IS NOT NULL""")["key_check"].tolist()
    if used and key_check(key) not in used:
        raise IngestError("Khóa băm số CCCD khác khóa đã dùng cho các danh sách trước; nếu nhập tiếp, người "
                          "đã báo cáo sẽ bị đếm hai lần. Hãy khôi phục tệp khóa cũ (XKLD_ID_KEY_FILE).",
                          field="id_key", reason="key_changed")


def split_new(con: duckdb.DuckDBPyConnection, entries: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Sort incoming entries (unique per person and year) against the stored ones.

    Returns ``new`` (to insert), ``present`` (the same reporter sent them before: a re-import) and
    ``merged`` (another reporter already reported this worker: a duplicate across reports).
    """
    with db.registered(con, "reg_incoming", entries):
        known = db.run(con, "register_known", """
            SELECT i.person_key, i.year, r.reporter AS stored_reporter
            FROM reg_incoming i JOIN register_entries r USING (person_key, year)""")
    flagged = entries.merge(known, on=["person_key", "year"], how="left")
    stored = flagged["stored_reporter"].notna()
    same = stored & (flagged["stored_reporter"] == flagged["reporter"])
    cols = list(entries.columns)
    return {"new": flagged.loc[~stored, cols], "present": flagged.loc[same, cols],
            "merged": flagged.loc[stored & ~same, cols]}


def insert(con: duckdb.DuckDBPyConnection, entries: pd.DataFrame) -> None:
    """Store new entries (caller holds the transaction)."""
    with db.registered(con, "reg_new", entries):
        db.execute(con, "register_insert", """
            INSERT INTO register_entries SELECT person_key, year, month, commune_code, market, sex, channel,
                   priority_group, reporter, import_id FROM reg_new""")
        if "groups" in entries:   # every group of each worker (multi-membership), 'khac' is none
            db.execute(con, "register_groups_insert", """
                INSERT INTO worker_groups SELECT DISTINCT person_key, year, unnest(string_split(groups, ';'))
                FROM reg_new WHERE groups <> 'khac' ON CONFLICT DO NOTHING""")


def departures_for(con: duckdb.DuckDBPyConnection, scopes: pd.DataFrame) -> pd.DataFrame:
    """Departures rebuilt from every stored register entry of the (month, commune) ``scopes``."""
    with db.registered(con, "reg_scopes", scopes[["month", "commune_code"]].drop_duplicates()):
        return db.run(con, "register_departures", """
            SELECT r.month, r.commune_code, r.market, r.sex, r.channel, r.priority_group,
                   CAST(count(*) AS INTEGER) AS departures
            FROM register_entries r JOIN reg_scopes s USING (month, commune_code)
            GROUP BY ALL""")
