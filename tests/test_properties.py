"""Properties: the same tip typed differently gets the same verdict; nothing makes assess raise."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from triage_invariants import check_invariants

import triage

FRAGMENTS = [
    # trafficking and control
    "Em gái tôi 15 tuổi bị lừa sang Campuchia",
    "chị tôi bị bán sang Trung Quốc làm vợ",
    "bọn chúng giữ hộ chiếu của anh ấy",
    "đang bị nhốt trong phòng, cứu em với",
    "đòi 200 triệu tiền chuộc",
    "anh tôi bị đưa sang Lào làm lừa đảo",
    "chủ xưởng bắt làm 16 tiếng mỗi ngày, không trả lương",
    "họ dọa giết cả nhà nếu báo công an",
    "có người môi giới việc nhẹ lương cao ở Đài Loan",
    "bà mối hứa gả cho người Hàn Quốc",
    "người lạ quen qua Facebook rủ đi chơi xa",
    # children
    "cháu bé bị bố dượng đánh đập ở Đồng Tháp",
    "học sinh lớp 8 mất liên lạc từ hôm qua",
    "Đứa bé sơ sinh bị bỏ rơi trước cổng chùa",
    "Bé gái 9 tuổi ở Quảng Ninh bị ông hàng xóm xâm hại",
    "hàng xóm nghe tiếng trẻ khóc thét suốt đêm",
    "sinh năm 2010, đang bị chủ quán karaoke ép tiếp khách",
    "con trai tôi 22 tuổi đi làm ở Bình Dương",
    "năm 15 tuổi chị từng bị bán, nay chị 20 tuổi",
    # places, borders, sea
    "tối nay họ đưa ba cô gái qua cửa khẩu Móng Cái",
    "nhóm người lạ đang chở mấy đứa trẻ về phía biên giới",
    "em trai đi tàu cá ở Trường Sa, chủ tàu không trả lương",
    "Lào Cai hôm nay trời mưa",
    "Tôi ở Hà Giang",
    "miền Tây",
    # negations, hypotheticals, harmless senses, questions
    "không bị nhốt, chỉ hỏi về hợp đồng",
    "không ai giữ giấy tờ của tôi",
    "nếu bị lừa ra nước ngoài thì gọi số nào?",
    "bán hàng online có cần đăng ký không",
    "tôi đã trốn về được, cần hỗ trợ tâm lý",
    "cảm ơn tổng đài đã giúp đỡ",
    "Xin chào, cho hỏi đường dây nóng 111 làm việc mấy giờ",
]

VERDICT_FIELDS = ("urgency", "score", "child_involved", "under_16", "functions", "countries",
                  "provinces", "categories", "at_sea", "border_gates")
RECEIVED = "2026-05-01T09:00:00+07:00"


def score_fold(text: str) -> str:
    """Vietnamese without diacritics: the same fold as ../shared/triage/score.py."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def typed_variants(text: str) -> dict[str, str]:
    return {
        "no accents": score_fold(text),
        "upper case": text.upper(),
        "decomposed unicode": unicodedata.normalize("NFD", text),
        "spacing and emoji": "  " + text.replace(" ", "  ").replace(",", " ,") + " 😢🙏!!",
    }


def verdict(text: str) -> dict:
    result = triage.assess(text, received_at=RECEIVED)
    check_invariants(result, text)
    return {name: getattr(result, name) for name in VERDICT_FIELDS}


tips = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map(" ".join)


@given(tips)
def test_same_verdict_however_the_tip_is_typed(text):
    """Without accents, in upper case, in NFD, or with extra spaces and emoji: the same verdict."""
    expected = verdict(text)
    for name, variant in typed_variants(text).items():
        got = verdict(variant)
        diff = {k: (expected[k], got[k]) for k in VERDICT_FIELDS if expected[k] != got[k]}
        assert not diff, f"{name} changes {diff} for {text!r}"


def test_fragments_cover_the_levels():
    """The fragments used above reach more than one level (so the property is not vacuous)."""
    levels = {triage.assess(f, received_at=RECEIVED).urgency for f in FRAGMENTS}
    assert "low" in levels and len(levels) >= 3


any_unicode = st.text(alphabet=st.characters(exclude_categories=()))
vietnamese_junk = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(list("đĐăâêôơưáàảãạ \n,.;!?/:0123456789tk") + ["\u0301", "\u0323",
                                                                        "\ud800", "\udfff",
                                                                        "😢", "\x00"]),
    )
)
fragments_with_junk = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), vietnamese_junk), min_size=1, max_size=5
).map("".join)


@given(st.one_of(st.text(), any_unicode, vietnamese_junk, fragments_with_junk))
def test_assess_never_raises(text):
    """assess never raises on any unicode text, lone surrogates included; the result is valid."""
    result = triage.assess(text)
    check_invariants(result, text)


@given(
    text=st.one_of(st.text(max_size=50), st.sampled_from(FRAGMENTS)),
    sender=st.one_of(st.none(), st.text(max_size=20), st.integers(), st.sampled_from(
        ["+855123456789", "+84912345678", "0912345678", "+1", "00"])),
    received_at=st.one_of(st.none(), st.text(max_size=30), st.integers(), st.datetimes(),
                          st.sampled_from([RECEIVED, "2026-02-30T00:00:00+07:00"])),
    hints=st.one_of(st.none(), st.text(max_size=5), st.dictionaries(
        st.sampled_from(["ivr", "caller_age", "x"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=12), st.sampled_from(["danger_now"])),
    )),
)
def test_assess_never_raises_on_any_arguments(text, sender, received_at, hints):
    """Any sender, received_at and hints give a valid result and never raise."""
    result = triage.assess(text, sender=sender, received_at=received_at, hints=hints)
    check_invariants(result, text)
