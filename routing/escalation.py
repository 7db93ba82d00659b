"""Escalation: running each dispatch's due steps, acknowledging, closing, cancelling.

The database is the timer. Each pending dispatch stores the step it runs next and when
that is due (indexed); a worker's short poll runs what is due. Running a step is one
transaction that moves the dispatch's step and version with a compare-and-set (and, on
PostgreSQL, takes due rows with FOR UPDATE SKIP LOCKED), and writes the step's alerts
to the outbox under idempotency keys: two workers, a retried job and a sweep together
still run each step once, and a step missed while every worker was down runs late
rather than never.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import acklinks, policies
from .models import Alert, Dispatch, DutyShift, Office, Person
from .route import VIETNAM, day_in_vietnam

log = logging.getLogger(__name__)


class DispatchStateError(ValueError):
    """The dispatch is not in a state that allows this; the message says which it is in."""


@dataclass(frozen=True)
class Recipient:
    person: Person
    role: str  # the role the step asked for, "delegate", or "supervisor" as a last resort


# -- running due steps ---------------------------------------------------------------


def run_due(db: Session, now: datetime, limit: int = 100) -> int:
    """Run the steps due by `now` (at most `limit` dispatches) in the caller's
    transaction; returns how many steps ran here (a step another worker ran first does
    not count)."""
    query = (select(Dispatch).where(Dispatch.state.in_(("pending", "acknowledged")),
                                    Dispatch.next_due_at <= now)
             .order_by(Dispatch.next_due_at).limit(limit))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ran = 0
    for dispatch in db.scalars(query).all():
        if dispatch.state == "pending":
            ran += run_step(db, dispatch, now)
        else:
            ran += remind(db, dispatch, now)
    return ran


def run_step(db: Session, dispatch: Dispatch, now: datetime) -> bool:
    """Run the dispatch's current step: claim it with a compare-and-set, then write its
    alerts. False when another worker ran it first or there is nothing left to run."""
    step = dispatch.step
    spec = policies.step_at(dispatch.policy, step)
    following = _next_step(dispatch, step, now)
    if not _claim(db, dispatch, step=following,
                  next_due_at=policies.due_at(dispatch.policy, following,
                                              dispatch.created_at) if spec else None):
        return False
    if spec is None:
        return False
    kind = "test_alert" if dispatch.test else "alert" if step == 0 else "escalation"
    reached = recipients(db, dispatch.office, spec["roles"], now)
    if not reached:
        log.critical("dispatch %s step %s reached nobody: the directory has no supervisor",
                     dispatch.id, step)
    for recipient in reached:
        for channel in channels_for(recipient.person, dispatch.office, spec.get("channels")):
            _add_alert(db, dispatch, kind, step, recipient, channel, now, f"step:{step}")
    return True


def remind(db: Session, dispatch: Dispatch, now: datetime) -> bool:
    """An acknowledged dispatch past its outcome deadline: remind the office."""
    every = dispatch.policy.get("outcome_reminder_every_hours")
    count = dispatch.reminders + 1
    next_due = dispatch.next_due_at + timedelta(hours=every) if every else None
    while next_due is not None and next_due <= now:  # reminders missed: one is enough
        next_due += timedelta(hours=every)
    if not _claim(db, dispatch, reminders=count, next_due_at=next_due):
        return False
    for recipient in recipients(db, dispatch.office, ["primary"], now):
        for channel in channels_for(recipient.person, dispatch.office, None):
            _add_alert(db, dispatch, "reminder_outcome", None, recipient, channel, now,
                       f"reminder:{count}")
    return True


def _next_step(dispatch: Dispatch, step: int, now: datetime) -> int:
    """The step after `step`; repeat rounds already past are skipped (one is enough),
    while every missed step of the chain itself still runs, late."""
    following = step + 1
    steps = len(dispatch.policy["steps"])
    while following >= steps:
        after = policies.due_at(dispatch.policy, following + 1, dispatch.created_at)
        if after is None or after > now:
            break
        following += 1
    return following


def _claim(db: Session, dispatch: Dispatch, **values) -> bool:
    """Compare-and-set on the dispatch's version: only one transaction wins."""
    claimed = db.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch.id, Dispatch.version == dispatch.version,
               Dispatch.state == dispatch.state)
        .values(version=dispatch.version + 1, **values)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        db.expire(dispatch)
        return False
    db.refresh(dispatch)
    return True


