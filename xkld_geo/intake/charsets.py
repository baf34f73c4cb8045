"""Detect and convert the text encodings in which provincial offices send CSV/XLSX reports.

Files arrive as UTF-8 (with or without BOM), UTF-16 ("Unicode text" from Excel), Windows-1258,
or the pre-Unicode Vietnamese font encodings TCVN3 (ABC, ".VnTime" fonts: one byte per
precomposed lowercase letter) and VNI-Windows (base letter followed by a mark byte). Legacy text
also arrives already "decoded" as cp1252/latin-1 characters, when someone typed with a .VnTime or
VNI font into an Excel cell ("Hµ Néi", "Haø Noäi"). Everything is turned into NFC Unicode, or
refused with a Vietnamese message asking for 'CSV UTF-8'.

Detection is per file, never per cell. Bytes that are not UTF-8/UTF-16 are decoded as cp1258,
TCVN3 and VNI, and the output with the most valid Vietnamese syllables (minus invalid words and
stray latin-1 symbols) wins. Text that is already Unicode is converted only on evidence: words
holding characters proper Vietnamese never has (µ ¸ ­ ø ù ä ...) or VNI pairs ("traán") that
become valid syllables must outnumber the words that say "Unicode" (ư, ệ ..., which legacy text
cannot hold) or that a conversion would alter while they are valid. Proper Unicode Vietnamese has
no such evidence, so it is never converted; a lone ambiguous cell ("Thanh Hãa") is left alone.
In a legacy file that also holds Unicode cells (our template's header), cells with Unicode-only
letters, or whose words all read as valid Unicode ("Tháng"), are kept as they are.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping, NamedTuple

from xkld_geo.errors import IngestError
from xkld_geo.intake.legacy_fonts import (
    BASE_OF,
    TONED,
    VIETNAMESE_LETTERS,
    from_tcvn3,
    from_vni,
    normalise_nfc,
    to_cp1258,
    to_tcvn3,
    to_vni,
)

__all__ = ["Decoded", "EncodingError", "VIETNAMESE_LETTERS", "decode_bytes", "fix_legacy_text",
           "from_tcvn3", "from_vni", "normalise_nfc", "to_cp1258", "to_tcvn3", "to_vni"]

# Vowel nuclei (tone marks removed) grouped by the final consonants they take: gliding nuclei take
# none, "ch"/"nh" follow only a ê i y, and some nuclei need a final (k: Đắk Lắk and other names).
_RHYMES = (("ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu iêu oai oao oay oeo uây uôi ươi ươu "
            "uya uyu yêu", ""), ("ê i y uê uy", "(?:ch|nh|[mnpt])?"), ("a oa", "(?:ch|nh|ng|[cmnptk])?"),
           ("e o ô ơ u ư oe uơ", "(?:ng|[cmnptk])?"), ("ă â iê yê uô ươ uyê oă uâ oo", "(?:ng|[cmnptk])"))
_SYLLABLE = re.compile("(?:qu|gi|[bcdđfghjklmnpqrstvwxz]{1,3})?(?:%s)" % "|".join(
    "(?:%s)%s" % ("|".join(sorted(nuclei.split(), key=len, reverse=True)), coda) for nuclei, coda in _RHYMES))
_FALLING = frozenset("ai ao au ay âu ây eo êu ia iu oi ôi ơi ua ui ưa ưi ưu".split())
# Words: letters plus the latin-1 symbols that TCVN3 uses as letters (µ ¸ ¨ « ­ ® § ...).
_WORD = re.compile(r"(?:[^\W\d_]|[\xa1-\xbf\xd7\xf7])+")
_MIXED_CASE = re.compile("[a-z\xdf-\xff][\xc0-\xde]")  # TCVN3 "trÊn": capital-looking lowercase letters
_UNICODE_ONLY = re.compile("[ăĂđĐĩĨũŨơƠưƯ\u0300-\u036f\u1ea0-\u1ef9]")  # never in legacy text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_PIECES = re.compile(r"([,;\t\r\n\"]+)")
_MAGIC = {b"\x89PNG": "PNG", b"PK\x03\x04": "ZIP/XLSX", b"%PDF": "PDF", b"\xd0\xcf\x11\xe0": "XLS/DOC",
          b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"\x1f\x8b": "GZIP", b"Rar!": "RAR", b"7z\xbc\xaf": "7z"}


class EncodingError(IngestError):
    """A file whose bytes are not text in any encoding we can read (details: file, reason)."""


@dataclass(frozen=True)
class Decoded:
    """The text of a file as NFC Unicode, the encoding it was in, and whether it was converted."""

    text: str
    encoding: str  # 'utf-8' | 'utf-8-sig' | 'utf-16' | 'cp1258' | 'tcvn3' | 'vni'
    converted: bool


class _Score(NamedTuple):
    """Evidence that a text is Vietnamese: valid words, those with a consonant, and bad signs."""

    good: int
    strong: int
    bad: int

    @property
    def value(self) -> int:
        """Valid words minus twice the invalid words and stray symbols."""
        return self.good - 2 * self.bad


@lru_cache(maxsize=1 << 16)
def _is_syllable(word: str) -> bool:
    """True when ``word`` (with diacritics) is a plausible Vietnamese syllable with one tone."""
    word = word.lower()
    if sum(c in TONED for c in word) > 1 or any(not c.isascii() and c not in BASE_OF for c in word):
        return False
    bare = "".join(BASE_OF.get(c, c) for c in word)
    if word[-1] in TONED and bare[-2:] in _FALLING and bare[-3:-1] not in ("gi", "qu"):
        return False  # tone on a final glide: "xaõ" (VNI xã) is not a syllable, "già", "quá" are
    return _SYLLABLE.fullmatch(bare) is not None


def _is_suspicious(ch: str) -> bool:
    """A character that proper Vietnamese Unicode text does not contain but legacy text does:
    latin-1 symbols and non-Vietnamese letters (µ ¸ ­ ® ø ù ä ñ ...) and stray combining marks."""
    return ("\x80" <= ch <= "\xff" and ch not in VIETNAMESE_LETTERS and ch != "\xa0") or bool(
        unicodedata.combining(ch))


_DIGITS = re.compile(r"\d+")


def _lines(text: str) -> Counter:
    """Distinct lines of ``text`` with their counts, digits folded to 0 (words hold no digits, so
    word counts are unchanged). Registers repeat names, markets and groups on every line while IDs
    and dates differ: folding makes a million-line file a few thousand distinct lines, so the
    evidence below is counted once per distinct line instead of scanning every line."""
    return Counter(_DIGITS.sub("0", text).splitlines())


def _words(text: str) -> Counter:
    """How often each non-ASCII word occurs in ``text`` (ASCII words carry no evidence)."""
    return _line_words(_lines(text))


def _line_words(lines: Counter) -> Counter:
    """How often each non-ASCII word occurs in the counted ``lines`` of :func:`_lines`."""
    words: Counter = Counter()
    for line, n in lines.items():
        if line.isascii():
            continue
        for word, count in Counter(_WORD.findall(line)).items():
            if not word.isascii():
                words[word] += count * n
    return words


def _score(text: str) -> _Score:
    """Score NFC ``text``: only words with non-ASCII letters count; plain ASCII is neutral."""
    good = strong = bad = 0
    lines = _lines(text)
    for word, count in _line_words(lines).items():
        if _is_syllable(word):
            good += count
            strong += count * any(c.isascii() for c in word)
        else:
            bad += count
    chars: Counter = Counter()
    for line, n in lines.items():
        if not line.isascii():
            for ch, count in Counter(line).items():
                chars[ch] += count * n
    return _Score(good, strong, bad + sum(n for c, n in chars.items() if _is_suspicious(c)))


def _evidence(text: str | Counter, convert: Callable[[bytes | str], str]) -> tuple[int, int]:
    """Count the words of NFC ``text`` that argue for converting it and those that argue against.
    For: a word with suspicious characters, a capital after a small letter ("trÊn") or VNI marks
    that merge into its letters ("traán"), which converts into a valid syllable with a consonant.
    Against: a word with Unicode-only letters (ư, ệ ...: legacy text has none), a valid word the
    conversion would alter, a suspicious word still invalid after conversion. Proper Unicode words
    are valid without suspicious characters, so they never count for a conversion."""
    pro = con = 0
    words = _words(text) if isinstance(text, str) else text
    for word, count in words.items():  # each distinct word judged once
        if _UNICODE_ONLY.search(word):
            con += count
            continue
        new, valid = convert(word), _is_syllable(word)
        if any(map(_is_suspicious, word)) or _MIXED_CASE.search(word) or (not valid and len(new) < len(word)):
            if not _is_syllable(new):
                con += count
            elif any(c.isascii() for c in new):
                pro += count
        elif valid and new != word:
            con += count
    return pro, con


_CONVERTERS: dict[str, Callable[[bytes | str], str]] = {"tcvn3": from_tcvn3, "vni": from_vni}


def _looks_unicode(cell: str, convert: Callable[[bytes | str], str]) -> bool:
    """True for an NFC cell that holds Unicode-only letters (ư, ệ, combining marks: legacy text
    has none), or whose words only argue against converting (a header "Tháng" in a TCVN3 file)."""
    if _UNICODE_ONLY.search(cell):
        return True
    pro, con = _evidence(cell, convert)
    return pro == 0 and con > 0


def _guarded(convert: Callable[[bytes | str], str], mixed: bool) -> Callable[[str], str]:
    """Wrap a converter for the cells of a legacy file. Cells with Unicode-only letters are only
    NFC-normalised; in a ``mixed`` file (some cells are Unicode, say our template's header) so are
    cells that look like Unicode, while in a purely legacy file every other cell is converted."""
    def apply(cell: str) -> str:
        cell = normalise_nfc(cell)
        keep = _looks_unicode(cell, convert) if mixed else bool(_UNICODE_ONLY.search(cell))
        return cell if keep else convert(cell)
    return apply


def fix_legacy_text(values: Iterable[str] | Mapping[str, int]) -> tuple[Callable[[str], str], str | None]:
    """Decide once for a whole file whether its text cells are TCVN3 or VNI typed into Unicode
    cells. ``values`` are the cells, or each distinct cell with how often it occurs (the same
    evidence, counted once per distinct cell: a million-row register repeats a few values).
    Returns a converter for each cell and the encoding found ('tcvn3', 'vni' or None); without
    legacy text the converter only normalises to NFC (identity on NFC text)."""
    counts = values if isinstance(values, Mapping) else Counter(v for v in values if isinstance(v, str))
    cells: Counter = Counter()
    for c, n in counts.items():
        if isinstance(c, str) and not c.isascii():
            cells[normalise_nfc(c)] += n
    if not cells:
        return normalise_nfc, None
    words: Counter = Counter()
    for cell, n in cells.items():
        for word, count in _words(cell).items():
            words[word] += count * n
    scores = {name: pro - con for name, (pro, con) in ((n, _evidence(words, f)) for n, f in _CONVERTERS.items())}
    if max(scores.values()) <= 0:
        return normalise_nfc, None
    if len(set(scores.values())) == 1:  # a tie: the conversion giving the better text wins (scores add up)
        scores = {name: sum(_score(convert(cell)).value * n for cell, n in cells.items())
                  for name, convert in _CONVERTERS.items()}
    name = max(scores, key=scores.__getitem__)
    mixed = any(_UNICODE_ONLY.search(cell) for cell in cells)
    return _guarded(_CONVERTERS[name], mixed=mixed), name


def _refuse(filename: str, reason: str, what: str) -> EncodingError:
    """Build the refusal a user sees: which file, what is wrong, and to save it as CSV UTF-8."""
    return EncodingError(f"Tệp '{filename}' {what}. Vui lòng mở tệp bằng Excel và lưu lại với "
                         "kiểu 'CSV UTF-8' (Lưu thành → CSV UTF-8), rồi tải lên lại.",
                         file=filename, reason=reason)


def _sniff_utf16(data: bytes) -> str | None:
    """Recognise UTF-16 without BOM by its NULs: mostly-ASCII text has one NUL byte per pair."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0:2 * pairs:2].count(0), sample[1:2 * pairs:2].count(0)
    if odd >= 0.3 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if even >= 0.3 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def _unicode_text(data: bytes, filename: str) -> tuple[str, str] | None:
    """Decode BOM-marked, UTF-16 or valid UTF-8 data; None when the bytes are 8-bit legacy text."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise _refuse(filename, "invalid utf-8 after BOM", "có dấu UTF-8 nhưng nội dung bị hỏng") from None
    codec = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else None
    if codec is None and b"\x00" in data:
        codec = _sniff_utf16(data)
        if codec is None:
            raise _refuse(filename, "binary (NUL bytes)", "là tệp nhị phân, không phải văn bản CSV")
    if codec is not None:
        try:
            return data.decode(codec), "utf-16"
        except UnicodeDecodeError:
            raise _refuse(filename, "invalid utf-16", "là tệp nhị phân, không phải văn bản CSV") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return None


def _legacy_candidates(data: bytes) -> dict[str, str]:
    """Decode 8-bit data with each legacy encoding (cp1258 first: it wins ties)."""
    out: dict[str, str] = {}
    try:
        out["cp1258"] = normalise_nfc(data.decode("cp1258"))
    except UnicodeDecodeError:
        pass
    out["tcvn3"], out["vni"] = from_tcvn3(data), from_vni(data)
    return out


def _convert_lines(text: str, convert: Callable[[bytes | str], str]) -> str:
    """Convert legacy text inside a Unicode file. A line holding Unicode-only letters (say our
    template's header) is mixed: there cells that look like Unicode are kept as they are."""
    out: list[str] = []
    for line in normalise_nfc(text).splitlines(keepends=True):
        if not _UNICODE_ONLY.search(line):
            out.append(convert(line))
            continue
        out.extend(cell if _looks_unicode(cell, convert) else convert(cell) for cell in _PIECES.split(line))
    return "".join(out)


def decode_bytes(data: bytes, filename: str, cells_later: bool = False) -> Decoded:
    """Decode a whole text file to NFC Unicode, detecting its encoding; refuse binary content
    and text that is neither UTF-8/UTF-16 nor recognisably TCVN3, VNI or Windows-1258 Vietnamese.
    UTF-8/UTF-16 text holding TCVN3/VNI characters (typed with a legacy font) is converted too.

    ``cells_later``: the caller splits the text into cells and runs :func:`fix_legacy_text` and
    NFC on each distinct cell itself, so valid Unicode text is returned as decoded. On a
    million-line register that is a second instead of twenty (each distinct cell once)."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise _refuse(filename, f"binary ({kind})", f"là tệp {kind}, không phải văn bản CSV")
    decoded = _unicode_text(data, filename)
    if decoded is not None and cells_later:
        result = Decoded(decoded[0], decoded[1], False)
    elif decoded is not None:
        text, encoding = decoded
        legacy = fix_legacy_text([text])[1]
        if legacy is not None:
            text, encoding = _convert_lines(text, _CONVERTERS[legacy]), legacy
        result = Decoded(normalise_nfc(text), encoding, legacy is not None)
    else:
        scored = {name: (text, _score(text)) for name, text in _legacy_candidates(data).items()}
        name = max(scored, key=lambda n: scored[n][1].value)
        text, score = scored[name]
        if score.value <= 0 or score.strong == 0:
            raise _refuse(filename, "unknown encoding", "không phải UTF-8 và không nhận ra là tiếng Việt "
                          "theo bảng mã TCVN3, VNI hay Windows-1258")
        result = Decoded(text, name, True)
    text = result.text.rstrip("\x1a")  # DOS end-of-file mark
    if _CONTROL.search(text):
        raise _refuse(filename, "binary (control characters)", "chứa ký tự điều khiển, không phải văn bản CSV")
    return Decoded(text, result.encoding, result.converted)
