"""Hand-typed unit references -> 2025 commune codes: keys, codes, names, old units, splits."""
from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import frame, settings_for, write_tiny_data
from xkld_geo.database import db
from xkld_geo.intake.gazetteer import Gazetteer, Match
from xkld_geo.intake.spelling import clean_code, fold, normalise
from xkld_geo.warehouse import assembly

NFD = lambda s: unicodedata.normalize("NFD", s)  # noqa: E731


# --- keys ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["Phường 1", "P.01", "P1", "phường 01", "P. 1", "p01", " PHƯỜNG  1 "])
def test_numbered_wards_share_one_key(typed: str) -> None:
    assert normalise(typed) == "1"


def test_numbered_wards_keep_their_number() -> None:
    assert normalise("Phường 12") == "12" != normalise("Phường 1")
    assert normalise("Xã Lộ 25") == "lộ 25"


@pytest.mark.parametrize("a, b", [("Hòa", "Hoà"), ("Thủy", "Thuỷ"), ("Quý", "Qúy"), ("Khoẻ", "Khỏe"),
                                  ("Xã Hòa Bình", "xã hoà bình"), ("Thủy Tân", NFD("Thuỷ Tân")),
                                  ("Ea H'leo", "Ea H’Leo"), ("Bà Rịa-Vũng Tàu", "Bà Rịa – Vũng Tàu")])
