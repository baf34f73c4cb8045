"""Geometry sent once: shapes as content-hashed, quantized, gzipped TopoJSON files the app serves.

A map drawn in the app no longer carries its polygons: :func:`publish` turns the shapes of a layer
(``code``, ``name``, ``geojson`` from :func:`xkld_geo.queries.shapes`) into a TopoJSON file made by
the ``topojson`` library (quantized, delta-encoded; no shared-arc topology, which the staged
boundaries, simplified ring by ring upstream, would not profit from), named by the SHA-256 of its
content and kept gzipped in this process. ``xkld_geo.gateway`` serves it at
``/xkld/geo/<name>`` with ``Cache-Control: immutable``: the browser fetches a layer once and keeps
it across reruns, periods and sessions; new boundaries or an edited name make a new name.

Building a file costs about a second for the 3,321 communes, so each input is built once per
process: files are found again by a digest of their input (codes, names, geometry text).
"""
from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd

from xkld_geo import singleflight
from xkld_geo.markup import html_text

URL_PREFIX = "/xkld/geo"
"""Where ``xkld_geo.gateway`` serves the files (a route of ``serve.py``)."""

QUANTIZATION = 4000
"""Grid steps per axis of a layer's extent: about 4 m for a commune, 4 km over the whole country
(the national communes are stored at 0.01°, so nothing visible is lost)."""

MAX_FILES = 400
"""Files kept in memory (34 provinces × a few levels of detail fit many times over)."""


@dataclass(frozen=True)
class GeometryFile:
    """One published file: its name (content hash), raw and gzipped sizes."""

    name: str
    size: int
    gzip_size: int

    @property
    def url(self) -> str:
        return f"{URL_PREFIX}/{self.name}"


_files: OrderedDict[str, bytes] = OrderedDict()      # name -> gzipped TopoJSON
_by_input: OrderedDict[str, GeometryFile] = OrderedDict()
_lock = threading.Lock()
_flights = singleflight.Flights()


def _input_digest(shapes: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for code, name, geometry in zip(shapes["code"], shapes["name"], shapes["geojson"]):
        h.update(f"{code}\x1f{name}\x1f".encode())
        h.update(str(geometry).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def topojson_text(shapes: pd.DataFrame, quantization: int = QUANTIZATION) -> str:
    """The TopoJSON text of ``shapes``: one object ``data`` whose features carry ``code`` and ``name``
    (HTML-escaped: the tooltip shows it as HTML)."""
    import geopandas as gpd
    import shapely
    import topojson

    frame = gpd.GeoDataFrame({"code": [str(c) for c in shapes["code"]],
                              "name": [html_text(n) for n in shapes["name"]]},
                             geometry=[shapely.from_geojson(str(g)) for g in shapes["geojson"]], crs=4326)
    if frame.empty:
        return '{"type":"Topology","objects":{"data":{"type":"GeometryCollection","geometries":[]}},"arcs":[]}'
    return str(topojson.Topology(frame, object_name="data", prequantize=quantization, topology=False).to_json())


def publish(shapes: pd.DataFrame) -> GeometryFile:
    """The served file of ``shapes`` (built on first use, found again afterwards)."""
    digest = _input_digest(shapes)
    found = _published(digest)
    if found is not None:
        return found
    with _flights.turn(digest):   # sessions asking for the same new file at once: one builds it
        found = _published(digest)
        return found if found is not None else _build(digest, shapes)


def _published(digest: str) -> GeometryFile | None:
    with _lock:
        found = _by_input.get(digest)
        if found is not None and found.name in _files:
            _by_input.move_to_end(digest)
            _files.move_to_end(found.name)
            return found
    return None


def _build(digest: str, shapes: pd.DataFrame) -> GeometryFile:
    text = topojson_text(shapes).encode()
    name = hashlib.sha256(text).hexdigest()[:20] + ".topo.json"
    packed = gzip.compress(text, 9, mtime=0)
    file = GeometryFile(name, len(text), len(packed))
    with _lock:
        _files[name] = packed
        _by_input[digest] = file
        while len(_files) > MAX_FILES:
            _files.popitem(last=False)
        while len(_by_input) > MAX_FILES:
            _by_input.popitem(last=False)
    return file


def lookup(name: str) -> bytes | None:
    """The gzipped bytes of a published file, or None (unknown name, or forgotten)."""
    with _lock:
        return _files.get(name)