def alert_supervisors(db: Session, tip_id: int, reference: str, kind: str,
                      now: datetime, *, urgency: str, child_involved: bool) -> int:
    """Alert the duty supervisor about a tip itself (nobody has claimed or dispatched
    it); each (tip, kind) once. Returns how many alerts were written."""
    written = 0
    for person, _ in duty_supervisors(db, now):
        for channel in channels_for(person, person.office, None):
            key = f"tip:{tip_id}:{kind}:person:{person.id}:{channel}"
            alert = Alert(idempotency_key=key, tip_id=tip_id, kind=kind, reference=reference,
                          urgency=urgency, child_involved=child_involved,
                          person_id=person.id,
                          recipient_role="supervisor", channel=channel,
                          address=_address(person, person.office, channel),
                          status="pending", next_attempt_at=now, created_at=now)
            try:
                with db.begin_nested():
                    db.add(alert)
                written += 1
            except IntegrityError:
                pass
    if not written and not duty_supervisors(db, now):
        log.critical("no supervisor in the directory to alert about tip %s", reference)
    return written


def test_alert(db: Session, office: Office, now: datetime) -> Dispatch:
    """A test dispatch to everyone in the office, on every channel they have; it is
    acknowledged like a real one, and reaches the duty supervisor when nobody does."""
    today = day_in_vietnam(now)
    held = [f.function for f in office.functions
            if f.valid_from <= today and (f.valid_to is None or f.valid_to > today)]
    dispatch = Dispatch(tip_id=None, test=True,
                        reference=f"TEST-{now.astimezone(VIETNAM):%y%m%d-%H%M}",
                        function=held[0] if held else "police", office_id=office.id,
                        office_name=office.name, urgency="low", child_involved=False,
                        policy=policies.packaged()[policies.TEST], step=0, next_due_at=now,
                        created_at=now, created_by="directory test")
    db.add(dispatch)
    db.flush()
    return dispatch


# -- who gets it, on what ---------------------------------------------------------------


def recipients(db: Session, office: Office, roles: list[str], now: datetime) -> list[Recipient]:
    """The people the roles name in the office, each absent one replaced by their
    delegate; the duty supervisor for "supervisor" and whenever nobody else is left,
    so an alert never goes nowhere."""
    found: dict[int, Recipient] = {}
    for role in roles:
        people = duty_supervisors(db, now) if role == "supervisor" else _in_office(
            office, role, now)
        for person, as_role in people:
            found.setdefault(person.id, Recipient(person, as_role))
    if not found:
        for person, _ in duty_supervisors(db, now):
            found.setdefault(person.id, Recipient(person, "supervisor"))
    return list(found.values())


def duty_supervisors(db: Session, now: datetime) -> list[tuple[Person, str]]:
    """Who is on duty now by the rota; every active supervisor when nobody is."""
    on_duty = db.scalars(select(Person).join(DutyShift, DutyShift.person_id == Person.id)
                         .where(DutyShift.starts_at <= now, DutyShift.ends_at > now,
                                Person.active).order_by(Person.id)).unique().all()
    people = on_duty or db.scalars(select(Person).where(Person.role == "supervisor",
                                                        Person.active)
                                   .order_by(Person.id)).all()
    return [(person, "supervisor") for person in people]


def _in_office(office: Office, role: str, now: datetime) -> list[tuple[Person, str]]:
    found = []
    for person in office.people:
        if person.role != role or not person.active:
            continue
        away = next((a for a in person.absences if a.starts_at <= now < a.ends_at), None)
        if away is None:
            found.append((person, role))
        elif away.delegate is not None and away.delegate.active:
            found.append((away.delegate, "delegate"))
    return found


def channels_for(person: Person, office: Office, wanted: list[str] | None) -> list[str]:
    """The step's channels the person can be reached on; else their first reachable
    preferred channel."""
    reachable = [c for c in person.channels if _address(person, office, c)]
    if wanted:
        chosen = [c for c in wanted if _address(person, office, c)]
        if chosen:
            return chosen
    return reachable[:1]


def _address(person: Person, office: Office, channel: str) -> str | None:
    return {"sms": person.phone, "call": person.phone, "email": person.email,
            "webhook": office.webhook_url}.get(channel)


