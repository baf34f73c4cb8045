"""Typed errors of XKLĐ-Geo: each carries what a person needs to fix the input.

Every error has a Vietnamese ``message`` that a page can show as is (``st.error``) and a
``details`` mapping (file, row, field, allowed values, numbers) for logs and tests.
"""
from __future__ import annotations

from typing import Any


class XkldError(Exception):
    """Base class; ``message`` is Vietnamese text fit to show a user as is."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(XkldError):
    """A setting has a value that cannot be used (details: setting, value, allowed)."""


class DataMissingError(XkldError):
    """A required data file is not in any data directory (details: missing, searched)."""


class IngestError(XkldError):
    """An input file is unusable (details: file, row, field, reason, allowed)."""


class BoundaryError(IngestError):
    """A boundary file fails a check: columns, CRS, geometry or code format."""


class DatabaseError(XkldError):
    """The DuckDB file is missing, locked, or lacks a table (details: path, table)."""


class QueryError(XkldError):
    """A query was asked for something outside its whitelist (details: field, value, allowed)."""


class AllocationError(XkldError):
    """An allocation cannot satisfy its constraints (details: constraint, numbers, codes)."""


class AuthError(XkldError):
    """A login, session or permission problem (details: field, reason)."""


class PlanError(XkldError):
    """A quota plan cannot be saved, approved or edited (details: plan, field, reason)."""


class ReferenceDataError(XkldError):
    """An edit of reference data (markets, companies, notices) refused: rows, fields, allowed values."""


class PublishError(XkldError):
    """The static release could not be written (no data to publish, or the folder is not writable)."""


class CaseError(XkldError):
    """A protection case cannot be recorded or moved (details: case, field, value, allowed)."""


class ScopeError(XkldError):
    """An act outside the account's scope (details: unit, scope, row, field, reason 'out_of_scope'),
    or an organisation unit that does not exist."""


class ApprovalError(XkldError):
    """A commune-month cannot move to the asked state, or is locked (details: unit, month, state)."""
