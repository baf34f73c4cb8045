"""Dự báo cuối năm: year-end forecasts with their range and what it takes to reach the quota
(everyone who may see the overview)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Dự báo cuối năm")


def render() -> None:
    """Check the role, read the shared filters, render the page."""
    ui.require("overview")
    ui.title("Dự báo cuối năm: có đạt chỉ tiêu không?")
    ui.render_outlook(ui.filters())


ui.guarded(render)
