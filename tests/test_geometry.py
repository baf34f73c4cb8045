"""Geometry sent once (issue 15): content-hashed TopoJSON files, served immutable and gzipped, and
maps whose script names the file instead of carrying the shapes."""
from __future__ import annotations

import gzip
import json
import re
import threading

import pandas as pd
from starlette.applications import Starlette

from tests.asgi_support import call
from xkld_geo import maps
from xkld_geo.figures import queries
from xkld_geo.maps import geometry
from xkld_geo.server import gateway
from xkld_geo.views import overview


def _get(path: str, accept: str = "gzip") -> tuple[int, dict[str, str], bytes]:
    got = call(Starlette(routes=gateway.routes()), "GET", path,
               headers=[("host", "127.0.0.1"), ("accept-encoding", accept)])
    return got.status, {k: v[0] for k, v in got.headers.items()}, got.body


def test_a_published_file_is_named_by_its_content_and_served_immutable(tiny_con) -> None:
    shapes = queries.shapes(tiny_con, "2025", "commune", "fine")
    file = geometry.publish(shapes)
    assert geometry.publish(shapes.copy()) == file                  # the same input: the same file
    status, headers, body = _get(file.url)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert "immutable" in headers["cache-control"]
    topo = json.loads(gzip.decompress(body))
    assert topo["type"] == "Topology" and "transform" in topo       # quantized
    props = [g["properties"] for g in topo["objects"]["data"]["geometries"]]
    assert sorted(p["code"] for p in props) == sorted(shapes["code"])
    status, headers, plain = _get(file.url, accept="identity")
    assert status == 200 and "content-encoding" not in headers and json.loads(plain) == topo
    renamed = shapes.assign(name=shapes["name"].where(shapes["code"] != shapes["code"].iloc[0], "<b>Tên mới</b>"))
    other = geometry.publish(renamed)
    assert other.name != file.name                                  # an edited name is a new file
    assert "&lt;b&gt;" in gzip.decompress(geometry.lookup(other.name) or b"").decode()   # escaped for the tooltip
    assert _get(geometry.URL_PREFIX + "/0123456789abcdef0123.topo.json")[0] == 404


def test_a_fetched_map_names_its_files_and_sends_only_values(tiny_con) -> None:
    shapes = queries.shapes(tiny_con, "2025", "commune", "fine")
    overlay = queries.shapes(tiny_con, "2025", "province", "outline")
    props = pd.DataFrame({"quota": 10, "pct": 50.0, "fill": "#123456"}, index=shapes["code"])
    spec = maps.ChoroplethSpec(shapes, props, None, "Tiêu đề", True, overlay=overlay)
    fmap, values = maps.choropleth_parts(spec, "/app/static", fetched=True)
    page = maps.page_html(fmap)
    assert geometry.publish(shapes).url in page and geometry.publish(overlay).url in page
    assert '"coordinates"' not in page                              # no shape in the script
    assert "topojson-client" in page
    inline = maps.page_html(maps.choropleth_parts(spec, "/app/static")[0])
    assert '"coordinates"' in inline and geometry.URL_PREFIX not in inline

    assert all(code in maps.values_json(props) for code in shapes["code"])
    assert "#123456" not in page                                    # values travel apart


def test_every_province_map_shares_one_context_file(tiny_con) -> None:
    """A province's map draws every province's outline underneath, from one file: opening another
    province fetches only that province's communes."""
    def urls(province: str) -> set[str]:
        view = overview.build_overview(tiny_con, overview.Request(2025, 12, province), "/app/static")
        return set(re.findall(r"/xkld/geo/[0-9a-f]{20}\.topo\.json",
                              maps.page_html(maps.choropleth_parts(view.map_spec, "/app/static", fetched=True)[0])))

    first, second = urls("98"), urls("99")
    assert len(first) == len(second) == 2 and len(first & second) == 1   # the shared outline file
def _fresh_process(monkeypatch, folder) -> None:
    """This process's tables forgotten, topojson refused: only the geometry folder can answer."""
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(folder))
    geometry.clear()

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("topojson ran although the file was persisted")
    monkeypatch.setattr(geometry, "topojson_text", refuse)


