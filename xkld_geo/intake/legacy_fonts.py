"""The legacy Vietnamese text encodings as codecs: TCVN3 (ABC), VNI-Windows and Windows-1258.

Before Unicode, provincial offices typed with ".VnTime" fonts (TCVN3: one byte per precomposed
lowercase letter; only Ă Â Ê Ô Ơ Ư Đ have capitals) or VNI fonts (base letter followed by a mark
byte). These tables turn such bytes, or such bytes already read as cp1252/latin-1 characters, into
NFC Unicode, and back (the encoders make the test files). Which encoding a file is in is decided by
:mod:`xkld_geo.intake.charsets`.
"""
from __future__ import annotations

import re
import unicodedata

_BASES = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # ngang huyền sắc hỏi ngã nặng
#: the 73 lowercase letters in table order: 12 vowels x 6 tones, then đ.
_LOWER: tuple[str, ...] = tuple(unicodedata.normalize("NFC", b + t) for b in _BASES for t in _TONES) + ("đ",)
_UPPER: tuple[str, ...] = tuple(c.upper() for c in _LOWER)
#: the 134 letters with a diacritic (67 lowercase, 67 uppercase).
VIETNAMESE_LETTERS: frozenset[str] = frozenset(c for c in _LOWER + _UPPER if not c.isascii())
BASE_OF: dict[str, str] = {c: _BASES[i // 6] if i < 72 else "đ" for i, c in enumerate(_LOWER)}
TONED: frozenset[str] = frozenset(c for i, c in enumerate(_LOWER) if i < 72 and i % 6)

# TCVN3 bytes for _LOWER, one group of six per vowel (ngang huyền sắc hỏi ngã nặng), then đ.
_TCVN3_LOWER = bytes.fromhex(
    "61b5b8b6b7b9 a8bbbebcbdc6 a9c7cac8c9cb 65ccd0cecfd1 aad2d5d3d4d6 69d7ddd8dcde"
    "6fdfe3e1e2e4 abe5e8e6e7e9 aceaedebecee 75eff3f1f2f4 adf5f8f6f7f9 79fafdfbfcfe ae").decode("latin-1")
_TCVN3_CAPITALS = dict(zip("ĂÂÊÔƠƯĐ", bytes.fromhex("a1a2a3a4a5a6a7").decode("latin-1")))
# VNI-Windows sequences for _LOWER; an uppercase letter is the same sequence upper-cased.
_VNI_LOWER = ("a aø aù aû aõ aï aê aè aé aú aü aë aâ aà aá aå aã aä e eø eù eû eõ eï eâ eà eá eå eã eä "
              "i ì í æ ó ò o oø où oû oõ oï oâ oà oá oå oã oä ô ôø ôù ôû ôõ ôï u uø uù uû uõ uï "
              "ö öø öù öû öõ öï y yø yù yû yõ î ñ").split()
# Variants some VNI typists produce; accepted when decoding, never produced.
_VNI_EXTRA = {"yï": "ỵ", "iø": "ì", "iù": "í", "iû": "ỉ", "iõ": "ĩ", "iï": "ị"}

_TCVN3_ENCODE: dict[str, str] = {u: t for u, t in zip(_LOWER, _TCVN3_LOWER) if not u.isascii()}
_TCVN3_ENCODE.update({up: _TCVN3_ENCODE[lo] for lo, up in zip(_LOWER, _UPPER) if not up.isascii()})
_TCVN3_ENCODE.update(_TCVN3_CAPITALS)  # TCVN3 has no other uppercase letters with diacritics
_TCVN3_DECODE: dict[int, str] = {ord(t): u for u, t in zip(_LOWER, _TCVN3_LOWER) if not u.isascii()}
_TCVN3_DECODE.update({ord(t): u for u, t in _TCVN3_CAPITALS.items()})
_VNI_ENCODE: dict[str, str] = {u: v for u, v in zip(_LOWER, _VNI_LOWER) if not u.isascii()}
_VNI_ENCODE.update({up: v.upper() for up, v in zip(_UPPER, _VNI_LOWER) if not up.isascii()})
_VNI_DECODE: dict[str, str] = {v: u for u, v in _VNI_ENCODE.items()}
_VNI_DECODE.update({k.upper(): v.upper() for k, v in _VNI_EXTRA.items()} | _VNI_EXTRA)
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))
# Bytes 0x80-0x9F read as their cp1252 characters (curly quotes, dashes), other bytes as latin-1.
_C1_TO_CP1252: dict[int, str] = {b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0)
                                 if bytes([b]).decode("cp1252", "ignore")}

def normalise_nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC (precomposed letters), the form we store and compare.
    The quick check first: most text already is NFC, and big files are checked several times."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _encode(text: str, table: dict[str, str], name: str) -> bytes:
    """Encode ``text`` with a legacy letter table; ASCII and cp1252 punctuation pass through."""
    out: list[str] = []
    for ch in normalise_nfc(text):
        if ch.isascii() or ch in table:
            out.append(table.get(ch, ch))
            continue
        raw = ch.encode("cp1252", "ignore")
        if len(raw) != 1 or raw[0] >= 0xA0:  # latin-1 letters would collide with the table bytes
            raise ValueError(f"{name} cannot represent {ch!r}")
        out.append(raw.decode("latin-1"))
    return "".join(out).encode("latin-1")


def to_tcvn3(text: str) -> bytes:
    """Encode as TCVN3 (ABC) bytes; uppercase letters with tone marks become lowercase ones,
    because TCVN3 has slots only for Ă Â Ê Ô Ơ Ư Đ (capital fonts reuse the lowercase slots)."""
    return _encode(text, _TCVN3_ENCODE, "TCVN3")


def to_vni(text: str) -> bytes:
    """Encode as VNI-Windows bytes (base letter + mark byte); every letter is representable."""
    return _encode(text, _VNI_ENCODE, "VNI")


def to_cp1258(text: str, precomposed: bool = True) -> bytes:
    """Encode as Windows-1258: a letter the code page lacks (or every toned letter when
    ``precomposed`` is false, as Windows keyboards type) is written as base letter + tone mark."""
    out = bytearray()
    for ch in normalise_nfc(text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONES[1:])
        if precomposed or not tones:
            try:
                out += ch.encode("cp1258")
                continue
            except UnicodeEncodeError:
                pass
        try:
            out += (normalise_nfc("".join(c for c in parts if c not in tones)) + tones).encode("cp1258")
        except UnicodeEncodeError:
            raise ValueError(f"cp1258 cannot represent {ch!r}") from None
    return bytes(out)


def _as_legacy_text(data: bytes | str) -> str:
    """Legacy bytes as the characters Windows would show: cp1252 for 0x80-0x9F, else latin-1."""
    return (data.decode("latin-1") if isinstance(data, bytes) else data).translate(_C1_TO_CP1252)


def from_tcvn3(data: bytes | str) -> str:
    """Convert TCVN3 bytes, or TCVN3 read as cp1252/latin-1 characters, to NFC Unicode."""
    return normalise_nfc(_as_legacy_text(data).translate(_TCVN3_DECODE))


def from_vni(data: bytes | str) -> str:
    """Convert VNI bytes, or VNI read as cp1252/latin-1 characters, to NFC Unicode."""
    return normalise_nfc(_VNI_RE.sub(lambda m: _VNI_DECODE[m.group()], _as_legacy_text(data)))
