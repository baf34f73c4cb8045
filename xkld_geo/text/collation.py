"""Vietnamese alphabetical order for every list of names (provinces, communes, companies, people).

Byte order puts "Cao Bằng" before "Cà Mau", "Huế" before "Hà Nội" and every "Đ" after "Y". The
Vietnamese order compares letters first, the 29 of the alphabet (a ă â b c d đ e ê g h i k l m n
o ô ơ p q r s t u ư v x y), then tones (none, huyền, hỏi, ngã, sắc, nặng), like a dictionary.

- In SQL, DuckDB's ICU extension (statically linked in the ``duckdb`` wheel) provides the
  ``vi`` collation: ``ORDER BY name COLLATE vi`` (:data:`SQL`).
- In Python, :func:`sort_key` gives the same order without ICU (PyICU has no wheel here and needs a
  compiler): a key of letters, then tones, then the text itself to break ties.
"""
from __future__ import annotations

import unicodedata
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
SQL = "COLLATE vi"
"""What follows a name in ``ORDER BY`` to sort it in Vietnamese (DuckDB ICU)."""

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
"""The 29 letters of Vietnamese, with f, j, w, z where the Latin alphabet has them (as ICU does)."""
_LETTER_RANK = {ch: i for i, ch in enumerate(ALPHABET)}
_MODIFIERS = {"\u0306": "ă", "\u0302": "â", "\u031b": "ơ"}   # breve, circumflex, horn (on a, o, u, e)
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}   # huyền, hỏi, ngã, sắc, nặng
_BASE_WITH_MARK = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
                   ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}


def _letters(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """(letter ranks, tones) of ``text``: digits before the alphabet, other letters after it."""
    letters: list[tuple[int, int]] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if ch in _TONES:
            if tones:
                tones[-1] = _TONES[ch]
            continue
        if unicodedata.combining(ch):
            if letters:
                base = ALPHABET[letters[-1][1]] if letters[-1][0] == 0 else ""
                merged = _BASE_WITH_MARK.get((base, ch))
                if merged:
                    letters[-1] = (0, _LETTER_RANK[merged])
            continue
        if ch in _LETTER_RANK:
            letters.append((0, _LETTER_RANK[ch]))
        elif ch.isspace() or not ch.isalnum():
            letters.append((-2, 0))             # a word ends before any letter: "Ba Vì" < "Bac"
        elif ch.isdigit():
            letters.append((-1, ord(ch)))       # digits before letters, as ICU does
        else:
            letters.append((1, ord(ch)))        # f, j, w, z and other letters: after the alphabet
        tones.append(0)
    return letters, tones


def sort_key(text: object) -> tuple[object, ...]:
    """The Vietnamese dictionary key of ``text``: letters, then tones, then the text itself."""
    value = "" if text is None else str(text)
    letters, tones = _letters(value.strip())
    return (letters, tones, value)


def sorted_names(items: Iterable[T], key: Callable[[T], object] | None = None) -> list[T]:
    """``items`` in Vietnamese order (of ``key(item)``, or of the items themselves)."""
    pick: Callable[[T], object] = key if key is not None else (lambda item: item)
    return sorted(items, key=lambda item: sort_key(pick(item)))
