"""Context: negations, hypotheticals, harmless senses and folded look-alikes (GUIDELINES.md)."""

from __future__ import annotations

import pytest

import triage

TRAFFICKING_RULES = {
    "confinement", "violence", "death_threat", "abduction_now", "moving_now", "crossing",
    "documents_taken", "isolation", "not_allowed_to_leave", "debt_bondage", "unpaid_work",
    "forced_work", "ransom", "sold", "bride", "sexual_exploitation", "venue", "baby_sale",
    "organ_sale", "organ_arranged", "scam_work", "deceived", "missing", "luring",
    "recruitment", "ring",
}
TRAFFICKING_CATEGORIES = {
    "scam_compound", "bride_sale", "sexual_exploitation", "online_sexual_exploitation",
    "forced_labour", "child_labour_begging", "baby_sale_surrogacy", "organ_sale",
    "abduction_missing", "recruitment_fraud", "trafficking", "smuggling", "ring_information",
}


def rule_ids(result: triage.TriageResult) -> set[str]:
    return {r.rule for r in result.reasons}


# -- negation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Tôi làm ở xưởng may, không bị nhốt, chỉ muốn hỏi về hợp đồng", "confinement"),
        ("toi lam o xuong may, ko bi nhot, chi muon hoi ve hop dong", "confinement"),
        ("Ở chỗ làm không ai giữ giấy tờ của tôi, tôi hỏi thủ tục nghỉ việc", "documents_taken"),
        ("o cho lam khong ai giu giay to cua toi, toi hoi thu tuc nghi viec", "documents_taken"),
        ("Chị ấy chưa bị bán, đang ở nhà với bố mẹ", "sold"),
        ("Con tôi không bị đánh, cháu chỉ buồn vì điểm kém", "violence"),
    ],
)
def test_negated_indicator_does_not_fire(text, rule):
    """A negated indicator ("không bị nhốt", "không ai giữ giấy tờ") does not count."""
    result = triage.assess(text)
    assert rule not in rule_ids(result), [(r.rule, text[r.start:r.end]) for r in result.reasons]


def test_negation_does_not_reach_into_another_clause():
    """A negation in one clause does not cancel an indicator stated in another."""
    result = triage.assess("Tôi không biết làm sao, em gái tôi đang bị nhốt trong phòng trọ")
    assert "confinement" in rule_ids(result)
    assert result.urgency == "critical"


# -- hypotheticals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Nếu người nhà bị lừa bán sang nước ngoài thì gọi số nào ạ?",
        "nếu em bị nhốt thì gọi số nào",
        "neu bi giu ho chieu o nuoc ngoai thi goi so nao a",
        "Giả sử có người bị lừa sang Campuchia thì gia đình phải làm gì?",
    ],
)
def test_hypothetical_question_is_low(text):
    """A question about what could happen ("nếu ... thì gọi số nào") is low."""
    result = triage.assess(text)
    assert result.urgency == "low", [(r.rule, text[r.start:r.end]) for r in result.reasons]
    assert result.functions == ()


# -- harmless senses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Shop mình bán hàng online, cho hỏi có cần đăng ký kinh doanh không ạ",
        "shop minh ban hang online, cho hoi co can dang ky kinh doanh khong a",
        "Cho hỏi thủ tục mua bán xe máy cũ cần những giấy tờ gì",
        "Tôi làm nghề giữ xe ở chợ, muốn hỏi về bảo hiểm xã hội",
        "Hợp tác xã đang kêu gọi giải cứu dưa hấu cho bà con nông dân",
        "Chồng tôi làm thợ hàn ở Bình Dương, cho hỏi về bảo hiểm tai nạn lao động",
        "Vợ tôi đang mang thai tháng thứ năm, cho hỏi chế độ thai sản thế nào",
        "vo toi mang thai 5 thang, cho hoi che do thai san",
        "Bố tôi hút thuốc lào nhiều quá, làm sao để bố bỏ được",
        "Tôi đặt cọc tiền thuê nhà 10 triệu, giờ chủ nhà không trả lại tiền cọc nhà",
    ],
)
def test_alarming_words_in_a_harmless_sense(text):
    """Words like "bán", "giữ", "giải cứu", "hàn", "thai", "lào" in a harmless sense give low."""
    result = triage.assess(text)
    fired = [(r.rule, text[r.start:r.end]) for r in result.reasons]
    assert result.urgency == "low", fired
    assert not rule_ids(result) & TRAFFICKING_RULES, fired
    assert not set(result.categories) & TRAFFICKING_CATEGORIES, result.categories
    assert result.countries == ()


