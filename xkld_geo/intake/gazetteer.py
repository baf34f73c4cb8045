"""Turn hand-typed unit references (code, name, province, old district) into 2025 commune codes.

Commune and company reports name units by hand: with or without a type prefix ("Xã", "P.", "TT"),
in any case, with tone marks placed either way ("Hòa"/"Hoà"), with Excel-mangled codes ("1234.0"),
and, for months before 1 July 2025, with old communes and districts. :class:`Gazetteer` resolves
them to a 2025 commune code or says why it cannot: a split old commune or an ambiguous name is
never guessed but goes to a person, with candidates and a Vietnamese reason.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable

import duckdb
import numpy as np
import pandas as pd

from xkld_geo.database import db
from xkld_geo.figures import queries
from xkld_geo.intake.spelling import blank, clean_code, normalise, split, unaccent

# Province spellings no name reaches (compact accent-free form -> 2-digit code, if that code exists).
_PROVINCE_ALIASES = {"hcm": "79", "tphcm": "79", "saigon": "79", "sg": "79", "hn": "01", "tthue": "46",
                     "brvt": "77", "vungtau": "77", "daclac": "66"}
_TYPO = 0.9  # difflib ratio above which a name that fits no other unit is taken as a typo
Prov = tuple[str | None, str | None]  # a typed province: (2025 code, pre-2025 code), either may be None


@dataclass(frozen=True)
class Match:
    """How one reference was resolved; ``reason`` (Vietnamese) goes to the rejection file."""

    code: str | None
    status: str  # code | name | old_code | old_name | split | ambiguous | unmatched
    old_code: str | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""

    @property
    def resolved(self) -> bool:
        """Whether a 2025 commune code was found without any doubt."""
        return self.code is not None


def _index(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    for key, code in pairs:
        if code not in out.setdefault(key, []):
            out[key].append(code)
    return out


def _display(name: str, unit_type: Any) -> str:
    """The name with its type ("Xã An Khánh"); names stored with their prefix are kept as they are."""
    typ = "" if blank(unit_type) else str(unit_type)
    return name if not typ or split(name)[0] or name.startswith(typ) else f"{typ} {name}"


def _grams(key: str) -> set[str]:
    return {f" {key} "[i:i + 2] for i in range(len(key) + 1)}


class _Pool:
    """Accent-free keys with a character-bigram index: the nearest of thousands in well under 1 ms."""

    def __init__(self, keys: list[str]) -> None:
        self.keys, grams = keys, [_grams(k) for k in keys]
        self.sizes = np.array([len(g) for g in grams], dtype=float)
        self.post = {g: np.array(v) for g, v in _index((g, i) for i, gs in enumerate(grams) for g in gs).items()}

    def nearest(self, key: str, n: int = 3) -> list[str]:
        grams = _grams(key)
        hits = [self.post[g] for g in grams if g in self.post]
        shared = np.bincount(np.concatenate(hits), minlength=len(self.keys)) if hits else np.zeros(len(self.keys))
        top = np.argsort(-2 * shared / (len(grams) + self.sizes), kind="stable")[:20]
        ranked = sorted(top, key=lambda i: -difflib.SequenceMatcher(None, key, self.keys[i]).ratio())
        return [self.keys[i] for i in ranked[:n]]


class Gazetteer:
    """In-memory index of 2025 communes and provinces, and of old units and the crosswalk if any."""

    def __init__(self) -> None:
        self._new: dict[str, tuple[str, str, str]] = {}       # code -> display, province, type
        self._old: dict[str, tuple[str, str, str, str]] = {}  # code -> name, province, district, type
        self._targets: dict[str, list[tuple[str, bool]]] = {}  # old code -> [(new code, partial)]
        self._prov: tuple[dict[str, str], dict[str, str]] = ({}, {})  # names of 2025 / old provinces
        self._prov_key: dict[str, list[str | None]] = {}       # compact accent-free name -> [new, old]
        self._districts: dict[str, tuple[str, str]] = {}      # old district -> display, old province
        self._groups: dict[str, dict[str, frozenset[str]]] = {}  # see _scope
        self._cache: dict[Any, Any] = {}
        self._keys: list[list[dict[str, list[str]]]] = []      # [new, old] x [exact, accent-free]: key -> codes
        self._district_key: dict[str, list[str]] = {}          # accent-free district key -> codes

    @classmethod
    def from_frames(cls, communes: pd.DataFrame, provinces: pd.DataFrame,
                    old_communes: pd.DataFrame | None = None, old_districts: pd.DataFrame | None = None,
                    old_provinces: pd.DataFrame | None = None,
                    crosswalk: pd.DataFrame | None = None) -> "Gazetteer":
        """Build from ``admin_units``-shaped frames (code, name, unit_type, parent_code; provinces:
        code, name) and the crosswalk (old_code, old_name, old_province_code, old_district_code,
        new_code, merge_type). Old communes missing from ``old_communes`` come from the crosswalk."""
        g, rows = cls(), lambda f: () if f is None else f.itertuples(index=False)  # noqa: E731
        for r in rows(communes):
            typ = getattr(r, "unit_type", None)
            g._new[str(r.code)] = (_display(r.name, typ), str(r.parent_code),
                                   split(r.name)[0] or ("" if blank(typ) else str(typ).lower()))
        for era, frame in enumerate((provinces, old_provinces)):
            for r in rows(frame):
                g._prov[era][str(r.code)] = r.name
                for key in split(r.name, "province")[1]:
                    g._prov_key.setdefault(unaccent(key).replace(" ", ""), [None, None])[era] = str(r.code)
        for alias, code in _PROVINCE_ALIASES.items():
            if code in g._prov[0] or code in g._prov[1]:
                g._prov_key.setdefault(alias, [code if code in names else None for names in g._prov])
        for r in rows(old_districts):
            g._districts[str(r.code)] = (_display(r.name, getattr(r, "unit_type", None)), str(r.parent_code))
        for r in rows(old_communes):
            prov = g._districts.get(str(r.parent_code), ("", ""))[1]
            g._old[str(r.code)] = (r.name, prov, str(r.parent_code), split(r.name)[0])
        for r in rows(crosswalk):
            old, dist = str(r.old_code), getattr(r, "old_district_code", None)
            name, _, known, _ = g._old.get(old, (str(r.old_name), "", "", ""))
            g._old[old] = (name, str(r.old_province_code), known or ("" if blank(dist) else str(dist)),
                           split(name)[0])
            g._targets.setdefault(old, []).append((str(r.new_code), r.merge_type == "partial"))
        g._keys = [[_index((k, c) for c, v in units.items() for k in split(v[0])[1])] for units in (g._new, g._old)]
        for pair in g._keys:
            pair.append(_index((unaccent(k), c) for k, cs in pair[0].items() for c in cs))
        g._district_key = _index((unaccent(k), c) for c, v in g._districts.items()
                                 for k in split(v[0], "district")[1])
        pairs = [(o, t) for o, ts in g._targets.items() for t, _ in ts if t in g._new]
        for what, members in {"new": ((v[1], c) for c, v in g._new.items()),
                              "old": ((v[1], o) for o, v in g._old.items()),
                              "dold": ((v[2], o) for o, v in g._old.items()),
                              "moved": ((g._new[t][1], o) for o, t in pairs),
                              "reach": ((g._old[o][1], t) for o, t in pairs),
                              "dnew": ((g._old[o][2], t) for o, t in pairs)}.items():
            g._groups[what] = {k: frozenset(v) for k, v in _index(members).items()}
        return g

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> "Gazetteer":
        """Load from the warehouse; without history (no crosswalk) only 2025 units are known."""
        sql = """SELECT code, name, unit_type, parent_code FROM admin_units
                 WHERE era = $era AND level = $level ORDER BY code"""

        def units(era: str, level: str) -> pd.DataFrame:
            return db.run(con, f"gazetteer_{era}_{level}", sql, {"era": era, "level": level})
        if not queries.has_history(con):
            return cls.from_frames(units("2025", "commune"), units("2025", "province"))
        xwalk = db.run(con, "gazetteer_crosswalk", """
            SELECT old_code, old_name, old_province_code, old_district_code, new_code, merge_type
            FROM crosswalk WHERE merge_type IS DISTINCT FROM 'district'  -- island districts: not communes
            ORDER BY old_code, new_code""")
        return cls.from_frames(units("2025", "commune"), units("2025", "province"), units("pre2025", "commune"),
                               units("pre2025", "district"), units("pre2025", "province"), xwalk)

    # --- provinces, districts and the communes they cover ----------------------------------------
    def _province(self, text: Any) -> Prov | None:
        """(2025 code, old code) a typed province stands for: "Tây Ninh" is 2025 code 80 and
        old code 72; "Hà Giang" only old 02; a typed code is read in both eras."""
        if blank(text):
            return None
        if (code := clean_code(text, 2)) in self._prov[0] or code in self._prov[1]:
            return (code if code in self._prov[0] else None, code if code in self._prov[1] else None)
        for key in split(str(text), "province")[1]:
            if found := self._prov_key.get(unaccent(key).replace(" ", "")):
                return found[0], found[1]
        return None

    def province(self, text: Any) -> str | None:
        """2-digit code of a province typed as a code, a name of either era or a common
        abbreviation ("TP.HCM", "TT Huế", "BR-VT"): the 2025 code when the name is a current
        province, else the old code ("Hà Giang" -> "02"); None when not recognised."""
        prov = self._province(text)
        return None if prov is None else prov[0] or prov[1]

    def _scope(self, what: str, code: str | None) -> frozenset[str]:
        """'new': 2025 communes of a 2025 province; 'reach': those the communes of an old province
        went to; 'old': old communes of an old province; 'moved': old communes now (partly) in a
        2025 province; 'dold'/'dnew': old communes of an old district / where they went."""
        return self._groups[what].get(code, frozenset()) if code else frozenset()

    def _area(self, prov: Prov, old: bool) -> list[frozenset[str]]:
        """Search tiers in a typed province: 2025 communes of the 2025 province or reached from the
        old one; old communes of the old province first, then the others now in the new one."""
        if old:
            return [self._scope("old", prov[1]), self._scope("moved", prov[0])]
        return [self._scope("new", prov[0]) | self._scope("reach", prov[1])]

    def _district_codes(self, text: Any, prov: Prov | None) -> list[str]:
        """Old districts a typed district names (3-digit code, or name within the province)."""
        if re.fullmatch(r"\d{3}", text := str(text).strip()) and text in self._districts:
            return [text]  # only a 3-digit code: "3" is "Quận 3", not district 003
        olds = frozenset().union(*self._area(prov, True)) if prov else None
        for key in split(text, "district")[1]:
            found = [d for d in self._district_key.get(unaccent(key), [])
                     if olds is None or self._scope("dold", d) & olds]
            if found:
                return found
        return []

    # --- results ------------------------------------------------------------------------------
    def _label(self, code: str, old: bool = False) -> str:
        """"Tên (Tỉnh) [mã]" for a 2025 commune, "Tên (Huyện, Tỉnh) [mã]" for an old one."""
        if not old:
            return f"{self._new[code][0]} ({self._prov[0].get(self._new[code][1], self._new[code][1])}) [{code}]"
        name, prov, dist, _ = self._old[code]
        where = [self._districts.get(dist, ("",))[0], self._prov[1].get(prov, prov)]
        return f"{name} ({', '.join(x for x in where if x)}) [{code}]"

    def _from_old(self, old: str, status: str) -> Match:
        """The 2025 commune of an old commune, or 'split' when it was divided: never guessed."""
        targets, name = self._targets.get(old, []), self._old[old][0]
        if not targets:
            return Match(None, "unmatched", old, (),
                         f"Xã cũ '{name}' (mã {old}) không có trong bảng chuyển đổi sang xã mới.")
        if len(targets) == 1 and not targets[0][1]:
            return Match(targets[0][0], status, old)
        labels = tuple(self._label(t) for t, _ in targets if t in self._new)
        return Match(None, "split", old, labels, f"Xã cũ '{name}' (mã {old}) đã được chia cho nhiều "
                     f"xã mới: {', '.join(labels)}; cần cán bộ chọn xã mới.")

    def _ambiguous(self, name: str, old: bool, hits: list[str]) -> Match:
        labels = [self._label(c, old) for c in hits]
        return Match(None, "ambiguous", None, tuple(labels[:3]),
                     f"Tên '{name}' trùng với {len(hits)} {'xã cũ (trước 1/7/2025)' if old else 'xã'}: "
                     f"{'; '.join(labels[:3])}{'; ...' if len(hits) > 3 else ''}; "
                     "cần ghi rõ tỉnh, huyện cũ hoặc mã.")

    # --- matching ---------------------------------------------------------------------------------
    def _hits(self, old: bool, keys: list[str], accentless: bool, prov: Prov | None,
              districts: list[str], unit_type: str) -> list[str]:
        """Codes whose (accent-free) key is one of ``keys``, in the first province tier that has
        any and in the districts, narrowed to the typed unit type when that leaves any."""
        index = self._keys[old][accentless]
        tiers: list[frozenset[str] | None] = list(self._area(prov, old)) if prov else [None]
        if districts:
            near = frozenset().union(*(self._scope("dold" if old else "dnew", d) for d in districts))
            tiers = [near if t is None else near & t for t in tiers]
        units = self._old if old else self._new
        codes = list(dict.fromkeys(c for k in keys for c in index.get(unaccent(k) if accentless else k, [])))
        for tier in tiers:
            if hits := [c for c in codes if tier is None or c in tier]:
                return [c for c in hits if unit_type and units[c][-1] == unit_type] or hits
        return []

    def _nearest(self, key: str, prov: Prov | None, old: bool) -> tuple[str, ...]:
        """Up to 3 units nearest by accent-free name, within the province when known."""
        if ("pool", prov, old) not in self._cache:
            units = self._old if old else self._new
            codes = frozenset().union(*self._area(prov, old)) if prov else units
            by_fold = _index((unaccent(normalise(units[c][0])), c) for c in sorted(codes))
            self._cache[("pool", prov, old)] = (_Pool(list(by_fold)), by_fold)
        pool, by_fold = self._cache[("pool", prov, old)]
        return tuple(self._label(c, old) for k in pool.nearest(unaccent(key)) for c in by_fold[k])[:3]

    def _by_name(self, name: str, prov: Prov | None, districts: list[str], prefer_old: bool) -> Match:
        """2025 communes (exact key, then unique accent-free key), then old communes through the
        crosswalk (old first when ``prefer_old``); several hits: ambiguous; none: nearest names."""
        unit_type, keys = split(name)
        pending: tuple[bool, list[str]] | None = None
        for old in ((True, False) if prefer_old else (False, True)):
            for accentless in (False, True):
                hits = self._hits(old, keys, accentless, prov, districts, unit_type)
                if len(hits) == 1:
                    return self._from_old(hits[0], "old_name") if old else Match(hits[0], "name")
                if len(hits) > 1 and not accentless:
                    return self._ambiguous(name, old, hits)
                pending = pending or ((old, hits) if hits else None)
        if pending:
            return self._ambiguous(name, *pending)
        near = self._nearest(keys[0], prov, prefer_old and bool(self._old))
        where = f"ở {self._prov[0].get(prov[0] or '') or self._prov[1].get(prov[1] or '')}" if prov \
            else "trong cả nước"
        return Match(None, "unmatched", None, near,
                     f"Không tìm thấy xã '{name}' {where}; gần nhất: {'; '.join(near) or 'không có'}.")

    def _new_of(self, code: str, old: bool) -> str | None:
        """The 2025 commune a reading of a code stands for (None for a split old commune)."""
        targets = self._targets.get(code, []) if old else [(code, False)]
        return targets[0][0] if len(targets) == 1 and not targets[0][1] else None

    def _fits(self, name: str, readings: list[tuple[bool, str]], prov: Prov | None,
              districts: list[str], prefer_old: bool) -> tuple[list[tuple[bool, str]], Match | None]:
        """Readings of a code that the typed name confirms: the same accent-free name (the old
        name, or the new name of a whole move), or the name resolves to the same 2025 commune, or
        a small typo (same numbers, ratio >= 0.9) when the name fits no other unit."""
        typed = {unaccent(k) for k in split(name)[1]}

        def names(old: bool, code: str) -> set[str]:
            target = self._new_of(code, old)
            units = [(self._old if old else self._new)[code][0]] + \
                ([self._new[target][0]] if old and target in self._new else [])
            return {unaccent(k) for u in units for k in split(u)[1]}

        if fits := [r for r in readings if typed & names(*r)]:
            return fits, None
        by_name = self._by_name(name, prov, districts, prefer_old)
        fits = [r for r in readings if by_name.code and by_name.code == self._new_of(r[1], r[0])]
        if not fits and by_name.status == "unmatched":
            fits = [r for r in readings if any(
                re.findall(r"\d+", t) == re.findall(r"\d+", k)
                and difflib.SequenceMatcher(None, t, k).ratio() >= _TYPO for t in typed for k in names(*r))]
        return fits, by_name

    def _by_code(self, code: str, name: str | None, prov: Prov | None, prov_text: str,
                 districts: list[str], prefer_old: bool) -> Match:
        """A code read as a 2025 code, then as an old one (old first when ``prefer_old``),
        confirmed by the name and province when given; a contradiction is 'ambiguous'."""
        readings = [(old, code) for old in ((True, False) if prefer_old else (False, True))
                    if code in (self._old if old else self._new)]
        if not readings:
            why = f"Mã '{code}' không có trong danh mục xã (2025 hay trước 1/7/2025)"
            if name is None:
                return Match(None, "unmatched", None, (), why + ".")
            m = self._by_name(name, prov, districts, prefer_old)
            return replace(m, reason=f"{why}; đã tìm theo tên '{name}': {m.reason or 'khớp ' + self._label(str(m.code))}")
        if name is not None:
            fits, by_name = self._fits(name, readings, prov, districts, prefer_old)
            if not fits and by_name is not None:
                own = [self._label(c, old) for old, c in readings]
                other = [self._label(by_name.code)] if by_name.code else list(by_name.candidates)
                found = "không thấy xã nào tên này" if by_name.status == "unmatched" else "theo tên: " + "; ".join(other)
                return Match(None, "ambiguous", None, tuple(dict.fromkeys(own + other))[:3],
                             f"Mã '{code}' là {' / '.join(own)} nhưng tên ghi '{name}' ({found}); "
                             "cần kiểm tra lại mã hoặc tên.")
            readings = fits
        old, code = readings[0]
        if prov and code not in frozenset().union(*self._area(prov, old)):
            return Match(None, "ambiguous", None, (self._label(code, old),),
                         f"Mã '{code}' là {self._label(code, old)}, không thuộc tỉnh '{prov_text}'; "
                         "cần kiểm tra lại mã hoặc tỉnh.")
        return self._from_old(code, "old_code") if old else Match(code, "code")

    def match(self, code: Any, name: Any, province: Any = None, district: Any = None,
              prefer_old: bool = False) -> Match:
        """Resolve one reference to a 2025 commune. ``prefer_old``: the report is for a month
        before 1 July 2025, so codes and names are read as old units first."""
        notes: list[str] = []
        if (prov := self._province(province)) is None and not blank(province):
            notes.append(f"Không nhận ra tỉnh '{province}', đã tìm trong cả nước.")
        districts = [] if blank(district) else self._district_codes(district, prov)
        if not blank(district) and not districts:
            notes.append(f"Không nhận ra huyện cũ '{district}', đã bỏ qua.")
        text = None if blank(name) else str(name).strip()
        if (typed := clean_code(code)) is not None:
            m = self._by_code(typed, text, prov, str(province), districts, prefer_old)
        elif text is not None:
            m = self._by_name(text, prov, districts, prefer_old)
        else:
            m = Match(None, "unmatched", None, (), "Thiếu cả mã và tên xã.")
        return replace(m, reason=" ".join([m.reason] + notes).strip()) if notes else m

    def match_many(self, frame: pd.DataFrame, code: str | None, name: str | None,
                   province: str | None = None, district: str | None = None,
                   prefer_old: bool = False) -> pd.DataFrame:
        """Resolve the columns named ``code``, ``name``, ``province``, ``district`` (None: absent).
        Each distinct combination is matched once, so a million-row file with a few thousand
        units costs a few thousand look-ups. Returns code, status, old_code, candidates
        ("; "-joined) and reason, aligned to ``frame.index``."""
        cols = [None if c is None else frame[c] for c in (code, name, province, district)]
        group = np.zeros(len(frame), dtype=np.int64)
        for col in cols:
            if col is not None:
                f, uniq = pd.factorize(col, use_na_sentinel=True)
                group = pd.factorize(group * (len(uniq) + 1) + f + 1)[0].astype(np.int64)
        # factorize numbers groups by first appearance: a group starts where the running max grows
        top = np.maximum.accumulate(group)
        first = np.flatnonzero(np.r_[True, top[1:] > top[:-1]]) if len(frame) else group
        values = [None if c is None else c.take(first).to_numpy(dtype=object) for c in cols]
        out = {k: np.empty(len(first), dtype=object) for k in ("code", "status", "old_code", "candidates", "reason")}
        for i in range(len(first)):
            code, name, province, district = (None if v is None else v[i] for v in values)
            m = self.match(code, name, province, district, prefer_old=prefer_old)
            out["code"][i], out["status"][i], out["old_code"][i] = m.code, m.status, m.old_code
            out["candidates"][i], out["reason"][i] = "; ".join(m.candidates), m.reason
        return pd.DataFrame({k: v[group] for k, v in out.items()}, index=frame.index)
