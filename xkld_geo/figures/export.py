"""Downloads for slides and reports: the ranking as XLSX and the current map as a PNG.

The PNG is drawn on the server with matplotlib from the same shapes, classes and colours as the
interactive map, so it needs no browser and no internet.
"""
from __future__ import annotations

import io
import json
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon

from xkld_geo import DEMO_LABEL  # noqa: E402
from xkld_geo.maps import (  # noqa: E402
    BACKGROUND,
    LEGENDS,
    MAINLAND_MAX_LON,
    NO_QUOTA,
    ChoroplethSpec,
    archipelagos,  # noqa: E402
)
from xkld_geo.text import formats, sheets  # noqa: E402


def ranking_xlsx(table: pd.DataFrame, title: str, demo: bool) -> bytes:
    """The ranking as an Excel workbook: a title row, the demo label, then the table.

    Codes are written as text so that leading zeros survive. Text is only ever text: a name that
    starts with ``=`` (or looks like a URL) is not turned into a formula or a link (see
    :data:`markup.XLSX_OPTIONS`).
    """
    buffer = io.BytesIO()
    with sheets.workbook(buffer) as book:
        sheet = sheets.add_sheet(book, "Xếp hạng")
        sheets.write(sheet, 0, 0, title, book.add_format({"bold": True, "font_size": 14}))
        if demo:
            sheets.write(sheet, 1, 0, f"{DEMO_LABEL}: số liệu do bộ sinh dữ liệu tạo ra, không phải số liệu thật.",
                         book.add_format({"italic": True, "font_color": "#664d03"}))
        sheets.write_frame(sheet, table, start_row=3)
        text = book.add_format({"num_format": "@"})
        if "Mã" in table.columns:
            col = table.columns.get_loc("Mã")
            for i, code in enumerate(table["Mã"], start=4):
                sheets.write(sheet, i, col, str(code), text)
        whole, decimal = (book.add_format({"num_format": f}) for f in (formats.XLSX_INT, formats.XLSX_DEC))
        for i, column in enumerate(table.columns):   # numbers stay numbers, shown in the reader's locale
            kind = table[column].dtype.kind
            sheet.set_column(i, i, 16, whole if kind in "iu" else decimal if kind == "f" else None)
        sheet.freeze_panes(4, 0)
    return buffer.getvalue()


def _rings(geojson: str) -> list[list[list[float]]]:
    geometry = json.loads(geojson)
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [ring for polygon in polygons for ring in polygon[:1]]  # outer rings are enough at this scale


def _patches(shapes: pd.DataFrame, colours: list[str]) -> tuple[list[MplPolygon], list[str]]:
    patches, faces = [], []
    for text, colour in zip(shapes["geojson"], colours):
        for ring in _rings(text):
            patches.append(MplPolygon(ring, closed=True))
            faces.append(colour)
    return patches, faces


def map_png(spec: ChoroplethSpec, title: str, width_px: int = 1600, dpi: int = 160) -> bytes:
    """The choropleth as a PNG (title, legend, demo label), for a slide and the report's figure."""
    fig = map_figure(spec, title, width_px, dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def map_figure(spec: ChoroplethSpec, title: str, width_px: int = 1600, dpi: int = 160) -> Any:
    """The matplotlib figure :func:`map_png` saves (the caller closes it)."""
    fig, ax = plt.subplots(figsize=(width_px / dpi, width_px / dpi * 0.75), dpi=dpi)
    ax.set_facecolor(BACKGROUND)
    fig.patch.set_facecolor("white")
    if spec.context is not None and len(spec.context):
        patches, faces = _patches(spec.context, ["#f7f7f5"] * len(spec.context))
        ax.add_collection(PatchCollection(patches, facecolor=faces, edgecolor="#8a8a8a", linewidth=0.5))
    fills = spec.properties.reindex(spec.shapes["code"])["fill"].fillna(NO_QUOTA.colour).tolist()
    patches, faces = _patches(spec.shapes, fills)
    ax.add_collection(PatchCollection(patches, facecolor=faces, edgecolor="white",
                                      linewidth=0.2 if len(spec.shapes) > 1000 else 0.5))
    if spec.overlay is not None and len(spec.overlay):
        patches, _ = _patches(spec.overlay, ["none"] * len(spec.overlay))
        ax.add_collection(PatchCollection(patches, facecolor="none", edgecolor="#333333", linewidth=0.6))
    near = spec.shapes[spec.shapes["center_lon"] < MAINLAND_MAX_LON]
    near = near if len(near) else spec.shapes
    xmin, xmax = near["xmin"].min(), near["xmax"].max()
    ymin, ymax = near["ymin"].min(), near["ymax"].max()
    if archipelagos.whole_country(spec.shapes):   # the whole country: both archipelagos named, in the frame
        (ymin, xmin), (ymax, xmax) = archipelagos.widen([[ymin, xmin], [ymax, xmax]])  # type: ignore[misc]
        archipelagos.label_axes(ax)
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect(1 / math.cos(math.radians((ymin + ymax) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    classes = LEGENDS[spec.classes]
    ax.legend(handles=[Patch(facecolor=c.colour, edgecolor="#999", label=c.label) for c in classes],
              title=spec.title, loc="lower left", fontsize=9, title_fontsize=10, framealpha=0.95)
    ax.set_title(title + (f"\n{spec.label}" if spec.label else ""), fontsize=14, fontweight="bold")
    if spec.demo:
        ax.text(0.99, 0.99, DEMO_LABEL, transform=ax.transAxes, ha="right", va="top", fontsize=10,
                fontweight="bold", color="#664d03",
                bbox={"boxstyle": "round", "facecolor": "#fff3cd", "edgecolor": "#e0c36a"})
    return fig
