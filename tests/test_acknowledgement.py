"""Every acknowledgement path and what Twilio reports back: the signed link (a page that
acknowledges only on POST), the alert call's key press (stored even with the database
down), and delivery status callbacks (never backwards, never an acknowledgement)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from fake_twilio import FakeTwilio
from routing_helpers import T0, build_directory, facts, make_tip
from service_helpers import closed_port, twilio_post, twiml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline import calls
from routing import acklinks, escalation, outbox
from routing.channels import Channels
from routing.models import Alert, Dispatch
from routing.route import route

SECRET = "a-secret-key-for-the-tests"


@pytest.fixture
def app(make_app):
    app = make_app(SECRET_KEY=SECRET)
    app.extensions["hotline.clock"] = lambda: T0 + timedelta(minutes=1)
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
        tip = make_tip(db)
        route(db, facts(tip, urgency="critical", child=True), T0)
        escalation.run_due(db, T0)
    return app


def _dispatch(app) -> Dispatch:
    with Session(app.extensions["hotline.engine"]) as db:
        dispatch = db.scalar(select(Dispatch).order_by(Dispatch.id))
        dispatch.alerts  # noqa: B018  (loaded before the session closes)
        return dispatch


def _link(app, dispatch) -> str:
    person = dispatch.alerts[0].person_id
    return "/a/" + acklinks.token(SECRET, dispatch.id, person)


# -- the link ---------------------------------------------------------------------------


def test_opening_the_link_shows_the_dispatch_and_does_not_acknowledge(app):
    dispatch = _dispatch(app)
    response = app.test_client().get(_link(app, dispatch))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and dispatch.reference in page
    assert "Xác nhận đã nhận tin" in page and 'method="post"' in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert _dispatch(app).state == "pending"  # a scanner's GET acknowledges nothing


def test_posting_acknowledges_and_a_used_link_shows_who_and_when(app):
    dispatch = _dispatch(app)
    client = app.test_client()
    response = client.post(_link(app, dispatch))
    assert response.status_code == 200
    acknowledged = _dispatch(app)
    assert (acknowledged.state, acknowledged.acknowledged_via) == ("acknowledged", "link")
    assert acknowledged.acknowledged_by == "Cán bộ police-lang-son-primary " \
                                           "(police-lang-son-primary)"
    again = client.get(_link(app, dispatch)).get_data(as_text=True)
    assert "Đã xác nhận bởi Cán bộ police-lang-son-primary" in again and "10:01" in again
    assert client.post(_link(app, dispatch)).status_code == 200  # a second press: same


@pytest.mark.parametrize("token", ["1-1-aaaaaaaaaaaaaaaa", "garbage", "999-1-" + "a" * 16,
                                   "0-1-aaaaaaaaaaaaaaaa"])
def test_forged_or_unknown_links_are_refused(app, token):
    response = app.test_client().post(f"/a/{token}")
    assert response.status_code == 404 and "không hợp lệ" in response.get_data(as_text=True)
    assert _dispatch(app).state == "pending"


def test_a_forged_signature_for_a_real_dispatch_is_refused(app):
    dispatch = _dispatch(app)
    forged = acklinks.token("someone-elses-secret", dispatch.id, dispatch.alerts[0].person_id)
    assert app.test_client().post(f"/a/{forged}").status_code == 404
    assert _dispatch(app).state == "pending"


def test_an_expired_link_is_refused(app):
    app.extensions["hotline.clock"] = lambda: T0 + timedelta(days=7)
    dispatch = _dispatch(app)
    response = app.test_client().post(_link(app, dispatch))
    assert response.status_code == 410 and _dispatch(app).state == "pending"


def test_a_cancelled_dispatchs_link_says_so(app):
    dispatch = _dispatch(app)
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        escalation.cancel(db, db.get(Dispatch, dispatch.id), "trùng", "op@example.vn", T0)
    response = app.test_client().post(_link(app, dispatch))
    assert "không còn giao" in response.get_data(as_text=True)
    assert _dispatch(app).state == "cancelled"


# -- the alert call ------------------------------------------------------------------------


def _call_url(app) -> tuple[str, int]:
    """Send the first call alert through the fake Twilio; the URL Twilio would fetch."""
    with FakeTwilio() as twilio, Channels({**twilio.settings,
                                           "TWILIO_NUMBER": "+15005550006"}) as channels:
        outbox.run(sessionmaker(app.extensions["hotline.engine"]), channels,
                   outbox.OutboxSettings("https://111.example.vn", SECRET,
                                         to_placeholders=True), T0)
        url = twilio.calls[0].form["Url"]
    parts = urlsplit(url)
    alert_id = int(parts.path.rsplit("/", 1)[1])
    return f"{parts.path}?{parts.query}", alert_id


def test_the_alert_call_says_the_alert_in_vietnamese_and_asks_for_1(app):
    path, _ = _call_url(app)
    root = twiml(twilio_post(app, path, {"CallSid": "CA9", "AccountSid": "AC1"}))
    gather = root.find("Gather")
    text = gather.find("Say").text
    assert "mã tin 1 1 1, 2 6 1 1 2 3, 0 0 0 1" in text and "bấm phím 1" in text  # digit by digit
    assert gather.find("Say").get("language") == "vi-VN"
    assert gather.get("action").startswith(path.split("?")[0] + "/key?")


def test_pressing_1_acknowledges_and_other_keys_ask_again(app):
    path, alert_id = _call_url(app)
    key_path = path.replace(f"/{alert_id}?", f"/{alert_id}/key?")
    again = twiml(twilio_post(app, key_path, {"CallSid": "CA9", "Digits": "5"}))
    assert again.find("Redirect") is not None and _dispatch(app).state == "pending"
    thanks = twiml(twilio_post(app, key_path, {"CallSid": "CA9", "Digits": "1"}))
    assert thanks.find("Hangup") is not None
    dispatch = _dispatch(app)
    assert (dispatch.state, dispatch.acknowledged_via) == ("acknowledged", "call")


def test_bad_alert_call_urls_are_refused(app):
    for query in ("k=alert&u=urgent&f=police&r=1", "k=story&u=high&f=police",
                  "k=alert&u=high&f=army", "k=alert&u=high&f=police&m=-1"):
        response = twilio_post(app, f"/twilio/alert-call/1?{query}", {"CallSid": "CA9"})
        assert response.status_code == 400


def test_a_key_pressed_with_the_database_down_is_spooled_and_acknowledges_later(app,
                                                                               make_app):
    path, alert_id = _call_url(app)
    key_path = path.replace(f"/{alert_id}?", f"/{alert_id}/key?")
    down = make_app(SECRET_KEY=SECRET, VOICE_STORE_SECONDS=1,
                    DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x")
    thanks = twiml(twilio_post(down, key_path, {"CallSid": "CA9", "Digits": "1"}))
    assert thanks.find("Hangup") is not None
    spool = down.extensions["hotline.spool"]
    assert spool.pending() == 1 and _dispatch(app).state == "pending"
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    assert spool.replay(lambda event: calls.store(engine, vault, event)).applied == 1
    assert _dispatch(app).state == "acknowledged"


# -- delivery status -------------------------------------------------------------------------


def _sent_sms(app) -> Alert:
    with FakeTwilio() as twilio, Channels({**twilio.settings,
                                           "TWILIO_NUMBER": "+15005550006"}) as channels:
        outbox.run(sessionmaker(app.extensions["hotline.engine"]), channels,
                   outbox.OutboxSettings("https://111.example.vn", SECRET,
                                         to_placeholders=True), T0)
    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalar(select(Alert).where(Alert.channel == "sms", Alert.status == "sent"))


def _status(app, **form):
    return twilio_post(app, "/twilio/status", {"AccountSid": "AC1", **form})


def test_delivery_is_recorded_never_backwards_and_never_an_acknowledgement(app):
    alert = _sent_sms(app)
    assert _status(app, MessageSid=alert.provider_id, MessageStatus="delivered").status_code \
        == 204
    _status(app, MessageSid=alert.provider_id, MessageStatus="sent")  # late
    _status(app, MessageSid=alert.provider_id, MessageStatus="delivered")  # again
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.get(Alert, alert.id).status == "delivered"
    assert _dispatch(app).state == "pending"


def test_an_undelivered_sms_falls_back_to_the_next_channel(app):
    alert = _sent_sms(app)
    _status(app, MessageSid=alert.provider_id, MessageStatus="undelivered", ErrorCode="30008")
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.get(Alert, alert.id).status == "undelivered"
        # The call went out on this step already: the next untried channel is email.
        fallback = db.scalar(select(Alert).where(Alert.person_id == alert.person_id,
                                                 Alert.channel == "email"))
        assert fallback is not None and fallback.status == "pending"


def test_status_callbacks_bad_or_unknown(app):
    assert _status(app, MessageSid="SMnothing", MessageStatus="delivered").status_code == 204
    assert _status(app, MessageSid="SM1", MessageStatus="teleported").status_code == 400
    assert _status(app, MessageStatus="delivered").status_code == 400
    assert _status(app, MessageSid="SM1").status_code == 400
    assert twilio_post(app, "/twilio/status", {"MessageSid": "SM1", "MessageStatus": "sent"},
                       token="wrong").status_code == 403


def test_call_statuses_map_onto_the_alert(app):
    path, alert_id = _call_url(app)
    with Session(app.extensions["hotline.engine"]) as db:
        sid = db.get(Alert, alert_id).provider_id
    _status(app, CallSid=sid, CallStatus="ringing")
    _status(app, CallSid=sid, CallStatus="no-answer")
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.get(Alert, alert_id).status == "undelivered"
    assert dict(parse_qsl(urlsplit(path).query))["u"] == "critical"
