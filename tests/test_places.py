"""Places: provinces, countries, calling codes, border gates, sea and islands (GUIDELINES.md)."""

from __future__ import annotations

import pytest

import triage


def province_code(name: str) -> str:
    """The code of the current provincial unit called ``name`` in the gazetteer."""
    provinces = triage.load_rules().places.provinces
    codes = [code for code, province in provinces.items() if province.name == name]
    assert len(codes) == 1, f"no single province named {name!r} in places.toml"
    return codes[0]


# -- provinces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "current"),
    [
        ("Em gái tôi ở Nghệ An bị lừa bán sang Trung Quốc làm vợ", "Nghệ An"),
        ("em gai toi o nghe an bi lua ban sang trung quoc lam vo", "Nghệ An"),
        ("Chị tôi ở Đà Nẵng bị chủ giữ giấy tờ, không cho về", "Đà Nẵng"),
        ("Cháu tôi ở Cà Mau bị nhóm người lạ dụ đi, mất liên lạc từ hôm qua", "Cà Mau"),
    ],
)
def test_current_province_name(text, current):
    """A current province name gives that province's code."""
    result = triage.assess(text)
    assert province_code(current) in result.provinces


@pytest.mark.parametrize(
    ("text", "current"),
    [
        ("Em gái tôi ở Hà Giang bị lừa bán sang Trung Quốc làm vợ", "Tuyên Quang"),
        ("em gai toi o ha giang bi lua ban sang trung quoc lam vo", "Tuyên Quang"),
        ("Chị tôi làm ở Bình Dương bị chủ giữ giấy tờ, không cho về", "Hồ Chí Minh"),
        ("Anh tôi quê Quảng Bình bị lừa sang Lào làm lừa đảo", "Quảng Trị"),
        ("Em tôi ở Kon Tum bị đưa sang Campuchia, giờ bị giữ hộ chiếu", "Quảng Ngãi"),
    ],
)
def test_former_province_maps_to_the_new_unit(text, current):
    """A pre-2025 province name gives the code of the unit it was merged into."""
    result = triage.assess(text)
    assert province_code(current) in result.provinces
    assert all(code in triage.load_rules().places.provinces for code in result.provinces)


# -- countries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Anh tôi bị lừa sang Campuchia làm việc, bị giữ hộ chiếu", "KH"),
        ("Anh tôi bị lừa sang Cam-pu-chia làm việc, bị giữ hộ chiếu", "KH"),
        ("anh toi bi lua sang campuchia lam viec, bi giu ho chieu", "KH"),
        ("chi toi bi lua ban sang TQ lam vo", "CN"),
        ("Chị tôi bị lừa bán sang Trung Quốc làm vợ", "CN"),
        ("Anh tôi bị đưa tới Myawaddy, bị ép làm lừa đảo", "MM"),
        ("Anh tôi bị đưa tới Sihanoukville, bị ép làm lừa đảo", "KH"),
        ("Em tôi bị bán vào sòng bạc ở Thái Lan, không cho về", "TH"),
    ],
)
def test_countries_from_names_and_aliases(text, country):
    """Country names, spellings, abbreviations and foreign cities give the country's code."""
    result = triage.assess(text)
    assert country in result.countries
    assert "VN" not in result.countries


VICTIM_ABROAD = "Anh tôi đang bị giữ hộ chiếu, không cho về"


@pytest.mark.parametrize("sender", ["+85512345678", "+855 12 345 678", "0085512345678"])
def test_foreign_calling_code_gives_a_country(sender):
    """A tip from a +855 number about a victim held gives KH."""
    result = triage.assess(VICTIM_ABROAD, sender=sender)
    assert "KH" in result.countries


@pytest.mark.parametrize("sender", ["+84912345678", "84912345678", "0912345678", "0912 345 678"])
def test_vietnamese_numbers_give_no_country(sender):
    """Vietnamese numbers (+84..., 09...) give no country."""
    result = triage.assess(VICTIM_ABROAD, sender=sender)
    assert result.countries == ()


# -- border gates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Tôi nghi có đường dây đưa phụ nữ qua cửa khẩu Móng Cái bán sang Trung Quốc",
        "toi nghi co duong day dua phu nu qua cua khau mong cai ban sang trung quoc",
        "Tối nay có nhóm người chuẩn bị đưa ba cô gái qua cửa khẩu Móng Cái",
    ],
)
def test_border_gate_brings_in_the_border_function(text):
    """A trafficking tip at a border gate names the gate and goes to the border function."""
    result = triage.assess(text)
    assert result.border_gates
    assert result.urgency != "low"
    assert "border" in result.functions
    assert province_code("Quảng Ninh") in result.provinces


# -- sea and islands -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Em trai tôi đi bạn tàu cá ở Trường Sa, bị chủ tàu đánh, không trả lương",
        "Em trai tôi đi bạn tàu cá ở Bạch Long Vĩ, bị chủ tàu đánh, không trả lương",
        "em trai toi di ban tau ca o bach long vi, bi chu tau danh, khong tra luong",
    ],
)
def test_vietnamese_sea_and_islands(text):
    """Vietnam's islands (Trường Sa, Bạch Long Vĩ) are at sea and bring in the border function."""
    result = triage.assess(text)
    assert result.at_sea
    assert result.urgency != "low"
    assert "border" in result.functions


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Chồng tôi đi tàu cá bị chủ tàu giữ ngoài khơi Malaysia, không trả lương, không cho về",
         "MY"),
        ("Chồng tôi làm trên tàu cá ở vùng biển Indonesia, bị chủ tàu đánh đập, không trả lương",
         "ID"),
    ],
)
def test_foreign_waters_are_not_vietnams_sea(text, country):
    """A fishing boat in foreign waters is not at sea in Vietnam and does not bring in border."""
    result = triage.assess(text)
    assert country in result.countries
    assert not result.at_sea
    assert "border" not in result.functions


# -- region words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Em tôi bị lừa về miền Tây làm quán karaoke, bị giữ giấy tờ",
        "em toi bi lua ve mien tay lam quan karaoke, bi giu giay to",
        "Ở miền Tây có nhiều cô gái bị dụ đi làm xa",
    ],
)
def test_region_word_is_no_province_and_not_cambodia(text):
    """"miền Tây" is a region: no province, and not Cambodia ("Miên")."""
    result = triage.assess(text)
    assert result.provinces == ()
    assert "KH" not in result.countries
