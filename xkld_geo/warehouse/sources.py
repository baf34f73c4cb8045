"""Where the public input files are: the data directory and the files expected in it.

The boundary and census files have unclear licences, so the project never ships them: it looks for
them in a data directory (``XKLD_DATA_DIR``, else the project's ``data/``, else ``../shared/data``)
and, when something is missing, says which file and where to get it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from xkld_geo.errors import DataMissingError
from xkld_geo.settings import PROJECT_ROOT, Settings

BOUNDARY_EXTENSIONS: tuple[str, ...] = (".parquet", ".geoparquet", ".geojson", ".json", ".gpkg", ".zip")
"""Accepted boundary formats, in order of preference when several copies exist."""


@dataclass(frozen=True)
class SourceFile:
    """One expected input: its stem under the data directory, whether it is required, and origin."""

    key: str
    stem: str
    required: bool
    origin: str
    extensions: tuple[str, ...] = BOUNDARY_EXTENSIONS


SOURCES: tuple[SourceFile, ...] = (
    SourceFile("communes_2025", "boundaries/vn_communes_2025", True,
               "3.321 xã/phường 2025 (mã 5 số, dân số, diện tích): lamngockhuong/vietnam-3d-map, "
               "public/wards/*.json (xem data/boundaries/README.md)"),
    SourceFile("provinces_2025", "boundaries/vn_provinces_2025", True,
               "34 tỉnh/thành 2025: lamngockhuong/vietnam-3d-map, public/provinces.json"),
    SourceFile("provinces_pre2025", "boundaries/vn_provinces_pre2025_dvhcvn", False,
               "63 tỉnh trước 2025: daohoangson/dvhcvn, data/gis/<mã tỉnh>.json"),
    SourceFile("districts_pre2025", "boundaries/vn_districts_pre2025_dvhcvn", False,
               "705 huyện trước 2025: daohoangson/dvhcvn, data/gis/<mã tỉnh>.json"),
    SourceFile("crosswalk_primary", "crosswalk/commune_old2new_2025_dvhcvn", False,
               "Bảng chuyển đổi xã cũ → xã mới 2025: dvhcvn/20250701 mapping/*.json (MIT)", (".csv",)),
    SourceFile("crosswalk_secondary", "crosswalk/commune_old2new_2025_vietnamadminunits", False,
               "Bảng chuyển đổi thứ hai để đối chiếu: tranngocminhhieu/vietnamadminunits (MIT)", (".csv",)),
    SourceFile("changes_2019_2024", "crosswalk/commune_2019_to_2024_gso_changes", False,
               "Bảng đối chiếu mã xã 2019–2024 của Tổng cục Thống kê", (".csv",)),
    SourceFile("communes_c2010", "boundaries/vn_communes_c2010_mapmaker", False,
               "Ranh giới xã khoảng 2010 (mapmakervietnam), có mã xã 2021"),
    SourceFile("national_departures", "stats/published_national_departures", True,
               "Số lao động đi làm việc ở nước ngoài theo năm (Cục Quản lý lao động ngoài nước)",
               (".csv",)),
)


def _has_boundaries(folder: Path) -> bool:
    return any((folder / f"boundaries/vn_communes_2025{ext}").exists() for ext in BOUNDARY_EXTENSIONS)


def candidate_dirs(settings: Settings) -> list[Path]:
    """The data directories searched, in order."""
    dirs: list[Path] = []
    if settings.data_dir is not None:
        dirs.append(Path(settings.data_dir))
    dirs.append(PROJECT_ROOT / "data")
    dirs.append(PROJECT_ROOT.parent / "shared" / "data")
    return dirs


def data_dir(settings: Settings) -> Path:
    """The first data directory that holds the 2025 commune boundaries.

    An explicitly configured ``XKLD_DATA_DIR`` is used even when incomplete, so that the error
    names the folder the user chose rather than silently falling back to another one.
    """
    dirs = candidate_dirs(settings)
    if settings.data_dir is not None:
        return dirs[0]
    for folder in dirs:
        if _has_boundaries(folder):
            return folder
    raise DataMissingError(
        "Không tìm thấy dữ liệu ranh giới (boundaries/vn_communes_2025.parquet). Đã tìm ở: "
        + "; ".join(str(d) for d in dirs)
        + ". Hãy đặt biến XKLD_DATA_DIR trỏ tới thư mục dữ liệu; data/boundaries/README.md "
          "hướng dẫn nơi tải các tệp.",
        searched=[str(d) for d in dirs], missing=["boundaries/vn_communes_2025"])


def resolve(settings: Settings) -> dict[str, Path | None]:
    """Map each source key to its file (None for an optional file that is absent).

    Raises :class:`DataMissingError` listing every missing required file and its origin.
    """
    folder = data_dir(settings)
    found: dict[str, Path | None] = {}
    missing: list[SourceFile] = []
    for src in SOURCES:
        path = next((folder / f"{src.stem}{ext}" for ext in src.extensions
                     if (folder / f"{src.stem}{ext}").exists()), None)
        if path is None and src.required:
            missing.append(src)
        found[src.key] = path
    if missing:
        lines = "; ".join(f"{m.stem}{'|'.join(m.extensions)} — nguồn: {m.origin}" for m in missing)
        raise DataMissingError(f"Thư mục dữ liệu {folder} thiếu tệp: {lines}",
                               folder=str(folder), missing=[m.stem for m in missing])
    return found


def file_hash(path: Path) -> str:
    """SHA-256 of a file, used to tell whether a rebuild would change anything."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