# -- folded look-alikes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ban toi bi om, hom nay khong di hoc duoc",
        "ban toi hoi ve luat lao dong",
        "Bạn tôi hỏi về luật lao động",
    ],
)
def test_ban_alone_is_not_a_sale(text):
    """Folded "ban" in "ban toi" (bạn tôi, my friend) is not read as a sale."""
    result = triage.assess(text)
    assert "sold" not in rule_ids(result)
    assert result.urgency == "low"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("toi muon hoi ve luat lao dong cho nguoi lam thoi vu", "LA"),
        ("Tôi muốn hỏi về luật lao động cho người giúp việc", "LA"),
        ("chu nhat nay tong dai co lam viec khong", "JP"),
        ("sang chu nhat toi goi lai nhe", "JP"),
        ("vo toi mang thai thang thu 7, hoi che do", "TH"),
        ("Chị tôi đang mang thai, muốn hỏi về bảo hiểm", "TH"),
    ],
)
def test_folded_look_alikes_are_not_countries(text, code):
    """"lao dong" is not Laos, "chu nhat" is not Japan, "mang thai" is not Thailand."""
    result = triage.assess(text)
    assert code not in result.countries
    assert result.countries == ()


@pytest.mark.parametrize(
    "text",
    [
        "Tôi ở Lào Cai, muốn hỏi thủ tục làm căn cước",
        "toi o lao cai, muon hoi thu tuc lam can cuoc",
        "Ở Lào Cai hôm nay mưa to, tổng đài vẫn làm việc chứ",
    ],
)
def test_lao_cai_is_a_province_not_laos(text):
    """"Lào Cai" is a Vietnamese province, not Laos."""
    result = triage.assess(text)
    lao_cai = [c for c, p in triage.load_rules().places.provinces.items() if p.name == "Lào Cai"]
    assert result.countries == ()
    assert list(result.provinces) == lao_cai


@pytest.mark.parametrize(
    "text",
    [
        "Anh trai tôi bị lừa sang Lào làm việc, giờ bị giữ hộ chiếu",
        "anh trai toi bi lua sang Lao lam viec, gio bi giu ho chieu",
        "ANH TRAI TÔI BỊ LỪA SANG LÀO LÀM VIỆC, GIỜ BỊ GIỮ HỘ CHIẾU",
    ],
)
def test_sang_lao_is_laos(text):
    """"sang Lào" (going to Laos) names Laos."""
    result = triage.assess(text)
    assert "LA" in result.countries


@pytest.mark.parametrize("text", [
    "Bọn nó bán tôi sang Trung Quốc, không cho tôi về",
    "Người ta bán tôi cho một gia đình ở quê, tôi không được về",
])
def test_a_victim_saying_they_were_sold_is_high_or_above(text):
    """A sale told in the first person ("bán tôi") is trafficking under control: police."""
    result = triage.assess(text)
    assert result.urgency in ("high", "critical")
    assert "police" in result.functions


def test_che_do_is_not_teasing():
    """Folded "chế độ" (benefits) is not "chê" (teasing): no counselling, nothing to judge."""
    result = triage.assess("Vợ tôi mang thai, cho hỏi chế độ thai sản")
    assert result.urgency == "low"
    assert "child_worry" not in {r.rule for r in result.reasons}


def test_tomorrow_then_is_not_an_exam_joke():
    """Folded "mai thì" (tomorrow, then) is not "mai thi" (an exam tomorrow): no prank cap."""
    text = ("Em trai tôi 19 tuổi ở Bavet bị đưa vào phòng riêng, ngoài cửa có người canh. "
            "Quản lý nói nếu không gửi 200 triệu trước trưa mai thì sẽ cho biết tay.")
    assert triage.assess(text).urgency == "critical"


def test_not_daring_to_run_is_not_a_fire_call():
    """Folded "dám chạy" (dares to run) is "đám cháy" (a fire): no prank cap on a victim."""
    text = ("Em với bốn người nữa đang bị chở vào rừng lúc nửa đêm ở Tịnh Biên, An Giang, "
            "người dẫn đường nói đi tắt sang Campuchia. Có hai người cầm gậy đi sau. "
            "Em thấy không ổn nhưng không dám chạy.")
    assert triage.assess(text).urgency == "critical"


