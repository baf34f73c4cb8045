"""Encodings of provincial reports: tables round-trip, files decode, Unicode is never altered."""
from __future__ import annotations

import codecs
import random
import unicodedata
from typing import Callable

import pytest

from xkld_geo.errors import IngestError
from xkld_geo.intake.charsets import (
    VIETNAMESE_LETTERS,
    Decoded,
    decode_bytes,
    fix_legacy_text,
    from_tcvn3,
    from_vni,
    normalise_nfc,
    to_cp1258,
    to_tcvn3,
    to_vni,
)

TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
LOWER = [unicodedata.normalize("NFC", b + t) for b in "aăâeêioôơuưy" for t in TONES] + ["đ"]
LETTERS = [c for c in LOWER + [c.upper() for c in LOWER] if not c.isascii()]  # 134 letters
TCVN3_CAPITALS = "ĂÂÊÔƠƯĐ"  # the only uppercase letters with diacritics that TCVN3 has


def tcvn3_view(text: str) -> str:
    """What survives a TCVN3 round trip: uppercase letters with tone marks become lowercase."""
    return "".join(c.lower() if c in VIETNAMESE_LETTERS and c.isupper() and c not in TCVN3_CAPITALS
                   else c for c in text)


def test_letter_inventory() -> None:
    assert len(LETTERS) == 134 and set(LETTERS) == VIETNAMESE_LETTERS


@pytest.mark.parametrize("letter", LETTERS)
def test_every_letter_round_trips(letter: str) -> None:
    assert from_vni(to_vni(letter)) == letter
    assert from_vni(to_vni(f"Ng{letter}nh")) == f"Ng{letter}nh"  # in context: no greedy mix-up
    expected = letter if letter.islower() or letter in TCVN3_CAPITALS else letter.lower()
    assert from_tcvn3(to_tcvn3(letter)) == expected  # documented TCVN3 limitation for capitals
    assert len(to_tcvn3(letter)) == 1 and to_tcvn3(letter)[0] >= 0xA1


def test_tables_are_injective() -> None:
    lower = [c for c in LETTERS if c.islower()]
    assert len({to_tcvn3(c) for c in lower + list(TCVN3_CAPITALS)}) == 67 + 7
    assert len({to_vni(c) for c in LETTERS}) == 134
    assert all(from_tcvn3(bytes([b])) == chr(b) for b in range(0x20, 0x7F))  # ASCII untouched


# The customary legacy renderings (e.g. the national motto as seen in old .VnTime/VNI documents).
@pytest.mark.parametrize(("unicode", "tcvn3", "vni"), [
    ("Hà Nội", "Hµ Néi", "Haø Noäi"),
    ("Nghệ An", "NghÖ An", "Ngheä An"),
    ("Thanh Hóa", "Thanh Hãa", "Thanh Hoùa"),
    ("Việt Nam", "ViÖt Nam", "Vieät Nam"),
    ("Cộng hoà xã hội chủ nghĩa Việt Nam", "Céng hoµ x· héi chñ nghÜa ViÖt Nam",
     "Coäng hoaø xaõ hoäi chuû nghóa Vieät Nam"),
    ("Độc lập - Tự do - Hạnh phúc", "§éc lËp - Tù do - H¹nh phóc", "Ñoäc laäp - Töï do - Haïnh phuùc"),
    ("đặt Tổng Ỵ Ỉ Ĩ Ị ỵ ỉ ĩ ị", "®Æt Tæng þ Ø Ü Þ þ Ø Ü Þ", "ñaët Toång Î Æ Ó Ò î æ ó ò"),
    ("ĂN Ở ĐƯỢC", "¡N ë §¦îC", "AÊN ÔÛ ÑÖÔÏC"),
])
def test_known_legacy_spellings(unicode: str, tcvn3: str, vni: str) -> None:
    assert to_tcvn3(unicode) == tcvn3.encode("latin-1") and to_vni(unicode) == vni.encode("latin-1")
    assert from_tcvn3(tcvn3) == tcvn3_view(unicode) and from_vni(vni) == unicode


def test_unrepresentable_characters_are_refused_by_encoders() -> None:
    for bad in ("Zürich", "北京"):
        with pytest.raises(ValueError):
            to_tcvn3(bad)
    assert to_vni("Bà Rịa – Vũng Tàu “x”") == "Baø Ròa \x96 Vuõng Taøu \x93x\x94".encode("latin-1")


