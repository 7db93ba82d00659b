"""Who is a child: explicit ages, birth dates, school grades (GUIDELINES.md, "Child involved")."""

from __future__ import annotations

import pytest

import triage

RECEIVED = "2026-05-01T09:00:00+07:00"

# A text that is clearly harmful now, with a slot for who the victim is.
HARM = "{who} đang bị chủ xưởng nhốt trong kho và đánh đập"


@pytest.mark.parametrize(
    "who",
    [
        "Con tôi 14 tuổi",
        "Con tôi 14t",
        "con toi 14t",
        "Con tôi mười bốn tuổi",
        "con toi muoi bon tuoi",
        "Một em trai 14 tuổi",
    ],
)
def test_explicit_age_under_16(who):
    """An explicit age of 14 (digits, "14t", words) makes a harmed person a child under 16."""
    result = triage.assess(HARM.format(who=who), received_at=RECEIVED)
    assert result.child_involved
    assert result.under_16
    assert 14 in result.ages


@pytest.mark.parametrize(
    "who", ["Em gái tôi 17 tuổi", "em gai toi 17t", "Em gái tôi mười bảy tuổi"]
)
def test_age_17_is_a_child_but_not_under_16(who):
    """A 17-year-old is a child (under 18) but not under 16."""
    result = triage.assess(HARM.format(who=who), received_at=RECEIVED)
    assert result.child_involved
    assert not result.under_16
    assert 17 in result.ages


@pytest.mark.parametrize(
    "text",
    [
        "Con gái tôi 22 tuổi bị lừa sang Campuchia, bọn chúng giữ hộ chiếu và đòi tiền chuộc",
        "con gai toi 22t bi lua sang Campuchia, bon chung giu ho chieu va doi tien chuoc",
        "Con trai tôi năm nay 25 tuổi bị bán vào sòng bạc bên Campuchia, không cho về",
    ],
)
def test_adult_son_or_daughter_is_not_a_child(text):
    """An adult son or daughter ("con gái tôi 22 tuổi") is not a child."""
    result = triage.assess(text, received_at=RECEIVED)
    assert result.urgency != "low"
    assert not result.child_involved
    assert not result.under_16


BORN_2010 = "Người làm thuê sinh năm 2010 đang bị chủ nhốt trong kho và đánh đập"


def test_birth_year_relative_to_received_at():
    """With received_at, a birth year giving 17 or less makes the person a child."""
    result = triage.assess(BORN_2010, received_at=RECEIVED)
    assert result.child_involved
    assert 16 in result.ages


def test_birth_year_without_received_at_gives_no_age():
    """With no received_at, a birth year gives no age."""
    result = triage.assess(BORN_2010, received_at=None)
    assert result.ages == ()
    assert not result.child_involved


def test_birth_year_of_an_adult():
    """A birth year that gives 18 or more on the day received is an adult."""
    text = "Người làm thuê sinh năm 1998 đang bị chủ nhốt trong kho và đánh đập"
    result = triage.assess(text, received_at=RECEIVED)
    assert 28 in result.ages
    assert not result.child_involved


BORN_10_SEP_2008 = "Cậu ấy sinh ngày 10/9/2008, đang bị chủ nhốt trong kho và đánh đập"


@pytest.mark.parametrize(
    ("received_at", "age", "child"),
    [
        ("2026-09-09T10:00:00+07:00", 17, True),  # the day before the 18th birthday
        ("2026-09-10T10:00:00+07:00", 18, False),  # the 18th birthday
        ("2027-01-15T10:00:00+07:00", 18, False),
    ],
)
def test_full_birth_date(received_at, age, child):
    """A full birth date counts whole years on the day the tip is received."""
    result = triage.assess(BORN_10_SEP_2008, received_at=received_at)
    assert age in result.ages
    assert result.child_involved is child


@pytest.mark.parametrize(
    "text",
    [
        "Cháu nhà bên học lớp 8, bị bố dượng nhốt trong nhà và đánh đập suốt",
        "chau nha ben hoc lop 8, bi bo duong nhot trong nha va danh dap suot",
        "Một học sinh cấp 2 đang bị nhóm người lạ giữ trong nhà hoang, bị đánh",
    ],
)
def test_school_grade_makes_a_child(text):
    """A school grade up to 12 ("lớp 8", "học sinh cấp 2") names a child."""
    result = triage.assess(text, received_at=RECEIVED)
    assert result.child_involved


@pytest.mark.parametrize(
    "text",
    [
        "Tôi là cô giáo chủ nhiệm lớp 5, muốn xin tài liệu tuyên truyền về phòng chống mua bán "
        "người để giảng cho lớp, tổng đài có gửi được không ạ?",
        "Cô giáo chủ nhiệm lớp 5 hỏi tổng đài có tài liệu nào dạy học sinh cách phòng tránh bị "
        "xâm hại không",
    ],
)
def test_teacher_asking_for_awareness_material(text):
    """A teacher of "lớp 5" asking for awareness material is low and involves no child."""
    result = triage.assess(text, received_at=RECEIVED)
    assert result.urgency == "low", [r.rule for r in result.reasons]
    assert not result.child_involved


@pytest.mark.parametrize(
    "text",
    [
        "Năm 15 tuổi chị bị bán sang Trung Quốc làm vợ, nay chị 20 tuổi đã trốn về được",
        "Hồi 16 tuổi tôi bị lừa vào quán karaoke, giờ tôi 24 tuổi rồi và muốn tố cáo",
    ],
)
def test_age_at_a_past_event_is_not_the_age_now(text):
    """An age at a past event ("năm 15 tuổi ..., nay 20 tuổi") does not make a child now."""
    result = triage.assess(text, received_at=RECEIVED)
    assert not result.child_involved
    assert 15 not in result.ages and 16 not in result.ages


@pytest.mark.parametrize(
    "text",
    [
        "Anh trai tôi bị giữ ở Campuchia, bọn nó bảo gọi số 0912 345 678 để chuộc",
        "Chồng tôi bị giữ ở Campuchia, bọn nó đòi 15 triệu mới thả",
        "Chồng tôi bị giữ ở Campuchia, bọn nó đòi 5.000 đô mới thả",
        "Chồng tôi bị giữ ở Campuchia, bọn nó đòi 15tr, liên hệ 0987.654.321",
        "Chồng tôi bị giữ ở Campuchia, bọn nó đòi 12 triệu 500 nghìn, gọi 0912345678",
    ],
)
def test_phone_numbers_and_money_are_not_ages(text):
    """Phone numbers and sums of money never produce an age."""
    result = triage.assess(text, received_at=RECEIVED)
    assert result.ages == ()
    assert not result.child_involved


def test_a_date_only_received_at_gives_the_year():
    """received_at "2026-05-01" (no time) still dates a birth year."""
    result = triage.assess("Cháu sinh năm 2010 bị nhốt trong nhà", received_at="2026-05-01")
    assert 16 in result.ages
    assert result.child_involved


@pytest.mark.parametrize("text", [
    "sdt me em 0912 345 678 16 tuoi, em bi nhot",
    "goi giup 0168 123 4567 16t bi nhot trong phong",
    "so cua chi +84 912 345 678, 16 tuoi, bi nhot",
])
def test_a_phone_number_in_groups_is_never_an_age(text):
    """The groups of a phone number are one number; the age after it is still read."""
    result = triage.assess(text)
    assert result.ages == (16,)
