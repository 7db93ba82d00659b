"""Storing what callers send: references, callers, tips, messages, the first triage.

Each function works inside the caller's transaction, so a webhook stores a tip and its
first triage together or not at all. Nothing here logs text or numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import triage

from .crypto import Vault
from .models import AuditEvent, Caller, Message, Tip, TipCounter, TriageRun
from .phones import CallerNumber, parse_number

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SMS_MAX_LENGTH = 1_600  # Twilio's limit for one message; longer bodies are kept and flagged


def reference_for(day: date, number: int) -> str:
    """"111-251123-0042": the day in Vietnam and its counter, four digits or more."""
    return f"111-{day:%y%m%d}-{number:04d}"


def allocate_reference(db: Session, at: datetime) -> tuple[date, int, str]:
    """The next reference of the day `at` falls on in Vietnam, taken in this transaction
    (the counter row stays locked until it commits, so no two tips share a number)."""
    day = at.astimezone(VIETNAM).date()
    for _ in range(3):
        number = db.execute(update(TipCounter).where(TipCounter.day == day)
                            .values(last=TipCounter.last + 1)
                            .returning(TipCounter.last)).scalar()
        if number is not None:
            return day, number, reference_for(day, number)
        try:
            with db.begin_nested():  # the day's first tip; another may be inserting it too
                db.add(TipCounter(day=day, last=1))
            return day, 1, reference_for(day, 1)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not allocate a reference for {day}")


def find_or_add_caller(db: Session, vault: Vault, number: CallerNumber) -> Caller:
    """The caller with this number (found by its keyed hash, under any current or older
    key), or a new one with a safety record on the safe side. A withheld number cannot be
    found again: each contact from one gets a caller of its own."""
    if number.withheld:
        caller = Caller(number_withheld=True)
        db.add(caller)
        return caller
    key = number.e164 or number.raw
    caller = db.scalar(select(Caller).where(Caller.number_hash.in_(vault.lookup_hashes(key))))
    if caller is None:
        caller = Caller(number_valid=number.valid, country=number.country)
        db.add(caller)
    if caller.number_key != vault.fingerprint:  # new, or hashed under an older key
        caller.number_hash = vault.lookup_hash(key)
        caller.number_key = vault.fingerprint
        caller.number_encrypted = vault.encrypt(number.e164 or number.raw)
    return caller


@dataclass(frozen=True)
class Received:
    tip: Tip
    message: Message | None
    new_tip: bool
    duplicate: bool  # this delivery was stored before: nothing new was written


def receive_sms(db: Session, vault: Vault, *, provider: str, provider_id: str,
                number: CallerNumber, body: str, received_at: datetime,
                thread_window: timedelta) -> Received:
    """Store one inbound SMS: a redelivery stores nothing; a caller's open tip active
    within the window takes it in (triage re-runs later, as a job); otherwise a new tip
    starts, judged by triage in this same transaction."""
    existing = db.scalar(select(Message).where(Message.provider == provider,
                                               Message.provider_id == provider_id))
    if existing is not None:
        return Received(existing.tip, existing, new_tip=False, duplicate=True)
    caller = find_or_add_caller(db, vault, number)
    tip = _open_tip(db, caller, received_at - thread_window) if caller.id else None
    message = Message(direction="in", provider=provider, provider_id=provider_id,
                      body_encrypted=vault.encrypt(body), body_length=len(body),
                      too_long=len(body) > SMS_MAX_LENGTH, received_at=received_at)
    if tip is not None:
        tip.messages.append(message)
        tip.last_activity_at = max(tip.last_activity_at, received_at)
        tip.triage_pending_since = tip.triage_pending_since or received_at
        db.flush()
        return Received(tip, message, new_tip=False, duplicate=False)
    tip = new_tip(db, channel="sms", caller=caller, at=received_at)
    tip.messages.append(message)
    db.flush()
    judge(db, tip, body, number.sender, received_at, message_offsets=[[message.id, 0]])
    return Received(tip, message, new_tip=True, duplicate=False)


def store_sms(db: Session, vault: Vault, *, provider: str, provider_id: str,
              number: CallerNumber, body: str, received_at: datetime,
              thread_window: timedelta, remote_addr: str | None) -> Received:
    """receive_sms() in a transaction of its own, with its audit event; a conflict with a
    concurrent delivery (the same message, or the same new caller) is tried again, and
    then finds the message stored or joins the caller's tip."""
    attempts_left = 3
    while True:
        try:
            with db.begin():
                received = receive_sms(db, vault, provider=provider, provider_id=provider_id,
                                       number=number, body=body, received_at=received_at,
                                       thread_window=thread_window)
                if not received.duplicate:
                    db.add(AuditEvent(action="sms.received", tip=received.tip,
                                      remote_addr=remote_addr,
                                      detail={"provider": provider,
                                              "new_tip": received.new_tip}))
            return received
        except IntegrityError:
            db.rollback()
            attempts_left -= 1
            if not attempts_left:
                raise


def new_tip(db: Session, *, channel: str, caller: Caller | None, at: datetime,
            created_by_id: int | None = None) -> Tip:
    day, number, reference = allocate_reference(db, at)
    tip = Tip(reference=reference, day=day, day_number=number, channel=channel, caller=caller,
              created_at=at, last_activity_at=at, created_by_id=created_by_id)
    db.add(tip)
    return tip


ENTERED_CHANNELS = ("walk_in", "email", "other_line")


def enter_tip(db: Session, vault: Vault, *, channel: str, text: str, sender: str | None,
              received_at: datetime, created_by_id: int) -> Tip:
    """A tip an operator enters (a walk-in, an email, a call on another line), judged by
    triage like the rest."""
    number = parse_number(sender) if sender else None
    caller = find_or_add_caller(db, vault, number) if number else None
    tip = new_tip(db, channel=channel, caller=caller, at=received_at,
                  created_by_id=created_by_id)
    message = Message(direction="in", provider="console", body_encrypted=vault.encrypt(text),
                      body_length=len(text), received_at=received_at)
    tip.messages.append(message)
    db.flush()
    judge(db, tip, text, number.sender if number else None, received_at,
          message_offsets=[[message.id, 0]])
    return tip


def judge(db: Session, tip: Tip, text: str, sender: str | None, received_at: datetime,
          *, message_offsets: list, hints: dict | None = None) -> TriageRun:
    """Run triage on the tip's text and keep the result (offsets only) as its latest run;
    the verdict in force changes only where no operator has overridden it."""
    result = triage.assess(text, sender=sender, received_at=received_at, channel=tip.channel,
                           hints=hints)
    stored = result.to_dict()
    run = TriageRun(tip=tip, rules_version=result.rules_version, result=stored,
                    message_offsets=message_offsets)
    db.add(run)
    tip.triage = stored
    tip.rules_version = result.rules_version
    tip.triage_pending_since = None
    tip.routed_at = None  # routing must run for the new verdict (and places)
    if not tip.overridden:
        tip.urgency = result.urgency
        tip.child_involved = result.child_involved
        tip.functions = list(result.functions)
    db.flush()
    return run


def _open_tip(db: Session, caller: Caller, active_since: datetime) -> Tip | None:
    return db.scalar(select(Tip).where(Tip.caller_id == caller.id, Tip.status != "closed",
                                       Tip.last_activity_at >= active_since)
                     .order_by(Tip.last_activity_at.desc()).limit(1))
