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


def test_gateway_secrets_must_be_well_formed():
    with pytest.raises(ConfigError, match="name=secret"):
        load(env={"HOTLINE_GATEWAYS": "viettel:short"})
    assert load(env={"HOTLINE_GATEWAYS": f"viettel={SECRET}; vnpt={SECRET}"})[
        "HOTLINE_GATEWAYS"] == {"viettel": SECRET, "vnpt": SECRET}