def test_a_fresh_process_finds_a_persisted_file_without_topojson(tiny_con, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(tmp_path / "geo"))
    geometry.clear()
    shapes = queries.shapes(tiny_con, "2025", "commune", "fine")
    file = geometry.publish(shapes)
    assert (tmp_path / "geo" / f"{file.name}.gz").is_file()
    assert not list((tmp_path / "geo").rglob("*.part"))            # no temporary file left behind
    packed = geometry.lookup(file.name)

    _fresh_process(monkeypatch, tmp_path / "geo")
    assert geometry.lookup(file.name) == packed                    # a browser's page of an earlier process
    _fresh_process(monkeypatch, tmp_path / "geo")
    assert geometry.publish(shapes) == file and geometry.stats()["built"] == 0
    assert _get(file.url)[0] == 200

    monkeypatch.undo()                                             # topojson back
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(tmp_path / "geo"))
    moved = shapes.assign(geojson=shapes["geojson"].where(shapes.index != 0, shapes["geojson"].iloc[1]))
    changed = geometry.publish(moved)                              # a changed shape: a new file
    assert changed.name != file.name and geometry.stats()["built"] == 1


def test_a_corrupt_or_partial_persisted_file_is_rebuilt_never_served(tiny_con, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "geo"
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(folder))
    geometry.clear()
    shapes = queries.shapes(tiny_con, "2025", "province", "coarse")
    file = geometry.publish(shapes)
    good = (folder / f"{file.name}.gz").read_bytes()
    for damaged in (good[: len(good) // 2], gzip.compress(b'{"type":"Topology"}'), b"", b"not gzip"):
        (folder / f"{file.name}.gz").write_bytes(damaged)
        geometry.clear()
        assert geometry.lookup(file.name) is None                  # never served
        assert _get(file.url)[0] == 404
        assert geometry.publish(shapes) == file and geometry.stats()["built"] == 1   # rebuilt
        assert (folder / f"{file.name}.gz").read_bytes() == good   # and the folder repaired
    (folder / "inputs" / next(p.name for p in (folder / "inputs").iterdir())).write_text("../../etc/passwd")
    geometry.clear()
    assert geometry.publish(shapes) == file and geometry.stats()["built"] == 1
    assert geometry.lookup("../" + file.name) is None


def test_an_unwritable_folder_still_serves_from_memory(tiny_con, tmp_path, monkeypatch) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(tmp_path / "file" / "geo"))
    geometry.clear()
    file = geometry.publish(queries.shapes(tiny_con, "2025", "province", "outline"))
    assert geometry.lookup(file.name) is not None


def test_the_warm_up_publishes_the_layers_and_never_raises(tiny_db, tiny_con, tmp_path, monkeypatch) -> None:
    from xkld_geo.maps import warmup

    folder = tmp_path / "geo"
    monkeypatch.setenv("XKLD_GEOMETRY_DIR", str(folder))
    geometry.clear()
    todo = warmup.layers(tiny_con)
    assert ("commune", "fine", "99") in todo and ("commune", "coarse", None) in todo
    done = warmup.warm(tiny_con)
    assert done.layers == len(todo) and done.built >= 1
    for level, lod, province in todo:                              # what the pages publish is there
        name = geometry.publish(queries.shapes(tiny_con, "2025", level, lod, province)).name
        assert (folder / f"{name}.gz").is_file()
    assert geometry.stats()["built"] == done.built                 # nothing built again

    _fresh_process(monkeypatch, folder)                            # a new process: read, not built
    assert warmup.warm(tiny_con).built == 0

    monkeypatch.setenv("XKLD_DB", str(tmp_path / "missing" / "none.duckdb"))   # a broken database
    from xkld_geo.settings import current
    assert warmup.warm_built(current()) is None                    # logged, not raised
    raised: list[object] = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    thread = threading.Thread(target=warmup._run, args=(current(),))   # the warm-up thread's body
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and raised == []                  # ended: logged, not raised
