"""The hotline's side of routing: hand each tip's facts to `routing`, and keep at it.

A tip's `routed_at` says routing ran for its current verdict; a new triage run or an
override clears it. After a commit that leaves a tip unrouted the request enqueues a
routing job on RQ; the workers' tick also routes every unrouted tip, so no tip waits for
Redis to come back. Routing a tip twice adds nothing (one dispatch per function and
office), and the tip's row is locked while it is routed.

The same tick watches tips nobody works on: a new critical or high tip that nobody has
claimed or dispatched within its time alerts the duty supervisor, once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from routing import escalation, outbox
from routing.models import Alert, Dispatch, Office
from routing.route import TipFacts, route

from .models import Tip

QUEUE = "hotline"
log = logging.getLogger(__name__)


def facts_for(tip: Tip) -> TipFacts:
    """The verdict in force (triage's, or the operator's override) and triage's places."""
    found = tip.triage or {}
    return TipFacts(tip_id=tip.id, reference=tip.reference, urgency=tip.urgency or "low",
                    child_involved=bool(tip.child_involved),
                    functions=tuple(tip.functions or ()),
                    provinces=tuple(found.get("provinces") or ()),
                    countries=tuple(found.get("countries") or ()),
                    at_sea=bool(found.get("at_sea")))


def route_tip(db: Session, tip_id: int, now: datetime) -> bool:
    """Route the tip if its current verdict has not been routed; False if it had been."""
    tip = db.get(Tip, tip_id, with_for_update=True)
    if tip is None or tip.routed_at is not None or tip.urgency is None:
        return False
    routed = route(db, facts_for(tip), now)
    tip.routed_at = now
    if routed.created or routed.raised:
        log.info("tip %s routed: %d dispatches added, %d made stricter", tip.reference,
                 len(routed.created), len(routed.raised))
    return True


def route_unrouted(sessions, now: datetime, limit: int = 100) -> int:
    """Route every unrouted tip (its job was lost with Redis, its worker died, or the job
    has not run yet: routing twice adds nothing). Each tip in a transaction of its own."""
    with sessions() as db:
        due = db.scalars(select(Tip.id).where(Tip.routed_at.is_(None),
                                              Tip.urgency.is_not(None))
                         .order_by(Tip.id).limit(limit)).all()
    routed = 0
    for tip_id in due:
        with sessions() as db, db.begin():
            routed += route_tip(db, tip_id, now)
    return routed


def watch_unclaimed(sessions, now: datetime, waits: dict[str, int]) -> int:
    """Alert the duty supervisor, once per tip, about each new tip of an urgency in
    `waits` ({"critical": minutes, ...}) that nobody has claimed or dispatched in time."""
    alerted = 0
    for urgency, minutes in waits.items():
        with sessions() as db, db.begin():
            waiting = db.scalars(select(Tip).where(
                Tip.status == "new", Tip.claimed_by_id.is_(None), Tip.urgency == urgency,
                Tip.created_at <= now - timedelta(minutes=minutes),
                ~exists().where(Dispatch.tip_id == Tip.id, Dispatch.state != "cancelled"),
                ~exists().where(Alert.tip_id == Tip.id, Alert.kind == "supervisor_unclaimed"))
                .limit(100)).all()
            for tip in waiting:
                alerted += escalation.alert_supervisors(
                    db, tip.id, tip.reference, "supervisor_unclaimed", now,
                    urgency=tip.urgency, child_involved=bool(tip.child_involved))
    return alerted


def request_routing(redis_connection, tip_id: int) -> None:
    """Enqueue the tip's routing; never raises (if Redis is down, the tick routes it)."""
    if redis_connection is None:
        return
    from rq import Queue

    try:
        Queue(QUEUE, connection=redis_connection).enqueue(run_routing_job, tip_id)
    except Exception:
        log.warning("routing of tip %s not queued; the workers' tick will route it", tip_id)


