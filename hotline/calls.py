"""Calls to 111 as Twilio reports them: arrival, menu choice, queue, answer, recordings,
and status. Each call is one tip, keyed by its CallSid. Also the key pressed on an alert
call to a focal point, which must be stored as surely as a caller's call.

Twilio's requests arrive twice, late and out of order, and an event that missed its
deadline is replayed later from the spool (perhaps after the original finally
committed). So every event here is idempotent, any of them creates the call's tip when it
is the first the database hears of it, and none moves a call backwards. Events are plain
JSON-ready dicts (``{"event": ..., "at": ISO time, ...}``) so that the spool can keep them.
Nothing here logs a number or what a caller said.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing import escalation
from routing.models import Alert

from .crypto import Vault
from .intake import find_or_add_caller, judge, new_tip
from .models import AuditEvent, Call, Recording, User
from .phones import parse_number

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
STATUS_RANK = {"queued": 0, "initiated": 0, "ringing": 1, "in-progress": 2,
                **{status: 3 for status in FINAL_STATUSES}}
_RECORDING_RANK = {"in-progress": 0, "completed": 1, "absent": 1, "failed": 1}
# What each menu choice tells triage (English is a language, not a need: an operator).
IVR_HINTS = {"danger_now": "danger_now", "report": "report", "support": "support",
             "operator": "operator", "english": "operator"}


class NotKnownYet(LookupError):
    """The event belongs to a call whose own record has not been stored yet (it waits in
    a spool somewhere): the event is kept and tried again later."""


def event(name: str, at: datetime, /, **fields) -> dict:
    """An event as the spool keeps it."""
    if name not in EVENTS:
        raise ValueError(f"unknown call event {name!r}")
    return {"event": name, "at": at.isoformat(), **fields}


def apply(db: Session, vault: Vault, recorded: Mapping):
    """Apply one event (from a webhook or the spool) inside the caller's transaction."""
    fields = dict(recorded)
    name, at = fields.pop("event"), datetime.fromisoformat(fields.pop("at"))
    if name not in EVENTS:
        raise ValueError(f"unknown call event {name!r}")
    return EVENTS[name](db, vault, at, **fields)


def store(engine: Engine, vault: Vault, recorded: Mapping) -> int | None:
    """Apply an event in a transaction of its own; returns the id of the call's tip when
    the event left it waiting to be routed. Two events of a new call may race to create
    it; the loser is tried again and then finds the call."""
    attempts_left = 3
    while True:
        try:
            with Session(engine) as db, db.begin():
                applied = apply(db, vault, recorded)
                call = applied.call if isinstance(applied, Recording) else applied
                if not isinstance(call, Call):  # an operator's leg, an alert call
                    return None
                return call.tip_id if call.tip.routed_at is None else None
        except IntegrityError:
            attempts_left -= 1
            if not attempts_left:
                raise


def call_arrived(db: Session, vault: Vault, at: datetime, *, call_sid: str,
                 caller: str | None) -> Call:
    return _call(db, vault, at, call_sid, caller)


def caller_chose(db: Session, vault: Vault, at: datetime, *, call_sid: str,
                 caller: str | None, choice: str, speech: str) -> Call:
    """The menu choice and what the caller said, judged by triage with the choice as a hint
    (pressing 1 makes the tip critical until an operator reviews it)."""
    call = _call(db, vault, at, call_sid, caller)
    kept = vault.decrypt(call.transcript_encrypted) if call.transcript_encrypted else ""
    if call.ivr_choice == choice and (not speech or speech == kept):
        return call  # this choice was stored before
    call.ivr_choice = choice
    if speech:
        call.transcript_encrypted = vault.encrypt(speech)
        kept = speech
    judge(db, call.tip, kept, parse_number(caller).sender if caller else None, at,
          message_offsets=[], hints={"ivr": IVR_HINTS.get(choice, "operator")})
    _touch(call, at)
    return call


def queue_left(db: Session, vault: Vault, at: datetime, *, call_sid: str, result: str,
               seconds: int | None) -> Call:
    """How the wait for an operator ended: bridged, the caller hung up, or it timed out
    (then the caller is offered a voicemail)."""
    call = _call(db, vault, at, call_sid, None)
    call.queue_result = result
    call.queue_seconds = seconds
    return call


def operator_answered(db: Session, vault: Vault, at: datetime, *, call_sid: str,
                      operator_id: int | None, operator_call_sid: str | None) -> Call:
    """The operator who took the call from the queue; the tip is theirs unless someone
    holds it already. `operator_id` is None when the database could not say who it was."""
    call = _call(db, vault, at, call_sid, None)
    if call.answered_at is not None:
        return call
    operator = db.get(User, operator_id) if operator_id is not None else None
    call.answered_at = at
    call.answered_by_id = operator.id if operator else None
    call.operator_call_sid = operator_call_sid
    tip = call.tip
    if operator is not None and tip.claimed_by_id is None and tip.status == "new":
        tip.claimed_by_id, tip.status = operator.id, "claimed"
    db.add(AuditEvent(action="call.answered", tip=tip, user_id=call.answered_by_id,
                      detail={"call_sid": call_sid}))
    _touch(call, at)
    return call


