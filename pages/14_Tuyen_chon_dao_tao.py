"""Tuyển chọn, đào tạo: from the job fair to departure, orders, training and labour demand (viewers and above)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Tuyển chọn, đào tạo")


def render() -> None:
    """Check the role, read the shared filters, render the four tabs."""
    ui.require("programme")
    ui.title("Tuyển chọn, đào tạo: từ sàn việc làm đến xuất cảnh")
    ui.render_pipeline(ui.filters())


ui.guarded(render)
