"""Writing a release as a self-contained static site, versioned by data month.

Layout under the output folder::

    releases/2026-11/        the release of the data month (never overwritten)
    releases/2026-11-r2/     a revision of the same month: other figures, the earlier one kept
    latest/                  a copy of the newest release (a copy works on any server and on a USB stick)
    index.html               a page leading to latest/ and listing every release

Each release holds ``index.html`` (Vietnamese, phone and lobby screen, schema.org/DCAT JSON-LD),
one page per province (``tinh/40.html``), the tables (``data/*.csv|xlsx|json``), their Frictionless
``datapackage.json``, the geometry (``geo/``), Leaflet copied from the app (``assets/``) and the
release note. A release is written to a temporary folder and renamed, so nothing is half-written.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from xkld_geo import DEMO_LABEL, maps
from xkld_geo.database import processes
from xkld_geo.errors import PublishError
from xkld_geo.figures import metrics
from xkld_geo.maps import archipelagos
from xkld_geo.release import content as release
from xkld_geo.release.content import ReleaseData
from xkld_geo.settings import PROJECT_ROOT, Settings
from xkld_geo.text import sheets

log = logging.getLogger("xkld_geo.release.site")

ASSETS = Path(__file__).resolve().parent / "assets"
LEAFLET = PROJECT_ROOT / "static" / "vendor" / "leaflet"
MANIFEST = "release.json"
_VERSION = re.compile(r"^(\d{4}-\d{2})(?:-r(\d+))?$")
_ENV = Environment(loader=FileSystemLoader(ASSETS), autoescape=select_autoescape(["j2", "html"]),
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class PublishResult:
    """What a publish run did: the release folder, whether it is new, and what a revision changed."""

    version: str
    path: Path
    created: bool
    revision_of: str | None
    changes: tuple[str, ...]

    def summary(self) -> str:
        """One Vietnamese line for the command line and the administrator's page."""
        if not self.created:
            return f"Số liệu không đổi: bản {self.version} vẫn là bản mới nhất ({self.path})."
        what = f", hiệu đính bản {self.revision_of}" if self.revision_of else ""
        return f"Đã phát hành bản {self.version}{what}: {self.path}"


def _version_key(name: str) -> tuple[str, int]:
    found = _VERSION.match(name)
    assert found, name
    return found.group(1), int(found.group(2) or 1)


def versions(out: Path) -> list[str]:
    """Every release folder under ``out/releases``, oldest data month and revision first."""
    root = out / "releases"
    names = [p.name for p in root.iterdir() if p.is_dir() and _VERSION.match(p.name)] if root.is_dir() else []
    return sorted(names, key=_version_key)


def manifest(path: Path) -> dict:
    """A release's ``release.json``."""
    return json.loads((path / MANIFEST).read_text(encoding="utf-8"))


def _label(row: dict, threshold: int) -> str:
    flag = row.get("departures_flag")
    if flag:
        return f"< {threshold}"
    return metrics.fmt_int(row["departures"]) if row.get("departures") is not None else "–"


def _display(df: pd.DataFrame, threshold: int) -> list[dict]:
    """Rows with the page's text of each figure (the same labels as the public screen)."""
    rows = release.table_records(df)
    for r in rows:
        r["shown"] = _label(r, threshold)
        if "quota" in r:
            r["quota_shown"] = metrics.fmt_int(r["quota"]) if r["quota"] is not None else "–"
            r["pct_shown"] = f"{r['attainment_pct']}%" if r.get("attainment_pct") is not None else "–"
    return rows


def _geo(shapes: pd.DataFrame, table: pd.DataFrame, code: str) -> str:
    """GeoJSON of the shapes with the published figures of ``table`` (indexed by ``code``)."""
    cols = ["departures", "departures_flag", "attainment_pct"]
    props = table.set_index(code)[cols].astype(object)
    return maps.feature_collection(shapes, props.where(props.notna(), None))


def _map_config(data: ReleaseData, shapes: pd.DataFrame, link: str | None) -> dict:
    national = archipelagos.whole_country(shapes)
    bounds = archipelagos.widen(maps.view_bounds(shapes)) if national else maps.view_bounds(shapes)
    return {"classes": [{"label": c.label, "colour": c.colour, "lower": None if c.lower == float("-inf") else c.lower}
                        for c in metrics.ATTAINMENT_CLASSES],
            "none": metrics.NO_QUOTA.colour, "threshold": data.threshold, "bounds": bounds, "link": link,
            "archipelagos": archipelagos.release_config() if national else []}