@pytest.mark.parametrize(("text", "rule"), [
    # "bé gái gọi" (a girl calls) holds "gái gọi" (a call girl)
    ("Một bé gái gọi, nói có người giữ con mèo của em, em muốn đòi mèo về.",
     "sexual_exploitation"),
    ("Cô gái gọi hỏi thủ tục làm căn cước cho con.", "sexual_exploitation"),
    # folded "Bạn Minh" is "bán mình"; "bạn qua", "Nhật Bản qua", "văn bản qua" hold "bán qua"
    ("Bạn Minh, chủ nhiệm câu lạc bộ tình nguyện, muốn mời cán bộ về tập huấn vào tháng sau.",
     "sold"),
    ("Anh đã đăng ký đi thực tập sinh Nhật Bản qua một công ty nhà nước có giấy phép.", "sold"),
    ("Em gửi văn bản qua email cho tổng đài được không ạ?", "sold"),
    ("Mình rủ bạn qua nhà chơi, cho hỏi tổng đài có tư vấn tâm lý không", "sold"),
])
def test_folded_look_alikes_do_not_fire_the_rule(text, rule):
    """A harmless phrase that folds to, or holds, an indicator's words is low."""
    result = triage.assess(text)
    assert rule not in rule_ids(result)
    assert result.urgency == "low"


@pytest.mark.parametrize("text", [
    "Chị bị giữ làm ở một quán hát ở tỉnh khác, đêm qua trốn được và đi xe khách về đây, "
    "chị bị bầm tím, không giấy tờ, nhờ hỗ trợ chỗ ở.",
    "Đêm qua công an kiểm tra quán karaoke, đưa ra một em 15 tuổi bị chủ quán bắt tiếp khách. "
    "Hiện em đang ở trụ sở công an xã, cần nơi tạm lánh.",
])
def test_a_victim_already_out_is_not_critical(text):
    """Escaped last night, or with the police now: support and the crime, not a rescue."""
    result = triage.assess(text)
    assert result.urgency in ("medium", "high"), [r.rule for r in result.reasons]
    assert "victim_support" in result.functions


def test_sold_across_with_a_cue_is_still_a_sale():
    result = triage.assess("Tụi nó bán qua Trung Quốc, con gái tôi gọi về khóc.")
    assert "sold" in rule_ids(result)
    assert result.urgency in ("high", "critical")


def test_a_child_frightened_by_the_news_is_not_a_kidnapping():
    text = ("Hôm qua em xem tin tức thấy có trẻ em bị bắt cóc nên tối không dám ngủ. "
            "Em hỏi làm sao để không bị bắt cóc.")
    result = triage.assess(text)
    assert "abduction_now" not in rule_ids(result)
    assert result.urgency in ("low", "medium")


def test_boiling_water_poured_on_a_child_is_violence_but_a_scald_is_not():
    deliberate = triage.assess("Cháu 9 tuổi kể bị dì ghẻ đổ nước sôi lên người vì làm vỡ bát.")
    accident = triage.assess("Con trai 3 tuổi nghịch ấm, bị đổ nước sôi vào mu bàn tay, "
                             "chị hỏi cách chăm vết bỏng.")
    assert "violence" in rule_ids(deliberate)
    assert accident.urgency == "low"


@pytest.mark.parametrize(("text", "at_least"), [
    # "chở con" folds like "chó con", "bán con cho" like "bán con chó"
    ("Tối nay tụi nó chở con nhỏ 14 tuổi qua bên Lào giao cho người ta", "critical"),
    ("Nó bán con gái tôi cho một gia đình bên Trung Quốc, giờ họ không cho về", "high"),
    # "con bỏ" folds like "con bò", "con gả" like "con gà"
    ("Con tôi 14 tuổi bỏ nhà đi từ hôm qua theo một người quen trên mạng", "critical"),
])
def test_folded_animal_words_do_not_hide_a_child(text, at_least):
    """Harmless senses about animals never swallow a child being moved, sold or lured."""
    result = triage.assess(text, received_at="2026-11-20T08:00:00+07:00")
    assert triage.LEVELS.index(result.urgency) >= triage.LEVELS.index(at_least), result


def test_laughing_faces_mark_a_joke():
    """"=)))" after a 'rescue me' between friends is a joke, not a victim."""
    text = "alo 111 a, toi bi vo nhot ngoai cua vi di nhau ve tre, cuu toi voi =)))"
    result = triage.assess(text)
    assert result.urgency == "low"


@pytest.mark.parametrize(("text", "fact"), [
    ("Con trai tôi 15 tuổi bỏ nhà đi cách đây một tuần", "long"),
    ("Con trai tôi 15 tuổi bỏ nhà đi từ hai hôm nay, theo một người quen trên mạng", "recent"),
    ("Cháu đi làm xa, ba hôm sau khi đi thì mất liên lạc, giờ đã hơn một tháng", "long"),
])
def test_how_long_ago_a_disappearance_began(text, fact):
    """"cách đây một tuần" is a week ago; "ba hôm sau khi đi" is not time since."""
    from triage.dates import RECENT_DAYS, elapsed_days
    from triage.normalize import token_columns
    days = elapsed_days(token_columns(text, triage.load_rules().lexicon), None)
    if fact == "recent":
        assert days and min(days) <= RECENT_DAYS, days
    else:
        assert not days or min(days) > RECENT_DAYS, days