def recording_reported(db: Session, vault: Vault, at: datetime, *, call_sid: str,
                       recording_sid: str, kind: str, status: str, url: str | None,
                       seconds: int | None) -> Recording:
    """A voicemail or recorded conversation. A conversation's callback names the
    operator's call leg, known once the answer is stored; a voicemail of a call never
    heard of starts the call's tip (the caller's voice must not be lost because the
    database was down when they called)."""
    call = db.scalar(select(Call).where(or_(Call.call_sid == call_sid,
                                            Call.operator_call_sid == call_sid)))
    if call is None and kind == "conversation":
        raise NotKnownYet(f"no call answered on {call_sid} yet")
    if call is None:
        call = _call(db, vault, at, call_sid, None)
    found = db.scalar(select(Recording).where(Recording.recording_sid == recording_sid))
    if found is None:
        found = Recording(call=call, recording_sid=recording_sid, kind=kind, status=status)
        db.add(found)
        db.add(AuditEvent(action=f"call.{kind}", tip=call.tip, detail={"call_sid": call_sid}))
    elif _RECORDING_RANK[status] > _RECORDING_RANK[found.status]:
        found.status = status
    if url and (found.url_encrypted is None or status == "completed"):
        found.url_encrypted = vault.encrypt(url)
    if seconds is not None:
        found.duration_seconds = seconds
    _touch(call, at)
    return found


def status_reported(db: Session, vault: Vault, at: datetime, *, call_sid: str,
                    caller: str | None, status: str, seconds: int | None) -> Call | None:
    """Twilio's CallStatus: it only moves forward, and the first final status stays.
    Operators' own call legs are not calls to 111 and are left alone."""
    if not db.scalar(select(exists().where(Call.call_sid == call_sid))):
        operator_leg = db.scalar(select(exists().where(Call.operator_call_sid == call_sid)))
        if operator_leg or (caller or "").strip().lower().startswith("client:"):
            return None
    call = _call(db, vault, at, call_sid, caller)
    if STATUS_RANK[status] > STATUS_RANK[call.status]:
        call.status = status
        if status in FINAL_STATUSES:
            call.ended_at = at
    if status in FINAL_STATUSES and seconds is not None and call.duration_seconds is None:
        call.duration_seconds = seconds
    return call


def alert_acknowledged(db: Session, vault: Vault, at: datetime, *, alert_id: int) -> None:
    """Someone pressed 1 on an alert call: their dispatch is acknowledged (a repeat, or
    a dispatch closed meanwhile, changes nothing); on an alert about a tip itself the
    press is recorded on the tip."""
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise ValueError(f"no alert {alert_id}")
    person = alert.person
    by = f"{person.name} ({person.code})"
    if alert.dispatch is not None and alert.dispatch.state == "pending":
        escalation.acknowledge(db, alert.dispatch, by, "call", at)
    db.add(AuditEvent(action="alert.acknowledged", tip_id=alert.tip_id, at=at,
                      detail={"alert": alert.id, "by": person.code, "via": "call"}))


def _call(db: Session, vault: Vault, at: datetime, call_sid: str,
          caller: str | None) -> Call:
    """The call with this CallSid, made (with its tip and a first verdict) if it is new;
    a caller learnt late (the first event carried no number) is added to its tip."""
    call = db.scalar(select(Call).where(Call.call_sid == call_sid))
    number = parse_number(caller) if caller is not None else None
    if call is None:
        found = find_or_add_caller(db, vault, number) if number is not None else None
        tip = new_tip(db, channel="voice", caller=found, at=at)
        call = Call(call_sid=call_sid, tip=tip, started_at=at)
        db.add(call)
        db.add(AuditEvent(action="call.received", tip=tip, detail={"call_sid": call_sid}))
        db.flush()
        judge(db, tip, "", number.sender if number else None, at, message_offsets=[])
        return call
    if number is not None and call.tip.caller is None:
        call.tip.caller = find_or_add_caller(db, vault, number)
    call.started_at = min(call.started_at, at)
    return call


def _touch(call: Call, at: datetime) -> None:
    call.tip.last_activity_at = max(call.tip.last_activity_at, at)


EVENTS = {"arrived": call_arrived, "chose": caller_chose, "left_queue": queue_left,
          "answered": operator_answered, "recording": recording_reported,
          "status": status_reported, "alert_acknowledged": alert_acknowledged}
