"""`POST /intake/sms`: a gateway's HMAC-signed JSON goes the way of a Twilio SMS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from service_helpers import count_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import create_app
from hotline.config import ConfigError, load
from hotline.gateway import sign
from hotline.models import Message, Tip

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SECRET = "viettel-gateway-secret-0123456789"


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url,
                      "HOTLINE_GATEWAYS": {"viettel": SECRET, "vnpt": "x" * 32}})
    app.extensions["hotline.clock"] = lambda: NOW
    yield app
    app.extensions["hotline.engine"].dispose()


def _payload(message_id="vt-0001", text="em 15 tuoi bi nhot o Mong Cai", sender="0912345678",
             received_at="2026-11-23T08:59:00+07:00"):
    return {"message_id": message_id, "from": sender, "to": "111", "text": text,
            "received_at": received_at}


def _post(app, payload, gateway="viettel", secret=SECRET, at=NOW, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return app.test_client().post("/intake/sms", data=body, content_type="application/json",
                                  headers={"X-Hotline-Gateway": gateway,
                                           "X-Hotline-Signature": sign(secret, int(at.timestamp()),
                                                                       body)})


def _count(app, model) -> int:
    return count_rows(app.extensions["hotline.engine"], model)


def test_a_signed_gateway_sms_becomes_a_tip(app):
    response = _post(app, _payload())
    assert response.status_code == 200
    assert response.json == {"reference": "111-261123-0001", "duplicate": False}
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert tip.urgency == "critical" and tip.channel == "sms"
        message = tip.messages[0]
        assert message.provider == "gateway:viettel" and message.provider_id == "vt-0001"
        assert message.received_at == datetime(2026, 11, 23, 1, 59, tzinfo=UTC)


def test_a_redelivery_stores_nothing(app):
    _post(app, _payload())
    assert _post(app, _payload()).json["duplicate"] is True
    assert _count(app, Message) == 1


def test_the_same_id_from_another_gateway_is_another_message(app):
    _post(app, _payload())
    assert _post(app, _payload(), gateway="vnpt", secret="x" * 32).status_code == 200
    assert _count(app, Message) == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "another-secret-of-enough-length"},
        {"gateway": "unknown"},
        {"gateway": ""},
        {"at": NOW - timedelta(seconds=301)},  # stale
        {"at": NOW + timedelta(seconds=301)},  # from the future
    ],
)
def test_bad_or_stale_signatures_are_refused(app, kwargs):
    assert _post(app, _payload(), **kwargs).status_code == 403
    assert _count(app, Tip) == 0


def test_a_body_changed_after_signing_is_refused(app):
    body = json.dumps(_payload()).encode()
    signature = sign(SECRET, int(NOW.timestamp()), body)
    response = app.test_client().post(
        "/intake/sms", data=body.replace(b"Mong Cai", b"Ha Noi"),
        content_type="application/json",
        headers={"X-Hotline-Gateway": "viettel", "X-Hotline-Signature": signature})
    assert response.status_code == 403 and _count(app, Tip) == 0


@pytest.mark.parametrize(
    ("payload", "raw", "complaint"),
    [
        (None, b"not json", b"JSON object"),
        (None, b"[1, 2]", b"JSON object"),
        ({"text": "x"}, None, b"message_id"),
        ({"message_id": "m1", "text": 5}, None, b"text must"),
        ({"message_id": "m1", "text": "x", "from": 84912345678}, None, b"from must"),
        ({"message_id": "m1", "text": "x", "received_at": "yesterday"}, None, b"ISO 8601"),
        ({"message_id": "m1", "text": "x", "received_at": "2026-11-23T08:00:00"}, None, b"offset"),
        ({"message_id": "m" * 65, "text": "x"}, None, b"message_id"),
    ],
)
def test_malformed_payloads_get_a_clear_400(app, payload, raw, complaint):
    response = _post(app, payload, raw=raw)
    assert response.status_code == 400 and complaint in response.data
    assert _count(app, Tip) == 0


def _stored_body(app) -> str:
    vault = app.extensions["hotline.vault"]
    with Session(app.extensions["hotline.engine"]) as db:
        return vault.decrypt(db.scalar(select(Message.body_encrypted)))


def test_markup_and_control_characters_are_stored_as_text(app):
    # NUL too: PostgreSQL text cannot hold it, but the body is stored as a Fernet token
    text = "<script>alert(1)</script> em bi giu \x00\x07\x1b[2J\x7f o <b>Lao Cai</b>"
    response = _post(app, _payload(text=text))
    assert response.status_code == 200
    assert response.json == {"reference": "111-261123-0001", "duplicate": False}
    assert _stored_body(app) == text


def test_an_escaped_lone_surrogate_is_valid_utf8_and_stored_as_received(app):
    # "\ud800" in JSON is plain ASCII on the wire; the vault round-trips such text
    text = "em bi \ud800 giu"
    assert _post(app, _payload(text=text)).status_code == 200
    assert _stored_body(app) == text


@pytest.mark.parametrize(
    "broken", [b"\xff\xfe", b"\xed\xa0\x80"],  # the second: a surrogate, UTF-8-encoded
    ids=["bytes", "encoded-surrogate"])
def test_text_that_is_not_utf8_is_a_clear_400_and_stores_nothing(app, broken):
    raw = json.dumps(_payload(text="em bi XX giu")).encode().replace(b"XX", broken)
    response = _post(app, None, raw=raw)
    assert response.status_code == 400 and b"not valid UTF-8" in response.data
    assert _count(app, Tip) == 0 and _count(app, Message) == 0


@pytest.mark.parametrize("message_id", ["vt\x000001", "vt\x1b0001", "vt\n0001"])
def test_a_message_id_with_control_characters_is_a_clear_400(app, message_id):
    response = _post(app, _payload(message_id=message_id))
    assert response.status_code == 400 and b"message_id" in response.data
    assert _count(app, Tip) == 0 and _count(app, Message) == 0


def test_gateway_secrets_must_be_well_formed():
    with pytest.raises(ConfigError, match="name=secret"):
        load(env={"HOTLINE_GATEWAYS": "viettel:short"})
    assert load(env={"HOTLINE_GATEWAYS": f"viettel={SECRET}; vnpt={SECRET}"})[
        "HOTLINE_GATEWAYS"] == {"viettel": SECRET, "vnpt": SECRET}