def _add_alert(db: Session, dispatch: Dispatch, kind: str, step: int | None,
               recipient: Recipient, channel: str, now: datetime, occasion: str) -> None:
    key = f"dispatch:{dispatch.id}:{occasion}:person:{recipient.person.id}:{channel}"
    alert = Alert(idempotency_key=key, dispatch_id=dispatch.id, tip_id=dispatch.tip_id,
                  kind=kind, step=step, reference=dispatch.reference,
                  urgency=dispatch.urgency, child_involved=dispatch.child_involved,
                  function=dispatch.function, person_id=recipient.person.id,
                  recipient_role=recipient.role, channel=channel,
                  address=_address(recipient.person, dispatch.office, channel),
                  status="pending", next_attempt_at=now, created_at=now)
    try:
        with db.begin_nested():
            db.add(alert)
    except IntegrityError:  # written before: a retried step writes nothing twice
        pass


# -- what people do with a dispatch -------------------------------------------------------


def acknowledge(db: Session, dispatch: Dispatch, by: str, via: str, now: datetime) -> bool:
    """Stop the chain: who, when, how. Acknowledging again changes nothing (False)."""
    if dispatch.state in ("acknowledged", "closed"):
        return False
    if dispatch.state != "pending":
        raise DispatchStateError(f"the dispatch is {dispatch.state}")
    deadline = dispatch.policy.get("outcome_deadline_hours")
    due = dispatch.created_at + timedelta(hours=deadline) if deadline else None
    if not _claim(db, dispatch, state="acknowledged", acknowledged_at=now,
                  acknowledged_by=by, acknowledged_via=via, next_due_at=due):
        raise DispatchStateError("the dispatch changed meanwhile: try again")
    _cancel_unsent(db, dispatch)
    return True


def acknowledge_reply(db: Session, secret: str, phone: str, code: str,
                      now: datetime) -> list[Dispatch]:
    """A reply code from a directory number: the sender's one open dispatch whose code it
    is, acknowledged. Returns what it acknowledged: none when the code names nothing, or
    more than one dispatch (then the link and the console remain)."""
    people = db.scalars(select(Person).where(Person.phone == phone, Person.active)).all()
    matches = []
    for person in people:
        alerted = db.scalars(select(Dispatch).join(Alert, Alert.dispatch_id == Dispatch.id)
                             .where(Alert.person_id == person.id,
                                    Dispatch.state == "pending")).unique().all()
        matches += [(d, person) for d in alerted
                    if acklinks.reply_code(secret, d.id, person.id) == code]
    if len(matches) != 1:
        return []
    dispatch, person = matches[0]
    acknowledge(db, dispatch, f"{person.name} ({person.code})", "reply", now)
    return [dispatch]


def close(db: Session, dispatch: Dispatch, outcome: str, by: str, now: datetime) -> None:
    """Record the office's outcome; an unacknowledged dispatch is acknowledged by it."""
    if dispatch.state not in ("pending", "acknowledged"):
        raise DispatchStateError(f"the dispatch is {dispatch.state}")
    values = {"state": "closed", "closed_at": now, "outcome": outcome, "next_due_at": None}
    if dispatch.acknowledged_at is None:
        values |= {"acknowledged_at": now, "acknowledged_by": by, "acknowledged_via": "api"}
    if not _claim(db, dispatch, **values):
        raise DispatchStateError("the dispatch changed meanwhile: try again")
    _cancel_unsent(db, dispatch)


def cancel(db: Session, dispatch: Dispatch, reason: str, by: str, now: datetime,
           declined: bool = False) -> None:
    """An operator cancels, or the office answers "not our office" (`declined`): the tip
    goes back to the operators' queue with the reason."""
    if dispatch.state not in ("pending", "acknowledged"):
        raise DispatchStateError(f"the dispatch is {dispatch.state}")
    if not _claim(db, dispatch, state="cancelled", cancelled_at=now, cancelled_by=by,
                  cancel_reason=reason, declined=declined, next_due_at=None):
        raise DispatchStateError("the dispatch changed meanwhile: try again")
    _cancel_unsent(db, dispatch)


def _cancel_unsent(db: Session, dispatch: Dispatch) -> None:
    db.execute(update(Alert).where(Alert.dispatch_id == dispatch.id, Alert.status == "pending")
               .values(status="cancelled").execution_options(synchronize_session=False))
