"""Re-running triage on a tip's whole thread when more messages arrive.

The first message is judged in the webhook's transaction. Later ones mark the tip
(`triage_pending_since`) and ask for a re-run as an RQ job, debounced per tip: one job
per tip waits DEBOUNCE seconds, so a flood is judged once, on the grown thread. A sweep
re-runs what Redis lost. Re-running is idempotent and never overwrites an override.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import dispatching, intake
from .crypto import Vault
from .models import Tip
from .phones import parse_number

DEBOUNCE = timedelta(seconds=20)
QUEUE = "hotline"
log = logging.getLogger(__name__)


def thread_text(tip: Tip, vault: Vault) -> tuple[str, list[list[int]]]:
    """The inbound bodies exactly as received, joined with a blank line, and where each
    message starts, so reasons map back to their message."""
    parts, offsets, at = [], [], 0
    for message in tip.messages:
        if message.direction != "in":
            continue
        body = vault.decrypt(message.body_encrypted)
        offsets.append([message.id, at])
        parts.append(body)
        at += len(body) + 2
    return "\n\n".join(parts), offsets


def retriage(db: Session, vault: Vault, tip_id: int, now: datetime) -> bool:
    """Judge the tip's thread if a re-run is pending, and route the new verdict in the
    same transaction; False when there was nothing to do."""
    tip = db.get(Tip, tip_id, with_for_update=True)
    if tip is None or tip.triage_pending_since is None:
        return False
    text, offsets = thread_text(tip, vault)
    sender = None
    if tip.caller is not None and tip.caller.number_encrypted:
        sender = parse_number(vault.decrypt(tip.caller.number_encrypted)).sender
    intake.judge(db, tip, text, sender, tip.last_activity_at, message_offsets=offsets)
    dispatching.route_tip(db, tip.id, now)
    return True


def request_retriage(redis_connection, tip_id: int) -> None:
    """Ask for a re-run in DEBOUNCE; a re-run already waiting for this tip covers it.
    Never raises: if Redis is down, the sweep finds the tip."""
    from rq import Queue
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    job_id = f"retriage-{tip_id}"
    try:
        try:
            if Job.fetch(job_id, connection=redis_connection).get_status() in (
                    "scheduled", "queued", "deferred"):
                return
        except NoSuchJobError:
            pass
        Queue(QUEUE, connection=redis_connection).enqueue_in(
            DEBOUNCE, run_retriage_job, tip_id, job_id=job_id)
    except Exception:  # Redis down or slow: the sweep re-runs it
        log.warning("re-triage of tip %s not queued; the sweep will run it", tip_id)


def run_retriage_job(tip_id: int) -> bool:
    """The RQ job: its own database connection, from the worker's environment."""
    from routing.db import make_engine, utcnow

    from . import config

    settings = config.load()
    engine = make_engine(settings["DATABASE_URL"])
    try:
        with Session(engine) as db, db.begin():
            return retriage(db, Vault(settings["HOTLINE_DATA_KEY"]), tip_id, utcnow())
    finally:
        engine.dispose()


def sweep(db_factory, vault: Vault, now: datetime) -> int:
    """Re-run every re-triage pending for longer than twice the debounce (the job was
    lost with Redis, or its worker died). Returns how many tips were judged."""
    with db_factory() as db:
        due = db.scalars(select(Tip.id).where(
            Tip.triage_pending_since.is_not(None),
            Tip.triage_pending_since < now - 2 * DEBOUNCE)).all()
    done = 0
    for tip_id in due:
        with db_factory() as db, db.begin():
            done += retriage(db, vault, tip_id, now)
    return done


def after_joining(tip_id: int) -> None:
    """In a request, after the commit: a message joined the tip, so judge the thread again."""
    from flask import current_app

    connection = current_app.extensions["hotline.redis"]
    if connection is not None:
        request_retriage(connection, tip_id)
