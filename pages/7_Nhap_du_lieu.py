"""Nhập dữ liệu: templates and imports of commune and company reports (data clerks, administrators)."""
from __future__ import annotations

from xkld_geo import ui

ui.setup_page("Nhập dữ liệu")


def render() -> None:
    """Check the role, then render the import page."""
    user = ui.require("import_data")
    ui.title("Nhập báo cáo của xã và doanh nghiệp")
    ui.render_imports(user)


ui.guarded(render)
