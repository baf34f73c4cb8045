"""Báo cáo tháng của xã: the commune officer's monthly form, and the province's review of it."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Báo cáo tháng của xã")


def render() -> None:
    """Check the role, then render the form and/or the review queue (scope checked inside)."""
    user = ui.require("monthly_reports")
    ui.title("Báo cáo tháng của xã")
    ui.render_monthly(user)


ui.guarded(render)
