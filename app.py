"""Tổng quan: quota attainment by province, or by commune within a chosen province."""
from __future__ import annotations

from xkld_geo import overview, ui

ui.setup_page("Tổng quan")


def render() -> None:
    """Read the year and province, build the overview, render it."""
    ui.title("Xuất khẩu lao động: hoàn thành chỉ tiêu")
    with ui.sidebar():
        year = ui.year_select()
        province = ui.province_select()
    view = overview.build_overview(ui.connection(), year, province, ui.settings().static_url)
    ui.render_overview(view, province)


ui.guarded(render)
