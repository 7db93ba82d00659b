"""The outbox, sending through the real twilio library to a local fake Twilio: each alert
sent once, carrying a reference and never the story; retried when Twilio fails, on the
next channel when it fails for good; left-over sends released and counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fake_twilio import FakeTwilio
from routing_helpers import T0, build_directory, facts, make_tip
from service_helpers import closed_port, run_together
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing import acklinks, escalation, outbox
from routing.channels import Channels
from routing.models import Alert, Disclosure, Person
from routing.route import route

SENDER = "+15005550006"
SETTINGS = outbox.OutboxSettings(public_base_url="https://111.example.vn",
                                 secret_key="a-secret-for-tests-only", to_placeholders=False)


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def channels(twilio):
    with Channels({**twilio.settings, "TWILIO_NUMBER": SENDER,
                   "SEND_TIMEOUT_SECONDS": "0.5"}) as made:
        yield made


@pytest.fixture
def sessions(engine):
    with Session(engine) as db, db.begin():
        build_directory(db)
        tip = make_tip(db)
        route(db, facts(tip, urgency="critical", child=True), T0)  # lang_son + national
        escalation.run_due(db, T0)
    return sessionmaker(engine)


def _alerts(sessions, **where) -> list[Alert]:
    with sessions() as db:
        query = select(Alert).order_by(Alert.id)
        for name, value in where.items():
            query = query.where(getattr(Alert, name) == value)
        return db.scalars(query).all()


def test_due_alerts_are_sent_once_with_a_reference_and_a_link(sessions, channels, twilio):
    sent = outbox.run(sessions, channels, SETTINGS, T0)
    assert sent == 4  # sms and call to each office's primary
    assert outbox.run(sessions, channels, SETTINGS, T0 + timedelta(seconds=1)) == 0
    assert len(twilio.messages) == 2 and len(twilio.calls) == 2
    body = twilio.messages[0].form["Body"]
    assert "111-261123-0001" in body and "khẩn cấp" in body.lower()
    assert "https://111.example.vn/a/" in body
    assert twilio.messages[0].form["StatusCallback"] == "https://111.example.vn/twilio/status"
    assert twilio.calls[0].form["Url"].startswith("https://111.example.vn/twilio/alert-call/")
    alerts = _alerts(sessions, channel="sms")
    assert {a.status for a in alerts} == {"sent"}
    assert {a.provider_id for a in alerts} == {m.sid for m in twilio.messages}
    with sessions() as db:
        records = db.scalars(select(Disclosure)).all()
        assert len(records) == 4 and {r.basis for r in records} == {"alert"}
        assert set(records[0].fields) == {"reference", "urgency", "child_involved", "function"}


def test_the_link_in_an_sms_names_its_dispatch_and_recipient(sessions, channels, twilio):
    outbox.run(sessions, channels, SETTINGS, T0)
    alert = _alerts(sessions, channel="sms")[0]
    link = next(w for w in twilio.messages[0].form["Body"].split() if "/a/" in w)
    target = acklinks.read(SETTINGS.secret_key, link.rsplit("/a/", 1)[1])
    assert (target.dispatch_id, target.person_id) == (alert.dispatch_id, alert.person_id)
    assert acklinks.read("another-secret", link.rsplit("/a/", 1)[1]) is None


def test_a_failing_twilio_is_retried_later(sessions, channels, twilio):
    twilio.answer_next(500, count=4)
    assert outbox.run(sessions, channels, SETTINGS, T0) == 0
    waiting = _alerts(sessions, channel="sms")
    assert {a.status for a in waiting} == {"pending"}
    assert {a.next_attempt_at for a in waiting} == {T0 + timedelta(seconds=10)}
    assert "20500" in waiting[0].last_error or "500" in waiting[0].last_error
    assert outbox.run(sessions, channels, SETTINGS, T0 + timedelta(seconds=5)) == 0
    assert outbox.run(sessions, channels, SETTINGS, T0 + timedelta(seconds=10)) == 4


def test_a_number_twilio_refuses_falls_back_to_the_next_channel(sessions, channels, twilio):
    twilio.answer_next(400, count=4)  # invalid number: no retry helps
    outbox.run(sessions, channels, SETTINGS, T0)
    failed = _alerts(sessions, status="failed")
    assert {a.channel for a in failed} == {"sms", "call"}
    fallbacks = _alerts(sessions, channel="email")
    assert len(fallbacks) == 2  # one email per person, not one per failed channel
    assert {a.status for a in fallbacks} == {"pending"}


def test_a_placeholder_contact_is_never_sent_to(sessions, channels, twilio):
    with sessions() as db, db.begin():
        for person in db.scalars(select(Person)):
            person.placeholder = True
    outbox.run(sessions, channels, SETTINGS, T0)
    assert twilio.requests == []
    failed = _alerts(sessions, status="failed")
    assert failed and all("placeholder" in a.last_error for a in failed)


def test_an_unanswered_send_is_retried_and_flagged(sessions, channels, twilio):
    twilio.hang_next(1)
    outbox.run(sessions, channels, SETTINGS, T0)
    flagged = [a for a in _alerts(sessions) if a.maybe_sent]
    assert len(flagged) == 1 and flagged[0].status == "pending"


def test_a_send_left_by_a_stopped_worker_is_sent_again_and_counted(sessions, channels, twilio):
    with sessions() as db, db.begin():
        claimed = outbox.claim(db, T0, limit=1)  # the worker stops here
    assert len(claimed) == 1
    assert outbox.run(sessions, channels, SETTINGS, T0 + timedelta(minutes=1)) == 3
    assert outbox.run(sessions, channels, SETTINGS, T0 + timedelta(minutes=2)) == 1
    (resent,) = [a for a in _alerts(sessions) if a.resent]
    assert resent.id == claimed[0][0] and resent.status == "sent"


def test_racing_workers_send_each_alert_once(postgres_url, sessions, twilio):
    def worker() -> None:
        with Channels({**twilio.settings, "TWILIO_NUMBER": SENDER}) as channels:
            outbox.run(sessions, channels, SETTINGS, T0)

    assert run_together(*[worker] * 4) == []
    assert len(twilio.requests) == 4
    assert len({r.form["To"] + r.form.get("Body", r.form.get("Url", ""))
                for r in twilio.requests}) == 4


def test_smtp_down_is_retried(sessions, channels):
    with sessions() as db, db.begin():
        for person in db.scalars(select(Person)):
            person.phone, person.channels = None, ["email"]
        for alert in db.scalars(select(Alert)):
            alert.channel, alert.address = "email", alert.person.email
    with Channels({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(closed_port()),
                   "SMTP_FROM": "alerts@111.example.vn", "SEND_TIMEOUT_SECONDS": "1"}) as mail:
        assert outbox.run(sessions, mail, SETTINGS, T0) == 0
    waiting = _alerts(sessions, channel="email")
    assert waiting and {a.status for a in waiting} == {"pending"}
    assert all(a.next_attempt_at == T0 + timedelta(seconds=10) for a in waiting)


# -- bundling and the per-recipient gap ----------------------------------------------------


@pytest.fixture
def two_tips(engine):
    """Two high tips for the Lạng Sơn police at once."""
    with Session(engine) as db, db.begin():
        build_directory(db)
        for _ in range(2):
            route(db, facts(make_tip(db), urgency="high"), T0)
        escalation.run_due(db, T0)
    return sessionmaker(engine)


def test_tips_due_together_reach_a_recipient_as_one_sms(two_tips, channels, twilio):
    assert outbox.run(two_tips, channels, SETTINGS, T0) == 2
    (message,) = twilio.messages
    body = message.form["Body"]
    assert "111-261123-0001" in body and "Thêm tin 111-261123-0002 (cao)" in body
    assert body.count("https://111.example.vn/a/") == 2  # a link per dispatch
    alerts = _alerts(two_tips, channel="sms")
    assert {a.provider_id for a in alerts} == {message.sid}
    with two_tips() as db:
        assert len(db.scalars(select(Disclosure)).all()) == 2
        assert outbox.delivery_status(db, message.sid, "sms", "delivered", T0)
        assert {a.status for a in db.scalars(select(Alert))} == {"delivered"}


def test_a_recipients_sms_that_are_not_critical_wait_for_the_gap(engine, channels, twilio):
    gapped = outbox.OutboxSettings(SETTINGS.public_base_url, SETTINGS.secret_key,
                                   sms_gap=timedelta(seconds=60))
    with Session(engine) as db, db.begin():
        build_directory(db)
        route(db, facts(make_tip(db), urgency="high"), T0)
        escalation.run_due(db, T0)
    sessions = sessionmaker(engine)
    assert outbox.run(sessions, channels, gapped, T0) == 1
    with Session(engine) as db, db.begin():
        route(db, facts(make_tip(db), urgency="high"), T0 + timedelta(seconds=10))
        route(db, facts(make_tip(db), urgency="medium"), T0 + timedelta(seconds=20))
        escalation.run_due(db, T0 + timedelta(seconds=20))
    assert outbox.run(sessions, channels, gapped, T0 + timedelta(seconds=20)) == 0
    held = _alerts(sessions, status="pending")
    assert {a.next_attempt_at for a in held} == {T0 + timedelta(seconds=60)}
    assert outbox.run(sessions, channels, gapped, T0 + timedelta(seconds=60)) == 2
    assert len(twilio.messages) == 2  # the two held tips went out as one message
    with Session(engine) as db, db.begin():  # a critical tip never waits
        route(db, facts(make_tip(db), urgency="critical"), T0 + timedelta(seconds=61))
        escalation.run_due(db, T0 + timedelta(seconds=61))
    assert outbox.run(sessions, channels, gapped, T0 + timedelta(seconds=61)) >= 1
