"""The intake registry: the kinds the domain packages add to the data intake, and their hooks.

The intake (:mod:`xkld_geo.intake`) owns reading, checking cells, finding communes, scope, the
statistical reports' writes and the import log; it imports no domain package. A package that
owns a kind of report, or that must hear of every import, registers it here instead:

- :func:`add_kind` puts a kind into :data:`xkld_geo.intake.kinds.KINDS` (the recruitment pipeline's
  orders, interviews and courses; protection's cases, clubs and returnees), with how its rows
  are planned and written when that is not the statistics' way (:mod:`xkld_geo.intake.writes`);
- :func:`add_other_kind` declares a template imported outside the report intake (people in charge);
- :func:`add_check` adds problems of the rows of a kind (protection's cases, approval's lock of a
  commune-month), run after the cell, unit and scope checks, in the order registered;
- :func:`add_lookups` adds named value lists the cell checks read (occupations, order statuses...);
- :func:`add_after_write` runs in the import's transaction after its rows were written (receipts,
  departure profiles, approval states), in the order registered.

Registration happens once per process, before any import, by :mod:`xkld_geo.registrations` (the
command line, the app's pages and the tests import it); :func:`require` refuses to import while
nothing has been registered, so an import can never run without the approval lock.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import pandas as pd

from xkld_geo.errors import ConfigError
from xkld_geo.intake import kinds
from xkld_geo.intake.columns import Kind


@dataclass(frozen=True)
class Rows:
    """The checked rows of one import, as the hooks see them: the cells as read (``frame``), the
    parsed values by column key (``values``, with ``commune_code`` when the kind names communes)
    and each row's period start (``period``)."""

    kind: Kind
    frame: pd.DataFrame
    values: pd.DataFrame
    period: pd.Series
    today: dt.date

    @property
    def unit_field(self) -> str:
        """The header of the column that named the commune (for the problems about it)."""
        return self.kind.column("ma_xa").header if "ma_xa" in self.frame else self.kind.column("ten_xa").header


@dataclass(frozen=True)
class Written:
    """What one import wrote, for the hooks that follow it in its transaction."""

    kind: str
    scopes: pd.DataFrame
    import_id: int
    today: dt.date
    user: str
    via: str
    """``import`` (a file) or ``form`` (a page's form through the same checks)."""


Check = Callable[[duckdb.DuckDBPyConnection, Rows], pd.DataFrame]
"""Problems of the rows (row, field, value, reason), empty when none."""
Planner = Callable[[duckdb.DuckDBPyConnection, Rows, pd.DataFrame], Any]
"""A kind's plan from its rows and the problems found so far (a :class:`xkld_geo.intake.writes.Plan`)."""
Writer = Callable[[duckdb.DuckDBPyConnection, Any, int, str], Any]
"""A kind's write of its plan under an import number, for a user (a :class:`~xkld_geo.intake.writes.WriteResult`)."""
AfterWrite = Callable[[duckdb.DuckDBPyConnection, Written], None]


@dataclass(frozen=True)
class Handling:
    """How the rows of a registered kind are planned and written (None: the statistics' way)."""

    plan: Planner | None = None
    write: Writer | None = None


_handling: dict[str, Handling] = {}
_checks: dict[str, list[Check]] = {}
_after_write: list[AfterWrite] = []
_owners: set[str] = set()
OTHER_KINDS: dict[str, Kind] = {}
"""Templates imported outside the report intake (not in ``KINDS``), by key."""
LOOKUPS: dict[str, tuple[dict[str, str], dict[str, str], str]] = {}
"""Column type → (word → code, code → label, what it is): lists the cell checks read by name."""


def add_kind(k: Kind, plan: Planner | None = None, write: Writer | None = None) -> None:
    """Make ``k`` a kind of report the intake accepts, planned and written by ``plan``/``write``
    when given (else as the statistics are)."""
    kinds.KINDS[k.key] = k
    _handling[k.key] = Handling(plan, write)


def add_other_kind(k: Kind) -> None:
    """Declare a template imported by its own page, outside the report intake."""
    OTHER_KINDS[k.key] = k


def add_check(kind_keys: Any, check: Check) -> None:
    """Run ``check`` on the rows of each kind in ``kind_keys`` (a kind may be registered later)."""
    for key in kind_keys:
        _checks.setdefault(key, []).append(check)


def add_lookups(lookups: dict[str, tuple[dict[str, str], dict[str, str], str]]) -> None:
    """Named value lists for the cell checks (a column of that type is read through it)."""
    LOOKUPS.update(lookups)


def add_after_write(hook: AfterWrite) -> None:
    """Run ``hook`` after every import that kept a row, in its transaction."""
    _after_write.append(hook)


def registered(owner: str) -> bool:
    """Mark ``owner``'s registrations as done; False when they were already (register once)."""
    if owner in _owners:
        return False
    _owners.add(owner)
    return True


def require() -> None:
    """Refuse to import while no domain package has registered (the approval lock would be missed)."""
    if not _owners:
        raise ConfigError("Chưa nạp các loại báo cáo của ứng dụng (xkld_geo.registrations); "
                        "chưa thể nhập dữ liệu.", reason="intake_not_registered")


def handling(key: str) -> Handling:
    """How kind ``key`` is planned and written."""
    return _handling.get(key, Handling())


def checks_of(key: str) -> tuple[Check, ...]:
    """The registered checks of kind ``key``, in order."""
    return tuple(_checks.get(key, ()))


def after_write() -> tuple[AfterWrite, ...]:
    """The hooks run after an import wrote, in order."""
    return tuple(_after_write)
