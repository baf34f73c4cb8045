"""The declaration of one table (:class:`Table`); the declarations themselves are in
:mod:`xkld_geo.database.schema.derived` and :mod:`xkld_geo.database.schema.operational`."""
from __future__ import annotations

from dataclasses import dataclass

KINDS = ("derived", "operational", "edited")


@dataclass(frozen=True)
class Table:
    """One table: its name, what a rebuild does with it (:data:`KINDS`), its key and its DDL."""

    name: str
    kind: str
    key: tuple[str, ...] = ()       # for 'edited' tables: the rows an administrator's edit replaces
    ddl: str = ""
    indexes: tuple[str, ...] = ()   # CREATE INDEX IF NOT EXISTS statements
    written: bool = False           # 'derived', yet imports or approvals write it at run time (entered
                                    # figures): with the shared store it lives in PostgreSQL

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert f"CREATE TABLE IF NOT EXISTS {self.name} (" in self.ddl, self.name