def test_spelling_variants_share_a_key(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


@pytest.mark.parametrize("typed, kind, key", [
    ("Xã Thử 3", "commune", "thử 3"), ("X. Thử 3", "commune", "thử 3"), ("x Thử 3", "commune", "thử 3"),
    ("Thị trấn Mường Chà", "commune", "mường chà"), ("TT. Mường Chà", "commune", "mường chà"),
    ("tt Mường Chà", "commune", "mường chà"), ("Đặc khu Cô Tô", "commune", "cô tô"),
    ("Xã Thị Hoa", "commune", "thị hoa"), ("Thành Công", "commune", "thành công"),
    ("Quận 3", "district", "3"), ("Q.3", "district", "3"), ("q3", "district", "3"),
    ("Huyện Châu Thành", "district", "châu thành"), ("H. Châu Thành", "district", "châu thành"),
    ("TX. Phước Long", "district", "phước long"), ("Thị xã Phước Long", "district", "phước long"),
    ("Thành phố Bảo Lộc", "district", "bảo lộc"), ("TP Bảo Lộc", "district", "bảo lộc"),
    ("Tỉnh Nghệ An", "province", "nghệ an"), ("T. Nghệ An", "province", "nghệ an"),
    ("TP. Hồ Chí Minh", "province", "hồ chí minh"), ("Thành phố Hà Nội", "province", "hà nội"),
])
def test_type_prefixes_are_removed(typed: str, kind: str, key: str) -> None:
    assert normalise(typed, kind) == key


def test_prefix_alone_is_kept_and_kind_is_checked() -> None:
    assert normalise("Phường") == "phường"
    assert normalise(None) == "" and normalise("   ") == ""
    with pytest.raises(ValueError):
        normalise("Xã A", "hamlet")


@pytest.mark.parametrize("typed, folded", [("Đắk Lắk", "dak lak"), ("Đăk Lăk", "dak lak"), ("Hòa", "hoa"),
                                           ("Xã Thử 3", "thu 3"), (NFD("Nghĩa Đàn"), "nghia dan")])
def test_fold_drops_accents(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@given(st.text(alphabet="aăâeêioôơuưyđnghtqmc ÀÁẢÃẠàáảãạèéẻẽẹòóỏõọùúủũụìíỉĩịýỳỷỹỵĐ.-'", max_size=20))
def test_nfc_and_nfd_give_the_same_key(text: str) -> None:
    assert normalise(text) == normalise(NFD(text)) == normalise(unicodedata.normalize("NFC", text))


@pytest.mark.parametrize("typed, code", [("1234", "01234"), (1234, "01234"), (1234.0, "01234"),
                                         ("1234.0", "01234"), (" 99003 ", "99003"), ("001234", "01234"),
                                         ("12a", "12a"), (None, None), (float("nan"), None), ("", None)])
def test_codes_are_padded(typed: object, code: str | None) -> None:
    assert clean_code(typed) == code


def test_match_resolved() -> None:
    assert Match("99003", "code").resolved and not Match(None, "split", "90002").resolved


# --- the fictional country (no history) ---------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_units(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """2025 communes and provinces of the fictional warehouse, built once for this module (the
    function-scoped ``tiny_con`` costs a build per test; it is used where the connection matters)."""
    folder = tmp_path_factory.mktemp("gazetteer")
    settings = settings_for(write_tiny_data(folder / "data"), folder / "tiny.duckdb")
    assembly.build(settings)
    con = db.open_connection(settings.db_path, read_only=True)
    units = "SELECT code, name, unit_type, parent_code FROM admin_units WHERE era = '2025' AND level = $l"
    try:
        return frame(con, units, l="commune"), frame(con, units, l="province")
    finally:
        con.close()
        db.close_all()


@pytest.fixture(scope="module")
def tiny(tiny_units) -> Gazetteer:
    return Gazetteer.from_frames(*tiny_units)


def test_from_db_without_history(tiny_con) -> None:
    g = Gazetteer.from_db(tiny_con)
    assert g.match(None, "Xã Thử 3") == Match("99003", "name")
    assert g.match("90002", None).status == "unmatched"  # no old units: an old code is just unknown


@pytest.mark.parametrize("code, name, status", [
    (None, "Xã Thử 3", "name"), (None, "xã thử 3", "name"), (None, "X. Thử 3", "name"),
    (None, "  XÃ  THỬ   3 ", "name"), (None, NFD("Xã Thử 3"), "name"), (None, "Thu 3", "name"),
    (None, "xa thu 3", "name"), ("99003", None, "code"), (99003, None, "code"), (99003.0, None, "code"),
    ("99003", "Xã Thử 3", "code"), ("99003", "Thu 3", "code"), (float("nan"), "Xã Thử 3", "name"),
])
def test_tiny_commune_3(tiny: Gazetteer, code: object, name: str | None, status: str) -> None:
    m = tiny.match(code, name)
    assert (m.code, m.status) == ("99003", status) and m.resolved


@pytest.mark.parametrize("name", ["Phường Mẫu 1", "P. Mẫu 1", "phuong mau 1"])
@pytest.mark.parametrize("province", ["Thành phố Mẫu", "TP Mẫu", "TP. Mẫu", "98", 98, "thanh pho mau"])
def test_tiny_ward_within_province(tiny: Gazetteer, name: str, province: object) -> None:
    assert tiny.match(None, name, province) == Match("98001", "name")


def test_tiny_province_restricts_the_search(tiny: Gazetteer) -> None:
    m = tiny.match(None, "Xã Thử 3", "Thành phố Mẫu")
    assert m.status == "unmatched" and m.code is None
    assert "ở Thành phố Mẫu" in m.reason and all("Thành phố Mẫu" in c for c in m.candidates)


def test_tiny_unknown_name_lists_three_nearest(tiny: Gazetteer) -> None:
    m = tiny.match(None, "Xã Không Có")
    assert m.status == "unmatched" and m.code is None and len(m.candidates) == 3
    assert m.reason.startswith("Không tìm thấy xã 'Xã Không Có' trong cả nước; gần nhất: ")
    assert all(c.endswith("]") and "(" in c for c in m.candidates)
    near = tiny.match(None, "Xã Thủ 7", "99").candidates
    assert len(near) == 3 and all(c.startswith("Xã Thử ") and "(Tỉnh Thử Nghiệm)" in c for c in near)


def test_tiny_unknown_and_contradicting_codes(tiny: Gazetteer) -> None:
    m = tiny.match("99999", None)
    assert (m.code, m.status) == (None, "unmatched") and "Mã '99999'" in m.reason
    m = tiny.match("99999", "Xã Thử 3")  # the name still resolves, and the reason says why
    assert (m.code, m.status) == ("99003", "name") and "Mã '99999'" in m.reason and "theo tên" in m.reason
    m = tiny.match("99003", "Xã Thử 4")  # never silently pick one of the two
    assert (m.code, m.status) == (None, "ambiguous")
    assert "99003" in m.reason and "Xã Thử 4" in m.reason and any("[99004]" in c for c in m.candidates)
    m = tiny.match("99003", None, "98")
    assert (m.code, m.status) == (None, "ambiguous") and "không thuộc tỉnh '98'" in m.reason


def test_tiny_missing_input_and_unknown_province(tiny: Gazetteer) -> None:
    assert tiny.match(None, None).status == "unmatched"
    m = tiny.match(None, "Xã Thử 2", "Tỉnh Không Có")
    assert m.code == "99002" and "Không nhận ra tỉnh 'Tỉnh Không Có'" in m.reason
    assert tiny.province("Thành phố Mẫu") == "98" and tiny.province("Tỉnh Không Có") is None


def test_match_many_dedupes_and_aligns(tiny: Gazetteer, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = pd.DataFrame({"ma": [None, "99003", 99001.0, None] * 250,
                         "ten": ["Xã Thử 3", None, None, "Xã Không Có"] * 250,
                         "tinh": ["99", None, None, "99"] * 250}, index=range(5000, 6000))
    calls = []
    real = Gazetteer.match
    monkeypatch.setattr(Gazetteer, "match", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    out = tiny.match_many(rows, "ma", "ten", "tinh")
    assert len(calls) == 4
    assert list(out.columns) == ["code", "status", "old_code", "candidates", "reason"]
    assert out.index.equals(rows.index)
    assert out["code"].tolist()[:4] == ["99003", "99003", "99001", None]
    assert out["status"].tolist()[:4] == ["name", "code", "code", "unmatched"]
    assert out["candidates"].iloc[3].count("; ") == 2 and out["candidates"].iloc[0] == ""
    assert tiny.match_many(rows.iloc[:0], "ma", None).empty


# --- a tiny history, through from_frames ----------------------------------------------------------
# Old province 97 "Tỉnh Xưa" and old 99 were merged into new 99. Old 90001 went whole to 99001;
# 90002 was split between 99002 and 99003; two numbered wards "Phường 1" in two old districts;
# an old "Xã Thử 3" went to 99006; old code 99005 (an old code equal to a new one) went to 99004.
OLD_PROVINCES = pd.DataFrame({"code": ["99", "97"], "name": ["Tỉnh Thử Nghiệm", "Tỉnh Xưa"]})
OLD_DISTRICTS = pd.DataFrame({"code": ["991", "992", "971"], "name": ["Huyện Đông", "Thành phố Tây", "Thị xã Xưa"],
                              "unit_type": ["Huyện", "Thành phố", "Thị xã"], "parent_code": ["99", "99", "97"]})
CROSSWALK = pd.DataFrame(
    [("90001", "Xã Hợp Nhất", "99", "991", "99001", "full"),
     ("90002", "Xã Chia Đôi", "99", "991", "99002", "partial"),
     ("90002", "Xã Chia Đôi", "99", "991", "99003", "partial"),
     ("90003", "Phường 01", "97", "971", "99004", "full"),
     ("90004", "Phường 1", "99", "992", "99005", "full"),
     ("90005", "Xã Thử 3", "99", "991", "99006", "full"),
     ("99005", "Xã Năm Cũ", "99", "992", "99004", "full")],
    columns=["old_code", "old_name", "old_province_code", "old_district_code", "new_code", "merge_type"])


@pytest.fixture(scope="module")
def hist(tiny_units) -> Gazetteer:
    return Gazetteer.from_frames(*tiny_units, old_districts=OLD_DISTRICTS, old_provinces=OLD_PROVINCES,
                                 crosswalk=CROSSWALK)


@pytest.mark.parametrize("code, name, province, district, prefer_old, expected", [
    (None, "Xã Hợp Nhất", None, None, False, Match("99001", "old_name", "90001")),
    (None, "xa hop nhat", "99", None, False, Match("99001", "old_name", "90001")),
    ("90001", None, None, None, False, Match("99001", "old_code", "90001")),
    ("90001", "Hợp Nhất", None, None, False, Match("99001", "old_code", "90001")),
    ("90001", "Xã Thử 1", None, None, False, Match("99001", "old_code", "90001")),  # old code, new name
    (None, "Phường 1", None, "Thị xã Xưa", False, Match("99004", "old_name", "90003")),
    (None, "P.01", None, "TX Xưa", False, Match("99004", "old_name", "90003")),
    (None, "P1", "99", "Thành phố Tây", False, Match("99005", "old_name", "90004")),
    (None, "Phường 1", "Tỉnh Xưa", None, False, Match("99004", "old_name", "90003")),
    (None, "Phường 1", "97", None, False, Match("99004", "old_name", "90003")),
    (None, "Xã Thử 3", None, None, False, Match("99003", "name")),
    (None, "Xã Thử 3", None, None, True, Match("99006", "old_name", "90005")),
    ("99005", None, None, None, False, Match("99005", "code")),
    ("99005", None, None, None, True, Match("99004", "old_code", "99005")),
    ("99005", "Xã Năm Cũ", None, None, False, Match("99004", "old_code", "99005")),
    ("99005", "Xã Thử 5", None, None, True, Match("99005", "code")),
])
def test_history_matches(hist: Gazetteer, code, name, province, district, prefer_old, expected) -> None:
    m = hist.match(code, name, province, district, prefer_old=prefer_old)
    assert (m.code, m.status, m.old_code) == (expected.code, expected.status, expected.old_code), m.reason


@pytest.mark.parametrize("code, name", [(None, "Xã Chia Đôi"), ("90002", None), ("90002", "Chia Đôi"),
                                        (None, "xa chia doi")])
def test_split_old_commune_is_never_guessed(hist: Gazetteer, code, name) -> None:
    m = hist.match(code, name)
    assert (m.code, m.status, m.old_code) == (None, "split", "90002") and not m.resolved
    assert m.candidates == ("Xã Thử 2 (Tỉnh Thử Nghiệm) [99002]", "Xã Thử 3 (Tỉnh Thử Nghiệm) [99003]")
    assert m.reason == ("Xã cũ 'Xã Chia Đôi' (mã 90002) đã được chia cho nhiều xã mới: "
                        "Xã Thử 2 (Tỉnh Thử Nghiệm) [99002], Xã Thử 3 (Tỉnh Thử Nghiệm) [99003]; "
                        "cần cán bộ chọn xã mới.")


def test_numbered_ward_without_district_is_ambiguous(hist: Gazetteer) -> None:
    m = hist.match(None, "Phường 1")
    assert (m.code, m.status) == (None, "ambiguous") and len(m.candidates) == 2
    assert {c.split("[")[1] for c in m.candidates} == {"90003]", "90004]"}
    assert "Thị xã Xưa" in " ".join(m.candidates) and "cần ghi rõ" in m.reason
    m = hist.match(None, "Phường 1", district="Huyện Không Có")
    assert m.status == "ambiguous" and "Không nhận ra huyện cũ 'Huyện Không Có'" in m.reason


def test_history_provinces(hist: Gazetteer) -> None:
    assert hist.province("Tỉnh Xưa") == "97" and hist.province("xua") == "97"
    assert hist.province("Tỉnh Thử Nghiệm") == "99" and hist.province(97) == "97"


# --- the real data --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(real_con) -> Gazetteer:
    return Gazetteer.from_db(real_con)


@pytest.mark.real_data
@pytest.mark.parametrize("typed, code", [
    ("TP HCM", "79"), ("TP.HCM", "79"), ("HCM", "79"), ("TPHCM", "79"), ("Tp Hồ Chí Minh", "79"),
    ("Thành phố Hồ Chí Minh", "79"), ("Sài Gòn", "79"), ("HN", "01"), ("Hà Nội", "01"), ("Huế", "46"),
    ("Thừa Thiên Huế", "46"), ("TT Huế", "46"), ("TT. Huế", "46"), ("BR-VT", "77"),
    ("Bà Rịa Vũng Tàu", "77"), ("Bà Rịa - Vũng Tàu", "77"), ("Đắk Lắk", "66"), ("Đăk Lăk", "66"),
    ("Dak Lak", "66"), ("Daklak", "66"), ("Hà Giang", "02"), ("Tây Ninh", "80"), ("79", "79"),
    ("1", "01"), (1, "01"), ("Khánh Hoà", "56"), ("Thanh Hoá", "38"), ("Atlantis", None),
])
def test_real_provinces(real: Gazetteer, typed: object, code: str | None) -> None:
    assert real.province(typed) == code


@pytest.mark.real_data
@pytest.mark.parametrize("code, name, province", [
    (None, "Phường Ô Chợ Dừa", "Hà Nội"), (None, "P. Ô Chợ Dừa", "TP Hà Nội"), (None, "o cho dua", "HN"),
    (None, "Ô Chợ Dừa", None), ("00190", "Ô Chợ Dừa", "01"), ("190", None, None), (190.0, None, "Hà Nội"),
])
def test_real_o_cho_dua(real: Gazetteer, code, name, province) -> None:
    m = real.match(code, name, province)
    assert m.code == "00190" and m.status in ("name", "code")


@pytest.mark.real_data
def test_real_old_hue_commune_by_old_name(real: Gazetteer, real_con) -> None:
    """An old commune of Thừa Thiên Huế, named as before, reaches its new commune of Huế."""
    row = frame(real_con, "SELECT old_code, new_code FROM crosswalk WHERE old_name = 'Xã Thủy Tân' "
                          "AND old_province_code = '46'").iloc[0]
    for name in ("Xã Thủy Tân", "xã thuỷ tân", "Thuy Tan"):
        for province in ("Thừa Thiên Huế", "Huế", "TT Huế", "46"):
            m = real.match(None, name, province)
            assert (m.code, m.status, m.old_code) == (row["new_code"], "old_name", row["old_code"])
    assert real.match(row["old_code"], None, "Thừa Thiên Huế", prefer_old=True).code == row["new_code"]


@pytest.mark.real_data
def test_real_split_old_commune(real: Gazetteer, real_con) -> None:
    split = frame(real_con, "SELECT old_code, new_code FROM crosswalk WHERE old_name = 'Phường Cống Vị' "
                            "AND old_province_code = '01' AND merge_type = 'partial' ORDER BY new_code")
    assert len(split) >= 2
    old = split["old_code"].iloc[0]
    for m in (real.match(None, "Phường Cống Vị", "Hà Nội"), real.match(old, None, prefer_old=True),
              real.match(old, "Cống Vị")):
        assert (m.code, m.status, m.old_code) == (None, "split", old)
        assert [c[-6:-1] for c in m.candidates] == split["new_code"].tolist()
        assert "cần cán bộ chọn xã mới" in m.reason


@pytest.mark.real_data
def test_real_duplicate_names_are_ambiguous(real: Gazetteer, real_con) -> None:
    n = frame(real_con, "SELECT count(*) n FROM admin_units WHERE era = '2025' AND level = 'commune' "
                        "AND name = 'Tân An'")["n"].iloc[0]
    m = real.match(None, "Tân An")
    assert (m.code, m.status) == (None, "ambiguous") and len(m.candidates) == 3
    assert f"trùng với {n} xã" in m.reason and all("Tân An" in c for c in m.candidates)
    assert real.match(None, "Phường 1").status == "ambiguous"  # a numbered ward of many districts


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["Phường Hòa Bình", "P. Hoà Bình", "phuong hoa binh", NFD("Hoà Bình"),
                                  "HÒA BÌNH", "Xã Hoà Bình"])
def test_real_tone_mark_placement(real: Gazetteer, real_con, name: str) -> None:
    code = frame(real_con, "SELECT code FROM admin_units WHERE era = '2025' AND level = 'commune' "
                           "AND parent_code = '25' AND name IN ('Hòa Bình', 'Hoà Bình')")["code"]
    assert len(code) == 1
    assert real.match(None, name, "Phú Thọ") == Match(code.iloc[0], "name")


@pytest.mark.real_data
def test_real_numbered_ward_in_old_district(real: Gazetteer, real_con) -> None:
    row = frame(real_con, "SELECT c.old_code, c.new_code FROM crosswalk c JOIN admin_units d ON d.era = "
                          "'pre2025' AND d.level = 'district' AND d.code = c.old_district_code "
                          "WHERE c.old_name = 'Phường 1' AND d.name = 'Quận 3'").iloc[0]
    for district in ("Quận 3", "Q.3", "q3"):
        m = real.match(None, "P.01", "TP.HCM", district, prefer_old=True)
        assert (m.code, m.old_code) == (row["new_code"], row["old_code"])
