"""Hints from the intake (IVR choice, caller's age): used when valid, ignored when not."""

from __future__ import annotations

import pytest
from triage_invariants import check_invariants

import triage

HARM = "Tôi đang bị chủ đánh đập và nhốt trong xưởng, không cho về"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alo",
        "Tôi muốn hỏi về luật lao động",
        "Chị tôi bị lừa sang Campuchia, bị giữ hộ chiếu",
    ],
)
def test_danger_now_floors_urgency_at_critical(text):
    """The IVR choice "danger_now" makes the tip critical whatever the text says."""
    result = triage.assess(text, hints={"ivr": "danger_now"})
    assert result.urgency == "critical"
    check_invariants(result, text)


@pytest.mark.parametrize("text", ["", "   ", "alo alo", "😢"])
def test_critical_tip_naming_no_function_goes_to_police(text):
    """A critical tip whose text names no function is paged to police."""
    result = triage.assess(text, hints={"ivr": "danger_now"})
    assert result.urgency == "critical"
    assert result.functions == ("police",)


def test_danger_now_keeps_the_functions_the_text_names():
    """With danger_now, the functions the text itself calls for are kept."""
    text = "Chị tôi bị lừa sang Campuchia, bị giữ hộ chiếu"
    result = triage.assess(text, hints={"ivr": "danger_now"})
    assert {"police", "consular"} <= set(result.functions)


def test_caller_age_hint_makes_a_child():
    """A caller_age hint of 15 makes the caller of a harmful tip a child under 16."""
    result = triage.assess(HARM, hints={"caller_age": 15})
    assert result.child_involved
    assert result.under_16
    assert "victim_support" in result.functions


@pytest.mark.parametrize("text", ["", "😢🙏", "alo"])
def test_caller_age_hint_on_a_text_with_nothing_to_judge(text):
    """A caller_age hint on an empty or trivial text gives a valid low verdict."""
    result = triage.assess(text, hints={"caller_age": 15})
    check_invariants(result, text)
    assert result.urgency == "low"
    assert result.functions == ()


def test_adult_caller_age_hint_is_not_a_child():
    """A caller_age hint of 30 does not make anyone a child."""
    result = triage.assess(HARM, hints={"caller_age": 30})
    assert not result.child_involved


@pytest.mark.parametrize(
    "hints",
    [
        "danger_now",
        "",
        None,
        ["ivr", "danger_now"],
        ("ivr", "danger_now"),
        42,
        {"ivr": None},
        {"ivr": 5},
        {"ivr": ["danger_now"]},
        {"ivr": {"danger_now": True}},
        {"ivr": "DANGER NOW please"},
        {"caller_age": "15"},
        {"caller_age": None},
        {"caller_age": [15]},
        {"caller_age": True},
        {"caller_age": -3},
        {"caller_age": 10**30},
        {"caller_age": float("nan")},
        {1: 2, None: "x"},
    ],
)
def test_bad_hints_are_ignored(hints):
    """Bad hint values (strings, None, lists, wrong types) are ignored without error."""
    plain = triage.assess(HARM)
    result = triage.assess(HARM, hints=hints)
    check_invariants(result, HARM)
    assert result.urgency == plain.urgency
    assert result.child_involved == plain.child_involved
    assert result.functions == plain.functions


@pytest.mark.parametrize("hints", ["danger_now", None, ["danger_now"], {"ivr": 1}])
def test_bad_hints_do_not_make_an_empty_tip_critical(hints):
    """A bad hint value never raises an empty tip's urgency."""
    result = triage.assess("", hints=hints)
    assert result.urgency == "low"
