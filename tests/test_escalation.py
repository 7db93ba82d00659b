"""Escalation on a controllable clock: each step once and on time, to the right people
(delegates, the duty supervisor when nobody else is left), stopped by an
acknowledgement, with outcome reminders; two workers racing still run a step once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_helpers import T0, build_directory, facts, make_tip
from service_helpers import run_together
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from routing import escalation
from routing.models import Absence, Alert, Dispatch, Office, Person
from routing.route import route


def minutes(n: float):
    return T0 + timedelta(minutes=n)


@pytest.fixture
def db(engine):
    with Session(engine) as session, session.begin():
        build_directory(session)
        yield session


def _dispatch(db, urgency="critical", **given) -> Dispatch:
    """The tip's provincial dispatch (a critical tip also goes to the national office)."""
    tip = make_tip(db)
    return route(db, facts(tip, urgency=urgency, **given), T0).created[0]


def _sent(db, dispatch) -> list[tuple[int | None, str, str, str]]:
    """(step, role, person, channel) of the dispatch's alerts, in order."""
    alerts = db.scalars(select(Alert).where(Alert.dispatch_id == dispatch.id)
                        .order_by(Alert.id)).all()
    return [(a.step, a.recipient_role, a.person.code, a.channel) for a in alerts]


def test_a_critical_dispatch_climbs_its_chain_on_time(db):
    dispatch = _dispatch(db, functions=("border",))
    assert dispatch.office.code == "border-lang-son"
    assert escalation.run_due(db, T0) >= 1
    assert _sent(db, dispatch) == [(0, "primary", "border-lang-son-primary", "sms"),
                                   (0, "primary", "border-lang-son-primary", "call")]
    assert (dispatch.step, dispatch.next_due_at) == (1, minutes(5))
    escalation.run_due(db, minutes(4.9))  # not yet
    assert dispatch.step == 1
    escalation.run_due(db, minutes(5))
    escalation.run_due(db, minutes(10))
    escalation.run_due(db, minutes(15))
    roles = [(step, role, person) for step, role, person, _ in _sent(db, dispatch)]
    assert roles[2:] == [(1, "backup", "border-lang-son-backup")] * 2 + [
        (2, "head", "border-lang-son-head")] * 2 + [(3, "supervisor", "supervisor-1")] * 2
    escalation.run_due(db, minutes(30))  # the whole chain again
    assert {role for step, role, _, _ in _sent(db, dispatch) if step == 4} == {
        "primary", "backup", "head", "supervisor"}
    assert dispatch.next_due_at == minutes(45)


def test_running_a_step_twice_writes_its_alerts_once(db):
    dispatch = _dispatch(db)
    seen_version = dispatch.version
    escalation.run_due(db, T0)
    assert escalation.run_due(db, T0) == 0  # nothing due any more
    # A worker that read the dispatch before the step ran (a stale copy) loses the
    # compare-and-set and writes nothing.
    set_committed_value(dispatch, "version", seen_version)
    set_committed_value(dispatch, "step", 0)
    assert escalation.run_step(db, dispatch, T0) is False
    db.refresh(dispatch)
    assert dispatch.step == 1
    assert _sent(db, dispatch) == [(0, "primary", "police-lang-son-primary", "sms"),
                                   (0, "primary", "police-lang-son-primary", "call")]


def test_a_worker_down_for_an_hour_runs_the_missed_chain_once_and_one_repeat(db):
    dispatch = _dispatch(db)
    for _ in range(10):
        escalation.run_due(db, minutes(61))
    steps = sorted({step for step, *_ in _sent(db, dispatch)})
    assert steps[:4] == [0, 1, 2, 3]  # primary, backup, head and supervisor, late
    assert len(steps) == 5  # and one round of the repeat, not four
    assert dispatch.next_due_at > minutes(61)


def test_an_absent_person_is_replaced_by_their_delegate(db):
    dispatch = _dispatch(db, urgency="high")
    primary = db.scalar(select(Person).where(Person.code == "police-lang-son-primary"))
    backup = db.scalar(select(Person).where(Person.code == "police-lang-son-backup"))
    primary.absences.append(Absence(starts_at=minutes(-60), ends_at=minutes(600),
                                    delegate=backup))
    db.flush()
    escalation.run_due(db, T0)
    assert _sent(db, dispatch) == [(0, "delegate", "police-lang-son-backup", "sms")]


def test_an_office_with_nobody_active_alerts_the_duty_supervisor(db):
    dispatch = _dispatch(db, urgency="high")
    for person in db.scalar(select(Office).where(Office.code == "police-lang-son")).people:
        person.active = False
    db.flush()
    escalation.run_due(db, T0)
    assert _sent(db, dispatch) == [(0, "supervisor", "supervisor-1", "sms")]


