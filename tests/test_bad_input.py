"""Bad or odd input: always a valid TriageResult, never an exception."""

from __future__ import annotations

import datetime

import pytest
from triage_invariants import check_invariants

import triage

HARMFUL = "Em gái tôi 15 tuổi bị lừa sang Campuchia, bị giữ hộ chiếu và bị đánh đập. "

NOTHING_TO_JUDGE = [
    "",
    " ",
    "\n\n\t  \r\n",
    "\x00\x01\x02\x1b[31m\x7f",
    "\ud800",
    "\udfff\ud800\udc00",
    "😢🙏🔥💔",
    "🇻🇳🇰🇭",
    "我的女儿在中国",
    "ลูกสาวของฉันหายไป",
    "ابنتي مفقودة منذ أمس",
    "Привет, это тест",
    "????!!!...",
    "aaaaaaaaaaaaaaaaaaaa",
    "\u200b\u200d\ufeff",
    "\u0301\u0303\u0323",
]


@pytest.mark.parametrize("text", NOTHING_TO_JUDGE)
def test_nothing_to_judge_is_low(text):
    """Empty, junk, emoji-only or foreign-script text gives low, a low score and no functions."""
    result = triage.assess(text)
    check_invariants(result, text)
    assert result.urgency == "low"
    assert 0 <= result.score <= 24
    assert result.functions == ()


@pytest.mark.parametrize("text", [None, 42, 3.5, b"bi nhot", ["bị nhốt"], {"text": "bị nhốt"}])
def test_text_that_is_not_a_string(text):
    """A text that is not a string (None, a number, bytes, a list) counts as empty."""
    result = triage.assess(text)
    check_invariants(result, "")
    assert result.urgency == "low"
    assert result.functions == ()
    assert result.reasons == ()


def test_very_long_text():
    """100 KB of a realistic report still gives a valid verdict, with offsets inside the text."""
    text = HARMFUL * (100_000 // len(HARMFUL) + 1)
    assert len(text) >= 100_000
    result = triage.assess(text)
    check_invariants(result, text)
    assert result.urgency != "low"
    assert result.child_involved


def test_very_long_junk():
    """100 KB of one long unbroken word or of separators does not crash."""
    for text in ("a" * 100_000, "đ" * 100_000, " ," * 50_000, "1" * 100_000, "😢" * 50_000):
        result = triage.assess(text)
        check_invariants(result, text)


CLEAN_TIP = "Em gái tôi 15 tuổi bị bọn buôn người nhốt trong phòng ở Campuchia"


@pytest.mark.parametrize(
    "text",
    [
        "Em gái tôi\x00 15 tuổi bị\x07 bọn buôn người\x1b nhốt trong phòng ở Campuchia",
        "Em gái tôi \ud80015 tuổi bị bọn buôn người nhốt\udfff trong phòng ở Campuchia",
        "Em gái tôi 15 tuổi 😢😢 bị bọn buôn người nhốt 🙏 trong phòng ở Campuchia",
        "Em gái tôi 15 tuổi bị bọn buôn người nhốt trong phòng ở Campuchia 我的女儿 ابنتي",
    ],
)
def test_junk_mixed_into_a_real_tip(text):
    """Control characters, surrogates, emoji and other scripts inside a tip do not change it."""
    clean = triage.assess(CLEAN_TIP)
    result = triage.assess(text)
    check_invariants(result, text)
    assert clean.urgency != "low"
    assert verdict(result) == verdict(clean)


def verdict(result: triage.TriageResult) -> tuple:
    return (result.urgency, result.score, result.child_involved, result.under_16, result.ages,
            result.functions, result.countries, result.provinces, result.categories,
            [r.rule for r in result.reasons])


@pytest.mark.parametrize(
    "received_at",
    [None, "", "not a date", "2026-13-45T99:00:00+07:00", "20/11/2026", 20260501, ["2026-05-01"]],
)
def test_unreadable_received_at_counts_as_absent(received_at):
    """A missing or unreadable received_at counts as absent: a birth year gives no age."""
    text = "Người làm thuê sinh năm 2010 bị bọn buôn người nhốt trong kho ở Campuchia"
    result = triage.assess(text, received_at=received_at)
    check_invariants(result, text)
    assert result.ages == ()
    assert verdict(result) == verdict(triage.assess(text))


@pytest.mark.parametrize(
    "received_at",
    [
        datetime.datetime(2026, 5, 1, 9, 0),  # naive
        datetime.date(2026, 5, 1),
        "2026-05-01",
        "2026-05-01T09:00:00",
        1_777_000_000,
        1_777_000_000.5,
        float("nan"),
        True,
    ],
)
def test_odd_received_at_gives_a_valid_verdict(received_at):
    """A naive datetime, a bare date, a timestamp number or a bool never raises."""
    text = "Người làm thuê sinh năm 2010 bị bọn buôn người nhốt trong kho ở Campuchia"
    result = triage.assess(text, received_at=received_at)
    check_invariants(result, text)


@pytest.mark.parametrize("sender", ["abc", "", None, 12345, 84912345678, "+", "+855", "++855abc",
                                    "\ud800", "+84", ["+855123456789"]])
def test_bad_sender(sender):
    """A sender that is missing, empty or not a valid number counts as absent."""
    text = "Chị tôi bị chủ giữ hộ chiếu, không cho về"
    result = triage.assess(text, sender=sender)
    check_invariants(result, text)
    assert result.countries == ()
    assert "consular" not in result.functions
    assert verdict(result) == verdict(triage.assess(text))


@pytest.mark.parametrize("channel", ["sms", "voice", "", None, 7, "fax"])
def test_any_channel(channel):
    """Any channel value gives a valid verdict."""
    result = triage.assess(HARMFUL, channel=channel)
    check_invariants(result, HARMFUL)


def test_rules_version_is_the_loaded_rules_version():
    """Every result carries the version of the rules it was made with."""
    result = triage.assess(HARMFUL)
    assert result.rules_version
    assert result.rules_version == triage.load_rules().version