REPORT = """Tháng,Mã xã,Tên xã,Tỉnh,Thị trường,Số người
2025-01,17851,Xã Diễn Châu,Nghệ An,Nhật Bản,12
2025-01,00070,Phường Ô Chợ Dừa,Hà Nội,Hàn Quốc,3
2025-02,17500,Xã Quỳnh Lưu,Nghệ An,Đài Loan,25
2025-02,18100,Xã Thạch Hà,Hà Tĩnh,Nhật Bản,7
2025-03,18350,Xã Kỳ Anh,Hà Tĩnh,Hàn Quốc,4
2025-03,16000,Xã Hoằng Hóa,Thanh Hóa,Đài Loan,9
2025-04,19300,Phường Đồng Hới,Quảng Bình,Nhật Bản,2
2025-04,17950,Xã Nghi Lộc,Nghệ An,Ả Rập Xê Út,1
2025-05,24100,Xã Ea Kar,Đắk Lắk,Đài Loan,6
2025-05,26500,"Phường Bà Rịa","Bà Rịa – Vũng Tàu",Hàn Quốc,5
2025-06,18000,Xã Khuyến Lương,Hà Tĩnh,"Nhật Bản, Đài Loan",11
"""


@pytest.mark.parametrize(("encode", "encoding", "expected", "converted"), [
    (lambda t: t.encode("utf-8"), "utf-8", REPORT, False),
    (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig", REPORT, False),
    (lambda t: t.encode("utf-16"), "utf-16", REPORT, False),
    (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16", REPORT, False),
    (lambda t: t.encode("utf-16-le"), "utf-16", REPORT, False),  # no BOM: recognised by its NULs
    (to_cp1258, "cp1258", REPORT, True),
    (lambda t: to_cp1258(t, precomposed=False), "cp1258", REPORT, True),  # tones as combining marks
    (to_tcvn3, "tcvn3", tcvn3_view(REPORT), True),
    (to_vni, "vni", REPORT, True),
    (lambda t: t.replace("\n", "\r\n").encode("utf-8"), "utf-8", REPORT.replace("\n", "\r\n"), False),
    (lambda t: to_tcvn3(t).decode("cp1252").encode("utf-8"), "tcvn3", tcvn3_view(REPORT), True),
    (lambda t: to_vni(t).decode("cp1252").encode("utf-8"), "vni", REPORT, True),
], ids=["utf8", "utf8-bom", "utf16", "utf16-be", "utf16-nobom", "cp1258", "cp1258-decomposed", "tcvn3", "vni",
        "crlf", "tcvn3-in-utf8", "vni-in-utf8"])
def test_report_decodes(encode: Callable[[str], bytes], encoding: str, expected: str, converted: bool) -> None:
    result = decode_bytes(encode(REPORT), "bao_cao.csv")
    assert result == Decoded(expected, encoding, converted)


def test_utf8_file_with_unicode_header_and_tcvn3_rows_keeps_the_header() -> None:
    header, rows = REPORT.split("\n", 1)
    data = (header + "\n").encode("utf-8") + to_tcvn3(rows).decode("cp1252").encode("utf-8")
    assert decode_bytes(data, "x.csv") == Decoded(tcvn3_view(REPORT), "tcvn3", True)


def test_nfd_comes_back_nfc() -> None:
    nfd = unicodedata.normalize("NFD", REPORT)
    assert nfd != REPORT
    assert decode_bytes(nfd.encode("utf-8"), "x.csv") == Decoded(REPORT, "utf-8", False)
    convert, name = fix_legacy_text(nfd.splitlines())
    assert name is None and [convert(c) for c in nfd.splitlines()] == REPORT.splitlines()
    assert normalise_nfc("Vie\u0323\u0302t") == "Việt"


@pytest.mark.parametrize(("cells", "encoding", "expected"), [
    (["Hµ Néi", "NghÖ An", "Xin chµo"], "tcvn3", ["Hà Nội", "Nghệ An", "Xin chào"]),
    (["Haø Noäi", "Ngheä An", "Thanh Hoùa", "Ñoàng Hôùi"], "vni", ["Hà Nội", "Nghệ An", "Thanh Hóa", "Đồng Hới"]),
    (["An Phó", "Hµ Néi", "NghÖ An"], "tcvn3", ["An Phú", "Hà Nội", "Nghệ An"]),  # pure TCVN3: all converted
    (["Thanh Hãa"], None, ["Thanh Hãa"]),  # no character proper Unicode lacks: too little evidence
    (["Tỉnh", "Số người", "Hµ Néi"], None, ["Tỉnh", "Số người", "Hµ Néi"]),  # mostly Unicode: kept
    (["Hà Nội", "Nghệ An", "Xin chào"], None, ["Hà Nội", "Nghệ An", "Xin chào"]),
    (["Tokyo", "2025-01-31", "12,5", ""], None, ["Tokyo", "2025-01-31", "12,5", ""]),
])
def test_fix_legacy_text(cells: list[str], encoding: str | None, expected: list[str]) -> None:
    convert, name = fix_legacy_text(cells)
    assert name == encoding and [convert(c) for c in cells] == expected


PROPER_UNICODE = ["Hà Nội", "Quảng Trị", "Đắk Lắk", "Bà Rịa – Vũng Tàu", "Ông Ích Khiêm",
                  "Phường Ô Chợ Dừa", "Số CCCD", "Nhật Bản", "Ả Rập Xê Út", "Hoà Bình", "Thuý Kiều",
                  "Café crème, Zürich, São Paulo, Gómez", "Hôtel de Ville", "1½ × 2 · 3", "12.345,67",
                  "31/12/2025", "Visa E-9 (Hàn Quốc)", "Ông", "Ô", "Ích", "Út", "ờ ồ ố", "Xã Ia Púch",
                  "Zürich, Köln, Malmö, Curaçao", "già quá Hoá Khoẻ", "Tên xã", "Mã", "© 2025 «Số liệu»"]


@pytest.mark.parametrize("text", PROPER_UNICODE)
def test_proper_unicode_is_never_altered(text: str) -> None:
    convert, name = fix_legacy_text([text])
    assert name is None and convert(text) == text
    assert decode_bytes(text.encode("utf-8"), "x.csv") == Decoded(text, "utf-8", False)
    assert decode_bytes(codecs.BOM_UTF8 + text.encode("utf-8"), "x.csv").text == text


@pytest.mark.parametrize("encode", [to_tcvn3, to_vni])
def test_unicode_template_header_with_legacy_data(encode: Callable[[str], bytes]) -> None:
    header = ["Tháng", "Mã xã", "Tên xã", "Tỉnh", "Thị trường", "Số người"]
    data = ["Xã Diễn Châu", "Nghệ An", "Phường Ô Chợ Dừa", "Hà Nội", "Xã Quỳnh Lưu", "Hà Tĩnh",
            "Xã Thạch Hà", "Thanh Hóa", "Xã Nghi Lộc", "Phường Trúc Bạch"]
    legacy = [encode(cell).decode("cp1252") for cell in data]
    convert, name = fix_legacy_text(header + legacy + ["Nhật Bản", "Hàn Quốc"])  # + Unicode drop-downs
    assert name == encode.__name__[3:]
    assert [convert(c) for c in header + legacy] == header + [tcvn3_view(c) for c in data]


def test_decision_is_per_file() -> None:
    alone = "Thò traán Bình Gia"  # VNI "Thị trấn Bình Gia": ambiguous on its own
    assert fix_legacy_text([alone])[1] is None
    convert, name = fix_legacy_text([alone, "Haø Noäi", "Ngheä An"])
    assert name == "vni" and convert(alone) == "Thị trấn Bình Gia"


def test_proper_unicode_file_is_never_altered() -> None:
    cells = PROPER_UNICODE + REPORT.replace("\n", ",").split(",")
    convert, name = fix_legacy_text(cells)
    assert name is None and [convert(c) for c in cells] == cells


@pytest.mark.parametrize("data", [
    random.Random(7).randbytes(4096),
    bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    b"\x89PNG\r\n\x1a\n",
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
    b"%PDF-1.7\n",
    b"Thang,Ma xa\n2025,\x00\x00\x00\x01\x02\n",  # NULs that are not UTF-16
    "Café crème à Genève, déjà vu\n".encode("cp1252"),  # 8-bit but not Vietnamese
    b"\xef\xbb\xbfH\xe0 N\xe9i\n",  # BOM then invalid UTF-8
    b"Thang\x07,Ma\x1b xa\n",  # control characters
])
def test_refusals_name_the_file(data: bytes) -> None:
    with pytest.raises(IngestError) as caught:
        decode_bytes(data, "bao_cao_thang_1.csv")
    assert "bao_cao_thang_1.csv" in caught.value.message and "CSV UTF-8" in caught.value.message
    assert caught.value.details["file"] == "bao_cao_thang_1.csv" and caught.value.details["reason"]


def test_ascii_and_empty_files() -> None:
    assert decode_bytes(b"a,b\n1,2\n\x1a", "x.csv") == Decoded("a,b\n1,2\n", "utf-8", False)
    assert decode_bytes(b"", "x.csv") == Decoded("", "utf-8", False)
