"""A person taken across a border (GUIDELINES.md, "Urgency"): a child taken in the last 72
hours is critical, anyone taken across and not back is at least high, and the time must
date the taking itself, not a later call."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from triage_invariants import check_invariants

import triage
from triage import RuleError

RULES_DIR = Path(triage.__file__).resolve().parent / "rules"
RECEIVED = "2026-11-20T08:30:00+07:00"


def rule_ids(result: triage.TriageResult) -> set[str]:
    return {r.rule for r in result.reasons}


def level(result: triage.TriageResult) -> int:
    return triage.LEVELS.index(result.urgency)


# -- a child taken across, dated in the last 72 hours: critical -------------------------


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Chị Mai báo con gái 15 tuổi bị đưa sang Trung Quốc đêm qua", "CN"),
        ("con tôi 14 tuổi bị đưa qua Campuchia hôm qua", "KH"),
        ("em gái 16t bi dua sang trung quoc toi qua", "CN"),  # no accents, teencode age
        ("cháu tôi 13 tuổi bị người lạ đưa sang Lào sáng nay", "LA"),
        ("cháu 14 tuổi bị người lạ đưa sang Lào hôm qua", "LA"),
        ("chau 13t bi nguoi la dua qua cam hom qua", "KH"),
        ("con gái tôi lớp 8 bị dụ sang Trung Quốc chiều qua", "CN"),
        ("con gái 15 tuổi bị bán sang Trung Quốc tối qua", "CN"),
        ("con gái tôi 15 tuổi bị đưa sang Malaysia hôm qua", "MY"),  # no land border
        ("Đêm qua, con gái tôi 15 tuổi bị đưa sang Trung Quốc", "CN"),  # the time said first
        ("Khoảng 10 giờ tối qua, cháu gái 14 tuổi bị chở sang Lào", "LA"),
        ("con gái 15 tuổi bị đưa sang Trung Quốc 2 hôm nay rồi", "CN"),  # counted days
    ],
)
def test_a_child_taken_across_in_the_last_72_hours_is_critical(text, country):
    """A child taken, lured or sold across a border last night, yesterday or this morning."""
    result = triage.assess(text, received_at=RECEIVED)
    check_invariants(result, text)
    assert result.urgency == "critical", (result.urgency, rule_ids(result))
    assert result.child_involved
    assert country in result.countries
    assert {"child_taken_abroad_recently", "taken_abroad"} <= rule_ids(result)
    assert {"police", "consular", "victim_support"} <= set(result.functions)


def test_a_child_taken_over_the_border_with_no_country_named_is_critical():
    """"bị đưa qua biên giới đêm qua": the same, though no country is named."""
    result = triage.assess("con tôi 15 tuổi bị đưa qua biên giới đêm qua")
    assert result.urgency == "critical"
    assert "child_moved_across_recently" in rule_ids(result)


def test_the_reasons_point_at_the_taking():
    """The combos' reasons point at the words of the taking; the country has its own."""
    text = "Chị Mai báo con gái 15 tuổi bị đưa sang Trung Quốc đêm qua"
    result = triage.assess(text)
    spans = {r.rule: text[r.start:r.end] for r in result.reasons}
    assert spans["taken_abroad"] == spans["child_taken_abroad_recently"] == "bị đưa sang"
    assert spans["heading_across"] == "Trung Quốc"


@pytest.mark.parametrize("variant", [
    str.upper,
    lambda t: unicodedata.normalize("NFD", t),
    lambda t: "  " + t.replace(" ", "  ") + " 😢🙏!!",
])
def test_the_verdict_does_not_depend_on_how_it_is_typed(variant):
    text = "Chị Mai báo con gái 15 tuổi bị đưa sang Trung Quốc đêm qua"
    plain, other = triage.assess(text), triage.assess(variant(text))
    assert (other.urgency, other.child_involved, other.functions) == \
        (plain.urgency, plain.child_involved, plain.functions)


# -- taken across and not back: at least high --------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "vợ tôi bị đưa sang Trung Quốc đêm qua",
        "Chị Lan bị đưa sang Trung Quốc đêm qua",
        "anh tôi bị chở sang Lào tối qua",
        "vợ tôi bị đưa sang Trung Quốc từ năm ngoái",
        "con gái tôi 15 tuổi bị đưa sang Trung Quốc",
    ],
)
def test_a_victim_taken_across_and_not_back_is_at_least_high(text):
    """Still in the trafficker's hands: high, with the consul (a named foreign country)."""
    result = triage.assess(text)
    assert level(result) >= level_of("high"), (result.urgency, rule_ids(result))
    assert "taken_abroad" in rule_ids(result)
    assert "consular" in result.functions