def test_without_a_rota_every_active_supervisor_is_the_duty_supervisor(db):
    dispatch = _dispatch(db, urgency="high")
    for person in db.scalar(select(Office).where(Office.code == "police-lang-son")).people:
        person.active = False
    db.flush()
    escalation.run_due(db, minutes(60 * 24 * 30))  # long after the shift ended
    assert {person for _, _, person, _ in _sent(db, dispatch)} == {"supervisor-1",
                                                                    "supervisor-2"}


def test_a_person_reached_only_by_email_gets_email(db):
    dispatch = _dispatch(db)
    primary = db.scalar(select(Person).where(Person.code == "police-lang-son-primary"))
    primary.phone, primary.channels = None, ["email"]
    db.flush()
    escalation.run_due(db, T0)
    assert _sent(db, dispatch)[0] == (0, "primary", "police-lang-son-primary", "email")


def test_acknowledging_stops_the_chain_and_sets_the_outcome_deadline(db):
    dispatch = _dispatch(db)
    escalation.run_due(db, T0)
    escalation.run_due(db, minutes(5))
    # An alert not yet sent when the acknowledgement comes is never sent.
    assert {a.status for a in dispatch.alerts} == {"pending"}
    assert escalation.acknowledge(db, dispatch, "head@example.vn", "link", minutes(6))
    assert not escalation.acknowledge(db, dispatch, "other@example.vn", "call", minutes(7))
    assert (dispatch.state, dispatch.acknowledged_by, dispatch.acknowledged_via) == (
        "acknowledged", "head@example.vn", "link")
    assert {a.status for a in dispatch.alerts} == {"cancelled"}
    assert dispatch.next_due_at == T0 + timedelta(hours=12)
    count = len(_sent(db, dispatch))
    escalation.run_due(db, minutes(60))
    assert len(_sent(db, dispatch)) == count  # no more escalation
    escalation.run_due(db, T0 + timedelta(hours=12))
    reminders = [a for a in _sent(db, dispatch)[count:]]
    assert reminders == [(None, "primary", "police-lang-son-primary", "sms")]
    assert dispatch.reminders == 1 and dispatch.next_due_at == T0 + timedelta(hours=14)


def test_closing_records_the_outcome_and_ends_everything(db):
    dispatch = _dispatch(db)
    escalation.close(db, dispatch, "Đã giải cứu", "c02@example.vn", minutes(3))
    assert (dispatch.state, dispatch.outcome, dispatch.next_due_at) == (
        "closed", "Đã giải cứu", None)
    assert dispatch.acknowledged_at == minutes(3)
    escalation.run_due(db, minutes(600))
    assert _sent(db, dispatch) == []
    with pytest.raises(escalation.DispatchStateError, match="closed"):
        escalation.cancel(db, dispatch, "late", "op@example.vn", minutes(9))


def test_not_our_office_cancels_with_the_reason(db):
    dispatch = _dispatch(db, urgency="high")
    escalation.run_due(db, T0)
    escalation.cancel(db, dispatch, "Không thuộc địa bàn", "focal@example.vn", minutes(2),
                      declined=True)
    assert (dispatch.state, dispatch.declined, dispatch.cancel_reason) == (
        "cancelled", True, "Không thuộc địa bàn")
    with pytest.raises(escalation.DispatchStateError, match="cancelled"):
        escalation.acknowledge(db, dispatch, "x@example.vn", "link", minutes(3))


def test_two_workers_racing_run_each_step_once(postgres_url, engine):
    with Session(engine) as db, db.begin():
        build_directory(db)
        dispatches = [_dispatch(db).id for _ in range(6)]
    def worker() -> None:
        for at in (0, 5, 10, 15):
            with Session(engine) as db, db.begin():
                escalation.run_due(db, minutes(at))

    assert run_together(*[worker] * 4) == []
    with Session(engine) as db:
        for dispatch_id in dispatches:
            dispatch = db.get(Dispatch, dispatch_id)
            steps = [a[0] for a in _sent(db, dispatch)]
            assert sorted(steps) == [0, 0, 1, 1, 2, 2, 3, 3]  # sms and call, each step once
            assert dispatch.step == 4


def test_a_worker_killed_mid_step_leaves_the_step_to_the_next(engine):
    """A step is one transaction: a worker that dies before committing leaves nothing
    behind, and the next worker runs the step, once."""
    with Session(engine) as db, db.begin():
        build_directory(db)
        dispatch_id = _dispatch(db).id
    killed = Session(engine)
    killed.begin()
    assert escalation.run_due(killed, T0) >= 1  # alerts written, not committed...
    killed.rollback()  # ...and the process is gone: its transaction never commits
    killed.close()
    with Session(engine) as db, db.begin():
        assert escalation.run_due(db, T0) >= 1
    with Session(engine) as db:
        dispatch = db.get(Dispatch, dispatch_id)
        assert dispatch.step == 1 and len(_sent(db, dispatch)) == 2  # sms and call, once
