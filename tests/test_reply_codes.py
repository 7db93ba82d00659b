"""Reply codes, behind ACK_REPLY_CODES: "OK 4821" from a directory number acknowledges
the dispatch it names and is never a tip; off, or from anyone else, it is intake."""

from __future__ import annotations

import pytest
from fake_twilio import FakeTwilio
from routing_helpers import T0, build_directory, facts, make_tip
from service_helpers import count_rows, twilio_post
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.models import AuditEvent, Tip
from routing import acklinks, escalation, outbox
from routing.channels import Channels
from routing.models import Dispatch, Person
from routing.route import route

SECRET = "a-secret-key-for-the-tests"
PRIMARY = "+84912000020"  # police-lang-son-primary in routing_helpers (third office)


@pytest.mark.parametrize(("text", "code"), [
    ("OK 4821", "4821"), ("ok4821", "4821"), ("  Ok  4821 ", "4821"), ("OK: 4821", "4821"),
    ("Xác nhận 4821", "4821"), ("xac nhan 4821", "4821"), ("XN 4821", "4821"),
    ("Đã nhận 4821", "4821"), ("OK 482", None), ("OK 48211", None), ("cứu em", None),
    ("OK 4821 nhưng em đang bị nhốt", None), ("", None)])
def test_reply_codes_are_read_in_any_case_with_or_without_diacritics(text, code):
    assert acklinks.parse_reply(text) == code


@pytest.fixture
def app(make_app):
    app = make_app(SECRET_KEY=SECRET, ACK_REPLY_CODES=True)
    app.extensions["hotline.clock"] = lambda: T0
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
        route(db, facts(make_tip(db), urgency="high"), T0)
        escalation.run_due(db, T0)
    return app


def _sms(app, body, sender=PRIMARY, sid="SMreply1"):
    return twilio_post(app, "/twilio/sms", {"MessageSid": sid, "AccountSid": "AC1",
                                            "From": sender, "To": "+84111", "Body": body})


def _dispatch(app) -> Dispatch:
    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalar(select(Dispatch).where(Dispatch.office.has(code="police-lang-son")))


def _code(app) -> str:
    with Session(app.extensions["hotline.engine"]) as db:
        person = db.scalar(select(Person).where(Person.phone == PRIMARY))
        return acklinks.reply_code(SECRET, _dispatch(app).id, person.id)


def test_the_sms_alert_carries_the_code(app):
    with FakeTwilio() as twilio, Channels({**twilio.settings,
                                           "TWILIO_NUMBER": "+15005550006"}) as channels:
        outbox.run(sessionmaker(app.extensions["hotline.engine"]), channels,
                   outbox.OutboxSettings("https://111.example.vn", SECRET, reply_codes=True),
                   T0)
        body = next(m.form["Body"] for m in twilio.messages if m.form["To"] == PRIMARY)
    assert body.endswith(f"hoặc nhắn lại OK {_code(app)}")


def test_a_reply_code_acknowledges_and_makes_no_tip(app):
    tips = count_rows(app.extensions["hotline.engine"], Tip)
    response = _sms(app, f"ok {_code(app)}")
    assert response.status_code == 200
    dispatch = _dispatch(app)
    assert (dispatch.state, dispatch.acknowledged_via) == ("acknowledged", "reply")
    assert dispatch.acknowledged_by.endswith("(police-lang-son-primary)")
    assert count_rows(app.extensions["hotline.engine"], Tip) == tips
    assert _sms(app, f"ok {_code(app)}").status_code == 200  # redelivered: still no tip
    assert count_rows(app.extensions["hotline.engine"], Tip) == tips


def test_a_wrong_code_acknowledges_nothing_and_is_recorded(app):
    wrong = f"{(int(_code(app)) + 1) % 10_000:04d}"
    _sms(app, f"OK {wrong}")
    assert _dispatch(app).state == "pending"
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "reply.unmatched")) is not None


def test_the_same_words_from_anyone_else_are_a_tip(app):
    tips = count_rows(app.extensions["hotline.engine"], Tip)
    _sms(app, f"OK {_code(app)}", sender="+84933333333")
    assert _dispatch(app).state == "pending"
    assert count_rows(app.extensions["hotline.engine"], Tip) == tips + 1


def test_with_the_setting_off_a_reply_is_intake(make_app, app):
    off = make_app(SECRET_KEY=SECRET)
    tips = count_rows(off.extensions["hotline.engine"], Tip)
    _sms(off, f"OK {_code(app)}")
    assert _dispatch(app).state == "pending"
    assert count_rows(off.extensions["hotline.engine"], Tip) == tips + 1
