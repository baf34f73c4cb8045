"""Tổng quan (overview for leaders' meetings): attainment map, headline, ranking and trend."""
from __future__ import annotations

from xkld_geo import ui
from xkld_geo.views import overview

ui.setup_page("Tổng quan")


def render() -> None:
    """Check the role, read the sidebar's controls, then draw the overview's own part."""
    ui.require("overview")
    indicator = ui.overview_indicator()
    present, _, _ = ui.presentation_controls()
    if not present:
        ui.title("Xuất khẩu lao động: tiến độ chỉ tiêu")
    body(indicator, present)


@ui.fragment("overview")
def body(indicator: str, present: bool) -> None:
    """Read the period and unit, build the overview, render it: a new year, month or unit reruns this part alone."""
    request = ui.overview_request(indicator)
    view = overview.build_overview(ui.connection(), request, ui.settings().static_url,
                                   ui.settings().effective_today, ui.settings().report_due_day)
    ui.render_overview(view, present)


ui.guarded(render)