@pytest.mark.parametrize(
    "text",
    [
        # the time dates a call, not the taking: held abroad (high), not taken last night
        "Năm 2019 con gái tôi 15 tuổi bị đưa sang Trung Quốc, hôm qua nó gọi về",
        "con gái tôi 16 tuổi bị lừa sang Campuchia, hôm qua nó gọi về khóc",
        "con gái 15 tuổi bị đưa sang Trung Quốc từ tháng trước, hôm qua mới gọi về",
    ],
)
def test_a_time_that_dates_something_else_does_not_make_it_critical(text):
    result = triage.assess(text, received_at=RECEIVED)
    assert result.urgency == "high", (result.urgency, rule_ids(result))
    assert "child_taken_abroad_recently" not in rule_ids(result)


def test_an_abduction_across_stays_an_abduction():
    """"bị bắt cóc sang" is still an abduction (critical), for an adult too."""
    result = triage.assess("anh tôi bị bắt cóc sang Campuchia hôm qua")
    assert result.urgency == "critical"
    assert "abduction_now" in rule_ids(result)


# -- what must not rise ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at_most"),
    [
        ("con gái tôi 15 tuổi được đưa sang Trung Quốc du học năm ngoái", "low"),
        ("hôm qua con gái tôi 15 tuổi được nhà trường đưa sang Trung Quốc giao lưu", "low"),
        ("năm 2019 em bị đưa sang Trung Quốc, giờ đã về nhà", "medium"),
        ("con gái 15 tuổi bị đưa sang Trung Quốc đêm qua, sáng nay công an đã giải cứu về",
         "medium"),
        ("nếu con bị đưa sang Trung Quốc thì làm gì?", "low"),
        ("Tôi muốn hỏi nếu con gái 15 tuổi bị đưa sang Trung Quốc hôm qua thì báo ai?", "low"),
        ("Trường tôi tổ chức nói chuyện với học sinh về cách nhận biết trẻ em bị đưa sang "
         "Trung Quốc", "low"),
        ("hôm qua em đi tập huấn về phòng chống trẻ em bị đưa sang Trung Quốc", "low"),
        ("bộ phim hôm qua kể chuyện bé gái 15 tuổi bị đưa sang Trung Quốc", "low"),
        ("con gái tôi 15 tuổi không bị đưa sang Trung Quốc, hôm qua nó về rồi", "low"),
        # "qua" to a grandmother's house; the country is where the father works
        ("con gái tôi 15 tuổi bị đưa qua nhà bà ngoại hôm qua, bố nó đang làm ở Hàn Quốc",
         "medium"),
    ],
)
def test_study_returns_questions_and_awareness_do_not_rise(text, at_most):
    """Taken by the school, back home, asked about, taught about: no taken_abroad."""
    result = triage.assess(text, received_at=RECEIVED)
    check_invariants(result, text)
    assert level(result) <= level_of(at_most), (result.urgency, rule_ids(result))
    assert not {"taken_abroad", "child_taken_abroad_recently",
                "child_moved_across_recently"} & rule_ids(result)


def level_of(name: str) -> int:
    return triage.LEVELS.index(name)


# -- the rule data ----------------------------------------------------------------------


def test_taken_across_phrases_hide_no_other_indicator():
    """A longer phrase hides a shorter one of another indicator inside it ("bị bắt cóc
    sang" would hide the abduction): taken_across holds none but a few known ones (a
    folded "bị mắng", luring's "người lạ", the crossing's "chở sang")."""
    rules = triage.load_rules()
    mine = [p for p, hit in rules.phrases
            if hit.kind == "indicator" and hit.entry.id == "taken_across"]
    hidden = set()
    for phrase, hit in rules.phrases:
        if hit.kind != "indicator" or hit.entry.id == "taken_across":
            continue
        size = len(phrase)
        for own in mine:
            if size < len(own) and any(own[k:k + size] == phrase
                                       for k in range(len(own) - size + 1)):
                hidden.add((hit.entry.id, " ".join(phrase)))
    assert hidden <= {("child_worry", "bi mang"), ("luring", "nguoi la"),
                      ("crossing", "cho sang")}, hidden


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def add_combo(rules_dir: Path, text: str) -> None:
    with (rules_dir / "combos.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text.strip() + "\n")


def test_a_combo_may_build_on_an_earlier_combo(rules_copy):
    add_combo(rules_copy, '''
[[combo]]
id = "test_on_taken_abroad"
all = ["taken_abroad", "recent_act"]
any = ["deceived"]
level = "high"
''')
    rules = triage.load_rules(rules_copy)
    assert "test_on_taken_abroad" in {c.id for c in rules.combos}


def test_a_combo_may_not_name_a_later_or_unknown_combo(rules_copy):
    text = (rules_copy / "combos.toml").read_text(encoding="utf-8")
    head, rest = text.split("[[combo]]", 1)
    (rules_copy / "combos.toml").write_text(head + '''[[combo]]
id = "test_too_early"
all = ["child_taken_abroad_recently"]
level = "high"

[[combo]]''' + rest, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        triage.load_rules(rules_copy)
    message = str(info.value)
    assert "combos.toml" in message and "test_too_early" in message, message
    assert "child_taken_abroad_recently" in message, message
