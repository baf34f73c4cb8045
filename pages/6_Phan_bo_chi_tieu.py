"""Phân bổ chỉ tiêu: the planners' quota allocation workbench (planners and administrators)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Phân bổ chỉ tiêu")


def render() -> None:
    """Check the role, read the shared filters, render the workbench."""
    user = ui.require("plan_quotas")
    ui.title("Phân bổ chỉ tiêu cho các xã")
    ui.render_workbench(ui.filters(), user)


ui.guarded(render)
