"""`POST /twilio/sms`: signed with twilio's own RequestValidator, as Twilio signs."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from service_helpers import count_rows
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from hotline import create_app
from hotline.models import AuditEvent, Message, Tip

PUBLIC = "https://111.example.vn"
TOKEN = "primary-auth-token-for-tests"
SECONDARY = "secondary-auth-token-for-tests"


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "PUBLIC_BASE_URL": PUBLIC,
                      "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_AUTH_TOKEN_SECONDARY": SECONDARY})
    yield app
    app.extensions["hotline.engine"].dispose()


def _form(sid="SM0001", body="cuu em, em 14 tuoi bi nhot", sender="+84912345678"):
    return {"MessageSid": sid, "AccountSid": "AC123", "From": sender, "To": "+84111",
            "Body": body, "NumMedia": "0"}


def _post(app, form, token=TOKEN, url=PUBLIC + "/twilio/sms", signature=None):
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, form)
    return app.test_client().post("/twilio/sms", data=form,
                                  headers={"X-Twilio-Signature": signature})


def _count(app, model) -> int:
    return count_rows(app.extensions["hotline.engine"], model)


def test_a_signed_sms_is_stored_and_answered_with_empty_twiml(app):
    response = _post(app, _form())
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data(as_text=True) == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert tip.urgency == "critical" and tip.child_involved
        assert db.scalar(select(AuditEvent.action)) == "sms.received"


def test_the_secondary_token_is_accepted_during_a_rotation(app):
    assert _post(app, _form(), token=SECONDARY).status_code == 200
    assert _count(app, Tip) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token": "some-other-token"},
        {"signature": ""},
        {"signature": "not-a-signature"},
        {"url": "http://localhost/twilio/sms"},  # request.url behind a proxy
    ],
)
def test_a_bad_signature_is_refused_and_nothing_stored(app, kwargs):
    response = _post(app, _form(), **kwargs)
    assert response.status_code == 403
    assert _count(app, Tip) == 0 and _count(app, Message) == 0


def test_a_tampered_body_breaks_the_signature(app):
    form = _form()
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", form)
    form["Body"] = "tin nhan da bi sua"
    assert _post(app, form, signature=signature).status_code == 403
    assert _count(app, Tip) == 0


def test_without_a_configured_token_everything_is_refused(db_url):
    app = create_app({"DATABASE_URL": db_url, "PUBLIC_BASE_URL": PUBLIC})
    try:
        assert _post(app, _form()).status_code == 403
    finally:
        app.extensions["hotline.engine"].dispose()


def test_a_redelivery_answers_200_and_stores_nothing(app):
    assert _post(app, _form()).status_code == 200
    assert _post(app, _form()).status_code == 200
    assert _count(app, Tip) == 1 and _count(app, Message) == 1
    assert _count(app, AuditEvent) == 1


def test_a_missing_message_sid_is_a_clear_400(app):
    form = _form()
    del form["MessageSid"]
    response = _post(app, form)
    assert response.status_code == 400 and b"MessageSid" in response.data
    assert _count(app, Tip) == 0


def test_a_request_over_64_kb_is_refused(app):
    response = _post(app, _form(body="a" * 70_000))
    assert response.status_code == 413
    assert _count(app, Tip) == 0


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def _stored_body(app) -> str:
    vault = app.extensions["hotline.vault"]
    with Session(app.extensions["hotline.engine"]) as db:
        return vault.decrypt(db.scalar(select(Message.body_encrypted)))


def test_markup_and_control_characters_are_stored_as_text(app):
    # NUL too: PostgreSQL text cannot hold it, but the body is stored as a Fernet token
    body = "<script>alert(1)</script> em bi giu \x00\x07\x1b[2J\x7f o <b>Lao Cai</b>"
    response = _post(app, _form(body=body))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == EMPTY_TWIML  # nothing of it comes back
    assert _stored_body(app) == body


# Bytes that are not UTF-8 where the text has two U+FFFD: Twilio signs the parameters as
# text, so its signature is over the text with replacement characters in their place.
SIGNED_BODY = "em bi \ufffd\ufffd giu o Lao Cai"
REPLACED = "%EF%BF%BD%EF%BF%BD"  # the two U+FFFD, percent-encoded


@pytest.mark.parametrize("broken", [b"%FF%FE", b"\xff\xfe"], ids=["escaped", "raw"])
def test_bytes_that_are_not_utf8_are_kept_as_replacement_characters(app, broken):
    form = _form(body=SIGNED_BODY)
    raw = urlencode(form).encode().replace(REPLACED.encode(), broken)
    assert broken in raw and REPLACED.encode() not in raw
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", form)
    response = app.test_client().post(
        "/twilio/sms", data=raw, content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == EMPTY_TWIML
    assert _count(app, Tip) == 1 and _stored_body(app) == SIGNED_BODY


def test_bytes_that_are_not_utf8_are_still_covered_by_the_signature(app):
    form = _form(body=SIGNED_BODY)
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/twilio/sms", form)
    raw = urlencode(form | {"From": "+84987654321"}).replace(REPLACED, "%FF%FE").encode()
    response = app.test_client().post(
        "/twilio/sms", data=raw, content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403 and _count(app, Message) == 0


@pytest.mark.parametrize("sid", ["SM\x001", "SM 1", "SM<b>1", "SM\u00e91"])
def test_a_message_sid_of_more_than_letters_and_digits_is_a_clear_400(app, sid):
    response = _post(app, _form(sid=sid))
    assert response.status_code == 400 and b"MessageSid" in response.data
    assert _count(app, Tip) == 0 and _count(app, Message) == 0


def test_later_messages_join_the_callers_tip(app):
    _post(app, _form(sid="SM1"))
    _post(app, _form(sid="SM2", body="ho dang den"))
    _post(app, _form(sid="SM3", sender="+84987654321", body="cho hoi tong dai"))
    assert _count(app, Tip) == 2 and _count(app, Message) == 3


def test_logs_hold_neither_text_nor_number(app, caplog):
    caplog.set_level("DEBUG")
    _post(app, _form(body="bi nhot o karaoke"))
    logged = caplog.text
    assert "karaoke" not in logged and "912345678" not in logged


def _post_together(app, forms):
    """Deliver the forms at the same moment from separate threads."""
    start = threading.Barrier(len(forms))
    statuses = []

    def deliver(form):
        start.wait()
        statuses.append(_post(app, form).status_code)

    threads = [threading.Thread(target=deliver, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_duplicate_deliveries_store_one_tip(postgres_url):
    app = create_app({"DATABASE_URL": postgres_url, "PUBLIC_BASE_URL": PUBLIC,
                      "TWILIO_AUTH_TOKEN": TOKEN})
    try:
        assert _post_together(app, [_form(sid="SMdup")] * 6) == [200] * 6
        assert _count(app, Tip) == 1 and _count(app, Message) == 1
    finally:
        app.extensions["hotline.engine"].dispose()


def test_concurrent_first_messages_of_a_new_caller_are_all_kept(postgres_url):
    app = create_app({"DATABASE_URL": postgres_url, "PUBLIC_BASE_URL": PUBLIC,
                      "TWILIO_AUTH_TOKEN": TOKEN})
    try:
        forms = [_form(sid=f"SMflood{k}", body=f"tin {k}") for k in range(6)]
        assert _post_together(app, forms) == [200] * 6
        assert _count(app, Message) == 6  # a flood is collapsed into the tip, never dropped
        assert _count(app, Tip) == 1
    finally:
        app.extensions["hotline.engine"].dispose()


def test_a_joining_message_asks_for_a_rerun_of_triage(db_url, redis_url):
    import redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    app = create_app({"DATABASE_URL": db_url, "PUBLIC_BASE_URL": PUBLIC,
                      "TWILIO_AUTH_TOKEN": TOKEN, "REDIS_URL": redis_url})
    try:
        _post(app, _form(sid="SM1"))
        _post(app, _form(sid="SM2", body="ho dang den"))
        connection = redis.Redis.from_url(redis_url)
        registry = ScheduledJobRegistry(queue=Queue("hotline", connection=connection))
        with Session(app.extensions["hotline.engine"]) as db:
            tip_id = db.scalar(select(Tip.id))
        assert registry.get_job_ids() == [f"retriage-{tip_id}"]
        connection.close()
    finally:
        app.extensions["hotline.engine"].dispose()
        app.extensions["hotline.redis"].close()
