"""Tình hình báo cáo: which communes sent their monthly reports, on time or late (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Tình hình báo cáo")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("programme")
    ui.title("Tình hình báo cáo của các xã")
    ui.render_completeness(ui.filters())


ui.guarded(render)
