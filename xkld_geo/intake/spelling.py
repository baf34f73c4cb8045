"""How hand-typed Vietnamese unit names are spelled alike: one normal form and one accent-free key.

Reports write names with or without a type prefix ("Xã", "P.", "TT"), in any case, and with tone
marks placed either way ("Hòa"/"Hoà"): :func:`normalise` gives them one spelling (tone on the vowel
the modern rule picks, prefix split off) and :func:`fold` an accent-free key (đ -> d) for names
typed without diacritics. :func:`clean_code` undoes Excel's mangling of codes ("1234.0").
"""
from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("commune", "district", "province")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
_VOWELS, _MARKED = set("aăâeêioôơuưy"), set("ăâêôơư")
_APOSTROPHE, _PUNCT = re.compile(r"\s*['’‘`´ʼ]\s*"), re.compile(r"[^\w\s]|_")
_GLUED = {"commune": re.compile(r"^(?:p|phường)(\d+)$"), "district": re.compile(r"^(?:q|quận)(\d+)$")}


def unaccent(key: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", key)
                   if unicodedata.category(ch) != "Mn").replace("đ", "d")


def _prefixes(types: dict[str, str]) -> dict[str, str]:
    """Prefix -> unit type, longest first, also typed without accents ("xa", "thi tran")."""
    return {**types, **{unaccent(k): v for k, v in types.items()}}


_PREFIXES = {
    "commune": _prefixes({"thị trấn": "thị trấn", "đặc khu": "đặc khu", "phường": "phường", "xã": "xã",
                          "tt": "thị trấn", "p": "phường", "x": "xã"}),
    "district": _prefixes({k: k for k in ("thành phố", "thị xã", "quận", "huyện", "tx", "tp", "q", "h")}),
    "province": _prefixes({k: k for k in ("thành phố", "tỉnh", "tp", "t")}),
}


def _tone_position(base: str) -> int | None:
    """Index of the vowel that carries the tone in a toneless syllable (the modern rule)."""
    vowels = [i for i, ch in enumerate(base) if ch in _VOWELS]
    if not vowels:
        return None
    cluster = [vowels[0]]
    for i in vowels[1:]:
        if i != cluster[-1] + 1:
            break
        cluster.append(i)
    if len(cluster) > 1 and cluster[0] == 1 and base[:2] in ("qu", "gi"):
        cluster = cluster[1:]  # the u of "qu" and the i of "gi" belong to the consonant
    marked = [i for i in cluster if base[i] in _MARKED]
    if len(cluster) == 1 or marked:
        return marked[-1] if marked else cluster[0]
    if cluster[-1] < len(base) - 1:  # a final consonant follows: "hoàng", "huỳnh"
        return cluster[-1]
    if len(cluster) == 3:  # "ngoài", "khuỷu"
        return cluster[1]
    return cluster[-1] if base[cluster[0]:cluster[-1] + 1] in ("oa", "oe", "uy") else cluster[0]


def _retone(word: str) -> str:
    """Put a syllable's tone mark on one fixed vowel, so "hòa"/"hoà" and "qúy"/"quý" coincide."""
    nfd = unicodedata.normalize("NFD", word)
    tones = [ch for ch in nfd if ch in _TONES]
    base = unicodedata.normalize("NFC", "".join(ch for ch in nfd if ch not in _TONES))
    pos = _tone_position(base) if tones else None
    return word if pos is None else unicodedata.normalize("NFC", base[:pos + 1] + tones[0] + base[pos + 1:])


def split(text: Any, kind: str = "commune") -> tuple[str, list[str]]:
    """(unit type of the prefix or "", keys): the key without the prefix, then the key keeping it
    (for names such as "Phường Phường Đúc" or "phuong lien" that start like a prefix)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    s = "" if blank(text) else unicodedata.normalize("NFC", str(text)).lower()
    toks = [t if t.isascii() else _retone(t) for t in _PUNCT.sub(" ", _APOSTROPHE.sub("", s)).split()]
    toks = [str(int(t)) if t.isascii() and t.isdigit() else t for t in toks]  # "01" -> "1"
    glued = _GLUED[kind].match(toks[0]) if toks and kind in _GLUED else None
    if glued:  # "p1", "q.1" -> "1"
        return ("phường" if kind == "commune" else "quận"), [" ".join([str(int(glued[1]))] + toks[1:])]
    for prefix, unit_type in _PREFIXES[kind].items():
        words = prefix.split()
        if len(toks) > len(words) and toks[:len(words)] == words:
            return unit_type, [" ".join(toks[len(words):]), " ".join(toks)]
    return "", [" ".join(toks)]


def normalise(text: str | None, kind: str = "commune") -> str:
    """Matching key of a unit name: NFC, lower case, tidy spaces and punctuation, one tone-mark
    placement, leading zeros of numbers dropped, type prefix of ``kind`` removed ("P.01" -> "1")."""
    return split(text, kind)[1][0]


def fold(text: str | None, kind: str = "commune") -> str:
    """Accent-free key (đ -> d) for names typed without diacritics and for nearest-name hints."""
    return unaccent(normalise(text, kind))


def blank(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) \
        or (isinstance(value, str) and not value.strip())


def clean_code(value: Any, digits: int = 5) -> str | None:
    """A typed code as digits zero-padded to ``digits`` ("1234.0" -> "01234"); other text as is."""
    if blank(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    m = re.fullmatch(r"0*(\d+?)(?:\.0*)?", text := str(value).strip())
    return m.group(1).zfill(digits) if m and len(m.group(1)) <= digits else text