def _write_tables(data: ReleaseData, folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, df in data.tables.items():
        sheets.write_csv(df, folder / f"{name}.csv")          # text never a formula (xkld_geo.text.sheets)
        sheets.write_xlsx({name: df}, folder / f"{name}.xlsx")
        (folder / f"{name}.json").write_text(release.table_json(df), encoding="utf-8")


def _jsonld(data: ReleaseData, version: str, title: str) -> dict:
    """schema.org Dataset, typed as a DCAT dataset too, with one distribution per table file."""
    demo = f" {DEMO_LABEL}." if data.demo else ""
    media = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "json": "application/json"}
    return {
        "@context": {"@vocab": "https://schema.org/", "dcat": "http://www.w3.org/ns/dcat#",
                     "dct": "http://purl.org/dc/terms/"},
        "@type": ["Dataset", "dcat:Dataset"], "name": title,
        "description": f"{data.period.label}. Số nhỏ hơn {data.threshold} được giữ kín.{demo}",
        "inLanguage": "vi", "version": version, "datePublished": data.released.isoformat(),
        "temporalCoverage": f"{data.year}-01-01/{data.period.cutoff.isoformat()}",
        "spatialCoverage": {"@type": "Place", "name": "Việt Nam"}, "isAccessibleForFree": True,
        "license": release.LICENCE["path"], "keywords": ["xuất khẩu lao động", "chỉ tiêu"] + ([DEMO_LABEL] if data.demo else []),
        "creator": {"@type": "Organization", "name": release.PUBLISHER},
        "dct:accrualPeriodicity": "monthly",
        "variableMeasured": [{"@type": "PropertyValue", "name": f["title"], "unitText": f.get("unit")}
                             for f in (release.DEPARTURES, release.QUOTA, release.ATTAINMENT)],
        "distribution": [{"@type": ["DataDownload", "dcat:Distribution"], "name": f"{spec['title']} ({fmt.upper()})",
                          "encodingFormat": media[fmt], "contentUrl": f"data/{name}.{fmt}"}
                         for name, spec in release.TABLES.items() for fmt in media]
        + [{"@type": ["DataDownload", "dcat:Distribution"], "name": "Frictionless Data Package",
            "encodingFormat": "application/json", "contentUrl": "datapackage.json"}],
    }


def _common(data: ReleaseData, version: str, revision_of: str | None, root: str) -> dict:
    return {"demo": data.demo, "demo_label": DEMO_LABEL, "period_label": data.period.label,
            "period_short": data.period.short, "released": f"{data.released:%d/%m/%Y}", "version": version,
            "threshold": data.threshold, "licence": release.LICENCE, "publisher": release.PUBLISHER,
            "revision_of": revision_of, "root": root}


def _write_pages(con: duckdb.DuckDBPyConnection, data: ReleaseData, folder: Path, version: str,
                 revision_of: str | None, changes: list[str]) -> None:
    t, thr = data.tables, data.threshold
    national = _display(t["national"], thr)[0]
    title = f"Kết quả đưa người lao động đi làm việc ở nước ngoài: cả nước, {data.period.short}"
    notices = dict(zip(t["notices"]["key"], t["notices"]["text"]))
    (folder / "geo").mkdir()
    geo = _geo(data.shapes, t["provinces"], "province_code")
    (folder / "geo" / "provinces.geojson").write_text(geo, encoding="utf-8")
    (folder / "geo" / "provinces.js").write_text(f"window.XKLD_GEO={geo};\n", encoding="utf-8")
    page = _ENV.get_template("index.html.j2").render(
        **_common(data, version, revision_of, ""), title=title, description=notices["about"], total=national["shown"],
        notices=notices, map_config=_map_config(data, data.shapes, "tinh/{code}.html"),
        provinces=_display(t["provinces"], thr), markets=_display(t["markets"], thr),
        companies=release.table_records(t["companies"]), companies_empty=release.empty_reason("companies"),
        jsonld=_jsonld(data, version, title),
        downloads=[{"name": n, "title": s["title"]} for n, s in release.TABLES.items()],
        data_until=data.period.label, revision_policy=release.REVISION_POLICY, changes=changes)
    (folder / "index.html").write_text(page, encoding="utf-8")
    (folder / "tinh").mkdir()
    names = dict(zip(t["markets"]["market_code"], t["markets"]["market_name"]))
    safe = dict(zip(t["markets"]["market_code"], t["markets"]["safe_high_income"]))
    for prov in _display(t["provinces"], thr):
        code = prov["province_code"]
        shapes = release.province_shapes(con, code)
        communes = t["communes"][t["communes"]["province_code"] == code]
        geo = _geo(shapes, communes, "commune_code")
        (folder / "geo" / f"communes-{code}.js").write_text(f"window.XKLD_GEO={geo};\n", encoding="utf-8")
        markets = t["province_markets"][t["province_markets"]["province_code"] == code]
        markets = markets.assign(market_name=markets["market_code"].map(names),
                                 safe_high_income=markets["market_code"].map(safe))
        html = _ENV.get_template("province.html.j2").render(
            **_common(data, version, revision_of, "../"), code=code, description=notices["about"],
            title=f"Kết quả đưa người lao động đi làm việc ở nước ngoài: {prov['province_name']}, {data.period.short}",
            total=prov["shown"], map_config=_map_config(data, shapes, None),
            communes=_display(communes, thr), markets=_display(markets, thr))
        (folder / "tinh" / f"{code}.html").write_text(html, encoding="utf-8")