def run_routing_job(tip_id: int) -> bool:
    """The RQ job: its own database connection, from the worker's environment."""
    from routing.db import make_engine, utcnow

    from . import config

    engine = make_engine(config.load()["DATABASE_URL"])
    try:
        with Session(engine) as db, db.begin():
            return route_tip(db, tip_id, utcnow())
    finally:
        engine.dispose()


def after_commit(tip_id: int) -> None:
    """In a request, after the commit that left the tip unrouted: route it soon."""
    from flask import current_app

    request_routing(current_app.extensions["hotline.redis"], tip_id)


def tick(sessions, now: datetime, config, channels=None) -> dict[str, int]:
    """One pass of a worker's short poll: route unrouted tips, run due escalation steps,
    watch unclaimed tips, and (given `channels`) send the alerts due. Each part goes on
    when another fails (the database may be down for one query and back for the next)."""
    done = {}
    parts = [("routed", lambda: route_unrouted(sessions, now)),
             ("steps", lambda: _run_due(sessions, now)),
             ("unclaimed", lambda: watch_unclaimed(sessions, now, {
                 "critical": config["UNCLAIMED_CRITICAL_MINUTES"],
                 "high": config["UNCLAIMED_HIGH_MINUTES"]}))]
    if channels is not None:
        settings = outbox.OutboxSettings.from_config(config)
        parts.append(("sent", lambda: outbox.run(sessions, channels, settings, now)))
    for name, work in parts:
        try:
            done[name] = work()
        except Exception as error:  # tried again at the next tick
            log.error("tick: %s failed (%s)", name, type(error).__name__)
            done[name] = 0
    return done


def _run_due(sessions, now: datetime) -> int:
    ran = 0
    while True:  # in batches, each its own transaction, until nothing is due
        with sessions() as db, db.begin():
            batch = escalation.run_due(db, now, limit=100)
        ran += batch
        if batch < 100:
            return ran


# -- what the dispatches of a tip say ---------------------------------------------------


def describe(dispatch: Dispatch) -> dict:
    """A dispatch as the API shows it: office, state, its alerts and acknowledgement."""
    def at(value):
        return value.isoformat() if value else None

    return {
        "id": dispatch.id, "function": dispatch.function,
        "office": {"code": dispatch.office.code, "name": dispatch.office_name},
        "state": dispatch.state, "urgency": dispatch.urgency, "step": dispatch.step,
        "next_due_at": at(dispatch.next_due_at), "created_at": at(dispatch.created_at),
        "created_by": dispatch.created_by,
        "acknowledged": None if dispatch.acknowledged_at is None else {
            "at": at(dispatch.acknowledged_at), "by": dispatch.acknowledged_by,
            "via": dispatch.acknowledged_via},
        "outcome": dispatch.outcome, "closed_at": at(dispatch.closed_at),
        "cancelled": None if dispatch.cancelled_at is None else {
            "at": at(dispatch.cancelled_at), "by": dispatch.cancelled_by,
            "reason": dispatch.cancel_reason, "not_our_office": dispatch.declined},
        "alerts": [{"kind": a.kind, "step": a.step, "channel": a.channel,
                    "recipient_role": a.recipient_role, "status": a.status,
                    "sent_at": at(a.sent_at), "status_at": at(a.status_at)}
                   for a in dispatch.alerts],
    }


def to_office(office_code: str | None):
    """A condition on Tip: dispatched (and not cancelled) to the office."""
    return exists().where(Dispatch.tip_id == Tip.id, Dispatch.state != "cancelled",
                          Dispatch.office.has(Office.code == office_code))


def dispatches_of(db: Session, tip_id: int) -> list[Dispatch]:
    return list(db.scalars(select(Dispatch).where(Dispatch.tip_id == tip_id)
                           .order_by(Dispatch.id)))


def dispatch_status(dispatches: list[Dispatch]) -> str | None:
    """What the dispatches say of the tip: None (nothing sent), "dispatched", or
    "acknowledged" once every dispatch not cancelled is acknowledged or closed."""
    live = [d for d in dispatches if d.state != "cancelled"]
    if not live:
        return None
    if all(d.state in ("acknowledged", "closed") for d in live):
        return "acknowledged"
    return "dispatched"
