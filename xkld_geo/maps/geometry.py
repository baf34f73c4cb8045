"""Geometry sent once: shapes as content-hashed, quantized, gzipped TopoJSON files the app serves.

A map drawn in the app no longer carries its polygons: :func:`publish` turns the shapes of a layer
(``code``, ``name``, ``geojson`` from :func:`xkld_geo.figures.queries.shapes`) into a TopoJSON file made by
the ``topojson`` library (quantized, delta-encoded; no shared-arc topology, which the staged
boundaries, simplified ring by ring upstream, would not profit from), named by the SHA-256 of its
content and kept gzipped in this process. ``xkld_geo.server.gateway`` serves it at
``/xkld/geo/<name>`` with ``Cache-Control: immutable``: the browser fetches a layer once and keeps
it across reruns, periods and sessions; new boundaries or an edited name make a new name.

Building a file costs about a second for the 3,321 communes and 0.1 s for a province, so each input
is built once per *build of the database*, not once per process: files are found again by a digest of
their input (codes, names, geometry text), first in this process's tables, then in the geometry folder
(setting ``geometry_dir``, by default beside the database file), where every built file is written:

- ``<name>.gz``: the gzipped file, named by the hash of its content, so a read checks itself (a
  corrupt, partial or foreign file does not unpack to its name and is ignored, then rebuilt);
- ``inputs/<input digest>``: the name of the file made from that input.

Both are written atomically (a temporary file in the folder, then a rename), so a crash or two
processes building the same file at once never leave a half-written one under a real name. A
browser holding a page of an earlier process asks for a name this process has not built:
:func:`lookup` finds it in the folder too. The folder is a cache: deleting it costs one rebuild.
The digest costs about 5 ms for the national communes (1.5 MB of geometry text), paid once per map
a process draws (``ui.map_component`` keeps the map's arguments), next to the 0.3 s query of those
shapes: keyed by content, a layer is found again whoever asks for it (page, warm-up, build) and
whatever database copy holds it, and a changed shape can never be served an old file.
:mod:`xkld_geo.maps.warmup` fills the folder and the tables (after a build, when the app starts).
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import tempfile
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from xkld_geo.database import singleflight
from xkld_geo.settings import current as current_settings
from xkld_geo.text.markup import html_text

log = logging.getLogger("xkld_geo.maps.geometry")

URL_PREFIX = "/xkld/geo"
"""Where ``xkld_geo.server.gateway`` serves the files (a route of ``serve.py``)."""

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
_stats = {"built": 0, "read": 0, "rejected": 0}
NAME = re.compile(r"[0-9a-f]{20}\.topo\.json")
"""What a file name looks like (a hash prefix): anything else is never looked up on disk."""


def folder() -> Path:
    """The geometry folder of the current settings (``geometry_dir``, or beside the database)."""
    return current_settings().geometry_folder


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
        found = _published(digest) or _persisted(digest)
        return found if found is not None else _build(digest, shapes)


def _published(digest: str) -> GeometryFile | None:
    with _lock:
        found = _by_input.get(digest)
        if found is not None and found.name in _files:
            _by_input.move_to_end(digest)
            _files.move_to_end(found.name)
            return found
    return None


def _name_of(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()[:20] + ".topo.json"


def _build(digest: str, shapes: pd.DataFrame) -> GeometryFile:
    text = topojson_text(shapes).encode()
    name = _name_of(text)
    packed = gzip.compress(text, 9, mtime=0)
    file = GeometryFile(name, len(text), len(packed))
    _remember(digest, file, packed)
    with _lock:
        _stats["built"] += 1
    _persist(digest, file, packed)
    return file


def _remember(digest: str | None, file: GeometryFile, packed: bytes) -> None:
    """Keep a file (and, with ``digest``, its input) in this process's tables."""
    with _lock:
        _files[file.name] = packed
        _files.move_to_end(file.name)
        if digest is not None:
            _by_input[digest] = file
            _by_input.move_to_end(digest)
        while len(_files) > MAX_FILES:
            _files.popitem(last=False)
        while len(_by_input) > MAX_FILES:
            _by_input.popitem(last=False)


def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` into ``path``, whole or not at all (a temporary file beside it, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _persist(digest: str, file: GeometryFile, packed: bytes) -> None:
    """Write a built file and its input's entry to the folder; a failure (read-only or full disk)
    is logged and the file stays served from memory."""
    where = folder()
    try:
        _write_atomic(where / f"{file.name}.gz", packed)
        _write_atomic(where / "inputs" / digest, file.name.encode("ascii"))
    except OSError as exc:
        log.warning("geometry file %s not kept in %s: %s", file.name, where, exc)


def _read(name: str) -> tuple[bytes, int] | None:
    """(gzipped bytes, unpacked size) of the persisted file ``name`` if it is whole and really
    holds that content (its name is the hash of what it unpacks to), else None."""
    if not NAME.fullmatch(name):
        return None
    path = folder() / f"{name}.gz"
    try:
        packed = path.read_bytes()
    except OSError:
        return None
    try:
        text = gzip.decompress(packed)
    except (OSError, EOFError, zlib.error):
        text = b""
    if _name_of(text) != name:
        log.warning("geometry file %s is corrupt or partial: ignored (it is rebuilt when asked for)", path)
        with _lock:
            _stats["rejected"] += 1
        return None
    with _lock:
        _stats["read"] += 1
    return packed, len(text)


def _persisted(digest: str) -> GeometryFile | None:
    """The file made from input ``digest`` by this or an earlier process, from the folder."""
    try:
        name = (folder() / "inputs" / digest).read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    found = _read(name)
    if found is None:
        return None
    packed, size = found
    file = GeometryFile(name, size, len(packed))
    _remember(digest, file, packed)
    return file


def lookup(name: str) -> bytes | None:
    """The gzipped bytes of a published file, or None (unknown name). A file this process has not
    published (a browser holding a page of an earlier process) is looked for in the folder."""
    with _lock:
        found = _files.get(name)
    if found is not None:
        return found
    read = _read(name)
    if read is None:
        return None
    _remember(None, GeometryFile(name, read[1], len(read[0])), read[0])
    return read[0]


def clear() -> None:
    """Forget this process's tables (tests: a fresh process); the folder stays."""
    with _lock:
        _files.clear()
        _by_input.clear()
        _stats.update(built=0, read=0, rejected=0)


def stats() -> dict[str, int]:
    """Files built (topojson run), read from the folder, rejected there (corrupt), kept in memory."""
    with _lock:
        return dict(_stats) | {"kept": len(_files)}