def _note(data: ReleaseData, version: str, revision_of: str | None, changes: list[str]) -> str:
    lines = [f"# Ghi chú phát hành {version}", "", f"- Ngày phát hành: {data.released:%d/%m/%Y}",
             f"- Số liệu đến: {data.period.label}", f"- Ngưỡng giữ kín: số từ 1 đến {data.threshold - 1}",
             f"- Chính sách hiệu đính: {release.REVISION_POLICY}"]
    if data.demo:
        lines.insert(2, f"**{DEMO_LABEL}**: số liệu sinh ngẫu nhiên để thử nghiệm, không phải số liệu thật.\n")
    if revision_of:
        lines += ["", f"## Thay đổi so với bản {revision_of}", "", *(changes or ["Không có ô nào thay đổi."])]
    return "\n".join(lines) + "\n"


def _write_release(con: duckdb.DuckDBPyConnection, data: ReleaseData, folder: Path, version: str,
                   revision_of: str | None, changes: list[str]) -> None:
    """Every file of one release into ``folder`` (which must not exist)."""
    folder.mkdir(parents=True)
    shutil.copytree(LEAFLET, folder / "assets" / "leaflet")
    for name in ("site.css", "map.js"):
        shutil.copyfile(ASSETS / name, folder / "assets" / name)
    _write_tables(data, folder / "data")
    (folder / "datapackage.json").write_text(json.dumps(release.datapackage(data, version), ensure_ascii=False,
                                                        indent=1), encoding="utf-8")
    _write_pages(con, data, folder, version, revision_of, changes)
    (folder / "ghi-chu-phat-hanh.md").write_text(_note(data, version, revision_of, changes), encoding="utf-8")
    _precompress(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    (folder / MANIFEST).write_text(json.dumps({
        "version": version, "data_month": data.month_id, "released": data.released.isoformat(),
        "data_until": data.period.cutoff.isoformat(), "period": data.period.label, "threshold": data.threshold,
        "demo": data.demo, "fingerprint": data.fingerprint(), "revision_of": revision_of, "changes": changes,
        "files": {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
    }, ensure_ascii=False, indent=1), encoding="utf-8")


COMPRESSED = (".html", ".js", ".css", ".json", ".geojson", ".csv", ".md")


def _precompress(folder: Path) -> None:
    """A ``.gz`` beside each text file, so a web server sends it as is (nginx ``gzip_static``)."""
    for path in [p for p in folder.rglob("*") if p.is_file() and p.suffix in COMPRESSED]:
        with open(path, "rb") as src, gzip.GzipFile(path.with_name(path.name + ".gz"), "wb", 9, mtime=0) as dst:
            shutil.copyfileobj(src, dst)


def _previous_tables(path: Path) -> dict[str, list[dict]]:
    return {name: json.loads((path / "data" / f"{name}.json").read_text(encoding="utf-8"))
            for name in release.TABLES if (path / "data" / f"{name}.json").exists()}


WORK_MARK = ".publishing-"
"""In the name of every folder a publish writes before renaming it (``.NAME.publishing-PID-xxxx``):
hidden, and naming the process, so that one left by a killed publish is known and removed."""
STALE_AFTER_S = 3600
"""A hidden folder without a process id (older code) is removed once it is this old."""


def _work_dir(parent: Path, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{name}{WORK_MARK}{os.getpid()}-", dir=parent))


def remove_stale_publishes(out: Path) -> list[Path]:
    """Delete the hidden folders killed publishes left under ``out`` (its top and ``releases/``),
    whose process is gone: a later publish would keep them and ``rsync --delete`` would copy them
    to the public server. A publish still running keeps its folder. Returns what was removed."""
    import time

    removed = []
    for folder in (Path(out), Path(out) / "releases"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if not path.name.startswith(".") or not path.is_dir():
                continue
            pid = re.search(r"(?:\.publishing-|-old-)(\d+)", path.name)
            if pid is not None:
                if processes.alive(int(pid.group(1))):          # this process's other threads too
                    continue
            elif time.time() - path.stat().st_mtime < STALE_AFTER_S:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            log.warning("removed %s, left by a publish that did not finish", path)
    return removed


def _replace_dir(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, swapping the finished copy in by renames."""
    fresh = _work_dir(target.parent, target.name)
    shutil.rmtree(fresh)
    shutil.copytree(source, fresh)
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _front_page(out: Path, names: list[str]) -> None:
    items = "\n".join(f'<li><a href="releases/{n}/index.html">{n}</a></li>' for n in reversed(names))
    (out / "index.html").write_text(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="refresh" content="0; url=latest/index.html"><title>Thông tin công khai XKLĐ</title>'
        '</head><body><p><a href="latest/index.html">Bản mới nhất</a></p><h2>Các bản đã phát hành</h2>'
        f"<ul>\n{items}\n</ul></body></html>\n", encoding="utf-8")
    (out / "releases" / "index.json").write_text(json.dumps(
        [manifest(out / "releases" / n) | {"files": None} for n in names], ensure_ascii=False, indent=1),
        encoding="utf-8")


def publish(con: duckdb.DuckDBPyConnection, out: Path, today: dt.date, threshold: int) -> PublishResult:
    """Publish the default period as seen on ``today`` under ``out``; a no-op when nothing changed.

    The first release of a data month is ``releases/YYYY-MM``; publishing the same month again with
    other figures writes ``YYYY-MM-rN`` and keeps the earlier ones. ``latest/`` becomes the newest.
    """
    data = release.build_release(con, today, threshold)
    out = Path(out)
    (out / "releases").mkdir(parents=True, exist_ok=True)
    remove_stale_publishes(out)
    same_month = [v for v in versions(out) if _version_key(v)[0] == data.month_id]
    previous = same_month[-1] if same_month else None
    if previous and manifest(out / "releases" / previous).get("fingerprint") == data.fingerprint():
        result = PublishResult(previous, out / "releases" / previous, False, None, ())
    else:
        version = data.month_id if previous is None else f"{data.month_id}-r{_version_key(previous)[1] + 1}"
        changes = (release.changes(_previous_tables(out / "releases" / previous), data.tables)
                   if previous else [])
        work = _work_dir(out / "releases", version)
        try:
            _write_release(con, data, work / version, version, previous, changes)
            (work / version).rename(out / "releases" / version)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result = PublishResult(version, out / "releases" / version, True, previous, tuple(changes))
    names = versions(out)
    newest = out / "releases" / names[-1]
    latest = out / "latest"
    if not (latest / MANIFEST).exists() or manifest(latest).get("version") != names[-1]:
        _replace_dir(newest, latest)
    _front_page(out, names)
    return result


def publish_configured(con: duckdb.DuckDBPyConnection, cfg: Settings, out: Path | None = None) -> PublishResult:
    """:func:`publish` with the settings' folder, date and threshold (``out`` overrides the folder)."""
    folder = out or cfg.publish_dir
    try:
        return publish(con, folder, cfg.effective_today, cfg.public_threshold)
    except OSError as exc:
        raise PublishError(f"Không ghi được bản phát hành vào {folder}: {exc.strerror or exc}.",
                           path=str(folder)) from exc


def auto_publish(con: duckdb.DuckDBPyConnection, cfg: Settings) -> PublishResult | None:
    """Publish again after an import or an approval when ``XKLD_PUBLISH_AUTO`` asks for it, else None."""
    return publish_configured(con, cfg) if cfg.publish_auto else None
