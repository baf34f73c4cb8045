"""Tổng quan (overview for leaders' meetings): attainment map, headline, ranking and trend."""
from __future__ import annotations

from xkld_geo import ui
from xkld_geo.views import overview

ui.setup_page("Tổng quan")


def render() -> None:
    """Check the role, read the controls, build the overview, render it."""
    ui.require("overview")
    request = ui.overview_request()
    present, _, _ = ui.presentation_controls()
    if not present:
        ui.title("Xuất khẩu lao động: tiến độ chỉ tiêu")
    view = overview.build_overview(ui.connection(), request, ui.settings().static_url,
                                   ui.settings().effective_today, ui.settings().report_due_day)
    ui.render_overview(view, present)


ui.guarded(render)
