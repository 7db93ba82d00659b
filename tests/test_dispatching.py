"""The hotline's side of routing: every stored tip is routed once per verdict, by an RQ
job after the commit or by the workers' tick when Redis lost the job; overrides and
re-triage re-route without duplicates; unclaimed tips reach the duty supervisor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from routing_helpers import T0, build_directory
from rq import Queue, SimpleWorker
from service_helpers import twilio_post
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline import accounts, dispatching
from hotline.models import Tip
from routing.models import Alert, Dispatch

DANGER = "em 14 tuoi bi nhot o quan karaoke o Lang Son, cuu em"  # critical, child
ROUTED = [("111-261123-0001", "police", "c02"), ("111-261123-0001", "police", "police-lang-son"),
          ("111-261123-0001", "victim_support", "moh-children"),
          ("111-261123-0001", "victim_support", "moh-social")]
BORDER = "chi toi bi lua sang Trung Quoc qua cua khau Huu Nghi Lang Son hom truoc"
CONFIG = {"UNCLAIMED_CRITICAL_MINUTES": 5, "UNCLAIMED_HIGH_MINUTES": 15}


@pytest.fixture
def app(make_app, redis_url, monkeypatch, db_url):
    monkeypatch.setenv("DATABASE_URL", db_url)  # what the RQ job's own connection reads
    app = make_app(REDIS_URL=redis_url)
    app.extensions["hotline.clock"] = lambda: T0
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
    return app


def _sms(app, sid="SM1", body=DANGER, sender="+84912345678"):
    form = {"MessageSid": sid, "AccountSid": "AC1", "From": sender, "To": "+84111",
            "Body": body}
    assert twilio_post(app, "/twilio/sms", form).status_code == 200


def _sessions(app):
    return sessionmaker(app.extensions["hotline.engine"])


def _dispatches(app) -> list[tuple[str, str, str]]:
    with Session(app.extensions["hotline.engine"]) as db:
        return sorted((d.reference, d.function, d.office.code)
                      for d in db.scalars(select(Dispatch)))


def _work(app) -> None:
    """A real RQ worker drains the queue (in this process, so the test can wait for it)."""
    connection = app.extensions["hotline.redis"]
    SimpleWorker([Queue(dispatching.QUEUE, connection=connection)],
                 connection=connection).work(burst=True)


def test_a_new_tip_is_routed_by_its_job(app):
    _sms(app)
    queue = Queue(dispatching.QUEUE, connection=app.extensions["hotline.redis"])
    assert queue.count == 1
    _work(app)
    assert _dispatches(app) == ROUTED
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip.routed_at)) is not None


def test_without_redis_the_tick_routes_it(make_app, monkeypatch, db_url):
    app = make_app()  # no REDIS_URL: nothing is enqueued
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
    _sms(app)
    assert _dispatches(app) == []
    done = dispatching.tick(_sessions(app), T0 + timedelta(seconds=1), CONFIG)
    assert done["routed"] == 1 and done["steps"] == 4  # each dispatch's first step
    assert _dispatches(app) == ROUTED
    assert dispatching.tick(_sessions(app), T0 + timedelta(seconds=2), CONFIG)["routed"] == 0


def test_routing_twice_adds_nothing(app):
    _sms(app)
    _work(app)
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        tip = db.scalar(select(Tip))
        tip.routed_at = None  # as if the job had run twice
        assert dispatching.route_tip(db, tip.id, T0)
        assert not dispatching.route_tip(db, tip.id, T0)  # routed already
    assert _dispatches(app) == ROUTED


def test_an_override_reroutes_adding_only_new_functions(app):
    _sms(app)
    _work(app)
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "op@example.vn", "correct horse battery", "operator")
        token = accounts.create_token(db, "op@example.vn").secret
    response = app.test_client().post(
        "/api/tips/111-261123-0001/override", headers={"Authorization": f"Bearer {token}"},
        json={"functions": ["police", "border"], "reason": "bị đưa qua biên giới"})
    assert response.status_code == 200, response.json
    _work(app)
    # Border is added; nothing is duplicated, and nothing is cancelled by the override.
    assert _dispatches(app) == sorted(ROUTED + [("111-261123-0001", "border", "border"),
                                                ("111-261123-0001", "border",
                                                 "border-lang-son")])


def test_a_joined_message_is_judged_and_routed_by_the_retriage(app):
    _sms(app, body="cho hoi tong dai 111 lam viec gio nao")  # low: routed, nothing sent
    _work(app)
    assert _dispatches(app) == []
    _sms(app, sid="SM2", body=BORDER)  # joins the tip; the re-triage job is delayed
    from hotline import retriage

    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        tip = db.scalar(select(Tip))
        assert retriage.retriage(db, app.extensions["hotline.vault"], tip.id, T0)
    assert {d[1] for d in _dispatches(app)} >= {"border"}


def test_an_unclaimed_critical_tip_alerts_the_duty_supervisor_once(make_app):
    app = make_app()
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
    app.extensions["hotline.clock"] = lambda: T0
    _sms(app)  # critical, not routed: nothing dispatched, nobody claims it
    sessions = _sessions(app)
    assert dispatching.watch_unclaimed(sessions, T0 + timedelta(minutes=4), {"critical": 5}) == 0
    assert dispatching.watch_unclaimed(sessions, T0 + timedelta(minutes=5), {"critical": 5}) == 1
    assert dispatching.watch_unclaimed(sessions, T0 + timedelta(minutes=9), {"critical": 5}) == 0
    with Session(app.extensions["hotline.engine"]) as db:
        (alert,) = db.scalars(select(Alert)).all()
        assert (alert.kind, alert.recipient_role, alert.person.code) == (
            "supervisor_unclaimed", "supervisor", "supervisor-1")


@pytest.mark.parametrize("worked", ["claimed", "dispatched"])
def test_a_tip_someone_works_on_alerts_nobody(make_app, worked):
    app = make_app()
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
    app.extensions["hotline.clock"] = lambda: T0
    _sms(app)
    sessions = _sessions(app)
    with sessions() as db, db.begin():
        tip = db.scalar(select(Tip))
        if worked == "claimed":
            tip.status = "claimed"
        else:
            dispatching.route_tip(db, tip.id, T0)
    assert dispatching.watch_unclaimed(sessions, T0 + timedelta(hours=1), {"critical": 5}) == 0


def test_redis_flushed_mid_chain_loses_nothing(app):
    """The routing job is lost with Redis; the database is the timer, so the tick routes
    the tip and every later step still runs on time."""
    _sms(app)
    connection = app.extensions["hotline.redis"]
    assert Queue(dispatching.QUEUE, connection=connection).count == 1
    connection.flushdb()  # this test's own database index only
    assert Queue(dispatching.QUEUE, connection=connection).count == 0
    sessions = _sessions(app)
    assert dispatching.tick(sessions, T0, CONFIG)["routed"] == 1
    connection.flushdb()  # again, mid-chain
    for minute in (5, 10, 15):
        dispatching.tick(sessions, T0 + timedelta(minutes=minute), CONFIG)
    with Session(app.extensions["hotline.engine"]) as db:
        dispatch = db.scalar(select(Dispatch).where(Dispatch.office.has(code="police-lang-son")))
        assert dispatch.step == 4  # primary, backup, head, supervisor: each on time, once
        assert len({(a.step, a.person_id, a.channel) for a in dispatch.alerts}) == len(
            dispatch.alerts) == 8
