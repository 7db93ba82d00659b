"""Routing: which offices a tip goes to (per function, province, country, sea, child,
effective dates) and the dispatches that send it there, never duplicated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from routing_helpers import T0, build_directory, facts, make_tip
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import policies
from routing.models import Dispatch, EscalationPolicy, Office
from routing.route import add_dispatch, offices_for, route

TODAY = date(2026, 11, 23)


@pytest.fixture
def db(engine):
    with Session(engine) as session, session.begin():
        build_directory(session)
        yield session


def _codes(pairs) -> set[tuple[str, str]]:
    return {(function, office.code) for function, office in pairs}


@pytest.mark.parametrize(("given", "expected"), [
    ({"provinces": ("lang_son",)}, {("police", "police-lang-son")}),
    ({"provinces": ("lang_son", "ha_noi")}, {("police", "police-lang-son")}),  # the first
    ({"provinces": ("ha_noi",)}, {("police", "c02")}),  # no office there: national
    ({"provinces": ()}, {("police", "c02")}),  # no place at all: national
    ({"urgency": "critical"}, {("police", "police-lang-son"), ("police", "c02")}),
    ({"functions": ("border",), "at_sea": True},
     {("border", "border-lang-son"), ("border", "coast-guard")}),
    ({"functions": ("consular",), "countries": ("KH",), "provinces": ()},
     {("consular", "embassy-kh")}),
    ({"functions": ("consular",), "countries": ("KH", "TH"), "provinces": ()},
     {("consular", "embassy-kh"), ("consular", "consular")}),  # no embassy for TH
    ({"functions": ("victim_support",), "child": True},
     {("victim_support", "moh-social"), ("victim_support", "moh-children")}),
    ({"functions": ("victim_support",)}, {("victim_support", "moh-social")}),
    ({"functions": ("police", "border")},
     {("police", "police-lang-son"), ("border", "border-lang-son")}),
])
def test_each_function_goes_to_the_office_for_the_place(db, given, expected):
    tip = make_tip(db)
    assert _codes(offices_for(db, facts(tip, **given), TODAY)) == expected


def test_the_office_is_the_one_holding_the_function_that_day(db):
    tip = make_tip(db)
    support = facts(tip, functions=("victim_support", "police"), provinces=())
    assert _codes(offices_for(db, support, date(2024, 6, 1))) == {
        ("victim_support", "molisa"), ("police", "bca-office")}
    assert _codes(offices_for(db, support, date(2025, 3, 1))) == {  # valid_to is exclusive
        ("victim_support", "moh-social"), ("police", "c02")}


def test_routing_makes_one_dispatch_per_function_and_office_and_never_twice(db):
    tip = make_tip(db)
    first = route(db, facts(tip, functions=("police", "border")), T0)
    assert {(d.function, d.office.code) for d in first.created} == {
        ("police", "police-lang-son"), ("border", "border-lang-son")}
    dispatch = first.created[0]
    assert (dispatch.state, dispatch.step, dispatch.next_due_at) == ("pending", 0, T0)
    assert dispatch.policy == policies.current(db, "high")
    assert dispatch.office_name == "Văn phòng police-lang-son"
    again = route(db, facts(tip, functions=("police", "border")), T0 + timedelta(minutes=1))
    assert again.created == () and again.raised == ()
    # An override that names a new function adds its dispatch, and only that one.
    more = route(db, facts(tip, functions=("police", "border", "victim_support")), T0)
    assert [d.function for d in more.created] == ["victim_support"]
    assert len(db.scalars(select(Dispatch)).all()) == 3


def test_low_tips_dispatch_nothing_but_an_operator_can_add_one(db):
    tip = make_tip(db)
    assert route(db, facts(tip, urgency="low"), T0).created == ()
    police = db.scalar(select(Office).where(Office.code == "c02"))
    added = add_dispatch(db, facts(tip, urgency="low"), "police", police, T0, "op@example.vn")
    assert (added.urgency, added.created_by) == ("medium", "op@example.vn")
    assert added.policy == policies.current(db, "medium")


def test_a_rising_urgency_moves_open_dispatches_to_the_stricter_policy(db):
    tip = make_tip(db)
    (dispatch,) = route(db, facts(tip, urgency="medium"), T0).created
    dispatch.step, dispatch.next_due_at = 1, T0 + timedelta(minutes=60)  # backup is next
    raised = route(db, facts(tip, urgency="high"), T0 + timedelta(minutes=2)).raised
    assert raised == (dispatch,)
    # High's backup step is at 15 minutes: due earlier than medium's 60.
    assert (dispatch.urgency, dispatch.step) == ("high", 1)
    assert dispatch.next_due_at == T0 + timedelta(minutes=15)
    # Nothing loosens: a lower urgency later changes nothing.
    assert route(db, facts(tip, urgency="medium"), T0).raised == ()
    assert dispatch.urgency == "high"


def test_a_rise_never_delays_what_is_already_due_sooner(db):
    tip = make_tip(db)
    (dispatch,) = route(db, facts(tip, urgency="high"), T0).created
    dispatch.step, dispatch.next_due_at = 3, T0 + timedelta(minutes=1)  # overdue already
    route(db, facts(tip, urgency="critical"), T0)
    assert dispatch.next_due_at == T0 + timedelta(minutes=1)


def test_policies_are_seeded_once_and_edits_are_used(db):
    tip = make_tip(db)
    policies.current(db, "high")
    row = db.scalar(select(EscalationPolicy).where(EscalationPolicy.urgency == "high"))
    edited = dict(row.body, steps=[{"after_minutes": 0, "roles": ["primary"]},
                                   {"after_minutes": 5, "roles": ["supervisor"]}])
    row.body = policies.validate("high", edited)
    db.flush()
    (dispatch,) = route(db, facts(tip), T0).created
    assert dispatch.policy["steps"][1]["after_minutes"] == 5
    assert not policies.seed_if_empty(db)


@pytest.mark.parametrize(("body", "complaint"), [
    ({"steps": []}, "non-empty list"),
    ({"steps": [{"after_minutes": 5, "roles": ["supervisor"]}]}, "first step is at 0"),
    ({"steps": [{"after_minutes": 0, "roles": ["primary"]}]}, "duty supervisor"),
    ({"steps": [{"after_minutes": 0, "roles": ["boss"]}]}, "roles must be"),
    ({"steps": [{"after_minutes": 0, "roles": ["supervisor"], "channels": ["fax"]}]},
     "channels must be"),
    ({"steps": [{"after_minutes": 0, "roles": ["supervisor"], "when": 1}]}, "unknown key"),
    ({"steps": [{"after_minutes": 0, "roles": ["supervisor"]}],
      "repeat": {"every_minutes": 0, "roles": ["supervisor"]}}, "above 0"),
    ({"steps": [{"after_minutes": 0, "roles": ["supervisor"]}],
      "outcome_deadline_hours": 12}, "go together"),
    ({"steps": [{"after_minutes": 0, "roles": ["primary"]},
                {"after_minutes": 0, "roles": ["supervisor"]}]}, "strictly after"),
])
def test_bad_policies_are_refused_with_a_clear_message(body, complaint):
    with pytest.raises(policies.PolicyError, match=complaint):
        policies.validate("high", body)


def test_the_packaged_policies_are_valid_and_end_with_the_supervisor():
    shipped = policies.packaged()
    assert set(shipped) == {"medium", "high", "critical", "test"}
    assert [s["after_minutes"] for s in shipped["critical"]["steps"]] == [0, 5, 10, 15]
    assert shipped["critical"]["repeat"]["every_minutes"] == 15
    assert "12" in shipped["critical"]["legal_source"]


def test_step_times_run_on_with_the_repeat():
    policy = policies.packaged()["critical"]
    assert [policies.due_at(policy, n, T0) - T0 for n in range(7)] == [
        timedelta(minutes=m) for m in (0, 5, 10, 15, 30, 45, 60)]
    high = policies.packaged()["high"]
    assert policies.due_at(high, 4, T0) is None and policies.step_at(high, 4) is None
