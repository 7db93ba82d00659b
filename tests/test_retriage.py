"""Later messages re-run triage on the whole thread: debounced per tip, swept when Redis
lost the job, never overwriting an operator's override."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline import intake, retriage
from hotline.crypto import Vault, generate_key
from hotline.models import Tip, TriageRun
from hotline.phones import parse_number

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FIRST = "cho em hoi chut"
SECOND = "em 14 tuoi dang bi nhot o quan karaoke"


def _receive(engine, vault, sid, body, at):
    with Session(engine) as db, db.begin():
        return intake.receive_sms(db, vault, provider="twilio", provider_id=sid,
                                  number=parse_number("+84912345678"), body=body,
                                  received_at=at, thread_window=timedelta(hours=24)).tip.id


@pytest.fixture
def thread(engine, vault):
    tip_id = _receive(engine, vault, "SM1", FIRST, T0)
    _receive(engine, vault, "SM2", SECOND, T0 + timedelta(minutes=1))
    return tip_id


def _tip(engine, tip_id) -> Tip:
    with Session(engine) as db:
        tip = db.get(Tip, tip_id)
        tip.messages, tip.triage_runs  # noqa: B018  (load before the session closes)
        return tip


def test_the_thread_joins_bodies_with_a_blank_line_and_keeps_offsets(engine, vault, thread):
    with Session(engine) as db:
        text, offsets = retriage.thread_text(db.get(Tip, thread), vault)
    assert text == FIRST + "\n\n" + SECOND
    assert [at for _, at in offsets] == [0, len(FIRST) + 2]
    assert text[offsets[1][1]:].startswith(SECOND)


def test_a_joined_message_is_judged_with_the_thread(engine, vault, thread):
    assert _tip(engine, thread).urgency == "low"  # the first message alone
    with Session(engine) as db, db.begin():
        assert retriage.retriage(db, vault, thread, T0)
    tip = _tip(engine, thread)
    assert tip.urgency == "critical" and tip.child_involved and tip.triage_pending_since is None
    run = tip.triage_runs[-1]
    assert len(tip.triage_runs) == 2 and run.message_offsets[1][1] == len(FIRST) + 2
    with Session(engine) as db, db.begin():
        assert not retriage.retriage(db, vault, thread, T0)  # nothing pending: nothing done
    assert len(_tip(engine, thread).triage_runs) == 2


def test_a_rerun_never_overwrites_an_override(engine, vault, thread):
    with Session(engine) as db, db.begin():
        tip = db.get(Tip, thread)
        tip.urgency, tip.overridden = "medium", True
    with Session(engine) as db, db.begin():
        retriage.retriage(db, vault, thread, T0)
    tip = _tip(engine, thread)
    assert tip.urgency == "medium" and tip.triage["urgency"] == "critical"


def test_reruns_are_debounced_to_one_job_per_tip(redis_url, thread):
    connection = redis.Redis.from_url(redis_url)
    for _ in range(5):
        retriage.request_retriage(connection, thread)
    registry = ScheduledJobRegistry(queue=Queue(retriage.QUEUE, connection=connection))
    assert registry.get_job_ids() == [f"retriage-{thread}"]
    connection.close()


def test_redis_down_loses_nothing_and_raises_nothing(engine, vault, thread):
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    retriage.request_retriage(down, thread)  # logs; the sweep will find the tip
    sessions = sessionmaker(engine)
    assert retriage.sweep(sessions, vault, T0 + timedelta(minutes=1, seconds=30)) == 0  # recent
    assert retriage.sweep(sessions, vault, T0 + timedelta(minutes=5)) == 1
    assert _tip(engine, thread).urgency == "critical"


def test_the_job_runs_with_the_workers_settings(engine, db_url, monkeypatch):
    key = generate_key()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_KEY", key)
    tip_id = _receive(engine, Vault(key), "SM9", FIRST, T0)
    _receive(engine, Vault(key), "SM10", SECOND, T0 + timedelta(minutes=1))
    assert retriage.run_retriage_job(tip_id) is True
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(TriageRun)
                         .where(TriageRun.tip_id == tip_id)) == 2
