"""The application assembled: what each domain package adds to the shared layers, registered once.

The data intake (:mod:`xkld_geo.intake`) imports no domain package; the packages that own a kind
of report, or must hear of every import, register with :mod:`xkld_geo.intake.registry` here, in
this order (checks and hooks run in it): the reporting cycle (approval lock, receipts, profiles,
approval states), the recruitment pipeline's kinds, protection's kinds, the people-in-charge
template; and the notifications hear of the approval decisions (:func:`xkld_geo.reporting.approval.on_review`). Importing this module registers them (once per process); the command line, the app's
pages (through :mod:`xkld_geo.ui`) and the tests import it, and an import refuses to run before it
(:func:`xkld_geo.intake.registry.require`).
"""
from __future__ import annotations

from xkld_geo.intake import registry
from xkld_geo.notifications import notices
from xkld_geo.pipeline import imports as pipeline_imports
from xkld_geo.protection import intake as protection_intake
from xkld_geo.reporting import approval, people
from xkld_geo.reporting import intake as reporting_intake


def install() -> None:
    """Register every domain package's kinds and hooks with the intake (a second call does nothing)."""
    if not registry.registered("xkld_geo"):
        return
    reporting_intake.register_with_intake()
    pipeline_imports.register_with_intake()
    protection_intake.register_with_intake()
    people.register_with_intake()
    approval.on_review(notices.notify_review)   # the submitter hears of the decision


install()
