"""Dispatches through the API: what a tip's dispatches say, what operators, supervisors
and an office's focal point may do with them, and what a focal point may see (scoped to
their office, disclosed as the rules allow, every disclosure recorded)."""

from __future__ import annotations

from datetime import date

import pytest
from routing_helpers import T0, build_directory
from service_helpers import count_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import accounts, dispatching, intake
from hotline.models import AuditEvent, Tip
from hotline.phones import parse_number
from routing import escalation
from routing.models import Agency, Disclosure, Dispatch, Office

PASSWORD = "correct horse battery"
CHILD = ("SM1", "+84911111111", "em 14 tuoi bi nhot o quan karaoke o Lang Son, cuu em")
ADULT = ("SM2", "+84922222222", "anh trai toi o Lang Son bi lua di lam, bi giu giay to")


@pytest.fixture
def app(make_app):
    app = make_app()
    app.extensions["hotline.clock"] = lambda: T0
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    with Session(engine) as db, db.begin():
        build_directory(db)
        for sid, number, body in (CHILD, ADULT):
            received = intake.receive_sms(db, vault, provider="twilio", provider_id=sid,
                                          number=parse_number(number), body=body,
                                          received_at=T0, thread_window=_window())
            dispatching.route_tip(db, received.tip.id, T0)
        escalation.run_due(db, T0)
    return app


def _window():
    from datetime import timedelta

    return timedelta(hours=24)


def _headers(app, email, role, **extra) -> dict:
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, email, PASSWORD, role, **extra)
        secret = accounts.create_token(db, email).secret
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def operator(app):
    return _headers(app, "op@example.vn", "operator")


@pytest.fixture
def supervisor(app):
    return _headers(app, "sup@example.vn", "supervisor")


@pytest.fixture
def focal(app):
    """The Lạng Sơn police's focal point."""
    return _headers(app, "fp@example.vn", "focal_point", office_code="police-lang-son")


def _dispatch_id(app, reference, office) -> int:
    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalar(select(Dispatch.id).where(Dispatch.reference == reference,
                                                   Dispatch.office.has(code=office)))


def _reference(app, sid) -> str:
    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalar(select(Tip.reference).join(Tip.messages).where(
            Tip.messages.any(provider_id=sid)))


def test_a_tip_shows_its_dispatches_alerts_and_status(app, operator):
    client = app.test_client()
    tip = client.get(f"/api/tips/{_reference(app, 'SM1')}", headers=operator).json
    offices = {d["office"]["code"] for d in tip["dispatches"]}
    assert offices == {"c02", "police-lang-son", "moh-social", "moh-children"}
    lang_son = next(d for d in tip["dispatches"] if d["office"]["code"] == "police-lang-son")
    assert lang_son["state"] == "pending" and lang_son["acknowledged"] is None
    assert {(a["channel"], a["recipient_role"], a["status"]) for a in lang_son["alerts"]} == {
        ("sms", "primary", "pending"), ("call", "primary", "pending")}
    assert tip["dispatch_status"] == "dispatched"


def test_a_tip_is_acknowledged_once_every_live_dispatch_is(app, operator, supervisor):
    client = app.test_client()
    reference = _reference(app, "SM1")
    tip = client.get(f"/api/tips/{reference}", headers=operator).json
    for n, dispatch in enumerate(tip["dispatches"]):
        action = "cancel" if n == 0 else "acknowledge"
        response = client.post(f"/api/dispatches/{dispatch['id']}/{action}",
                               headers=supervisor, json={"reason": "trùng lặp"})
        assert response.status_code == 200, response.json
    tip = client.get(f"/api/tips/{reference}", headers=operator).json
    assert tip["dispatch_status"] == "acknowledged"
    acknowledged = [d["acknowledged"] for d in tip["dispatches"] if d["acknowledged"]]
    assert {(a["by"], a["via"]) for a in acknowledged} == {("sup@example.vn", "supervisor")}


# -- the focal point ----------------------------------------------------------------------


def test_a_focal_point_lists_only_their_offices_tips(app, focal):
    listed = app.test_client().get("/api/tips", headers=focal).json["tips"]
    assert {t["reference"] for t in listed} == {_reference(app, "SM1"), _reference(app, "SM2")}
    assert all("caller" not in t and "messages" not in t for t in listed)
    other = _headers(app, "fp2@example.vn", "focal_point", office_code="embassy-kh")
    assert app.test_client().get("/api/tips", headers=other).json["tips"] == []


def test_another_offices_tip_is_a_404_and_audited(app):
    other = _headers(app, "fp2@example.vn", "focal_point", office_code="embassy-kh")
    reference = _reference(app, "SM1")
    response = app.test_client().get(f"/api/tips/{reference}", headers=other)
    assert response.status_code == 404 and response.json["error"] == f"no tip {reference}"
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "tip.read_refused")) is not None
        assert count_rows(app.extensions["hotline.engine"], Disclosure) == 0


def test_a_child_tip_is_disclosed_on_the_child_rule_and_recorded(app, focal):
    tip = app.test_client().get(f"/api/tips/{_reference(app, 'SM1')}", headers=focal).json
    assert tip["basis"] == "child_involved"
    assert tip["caller_number"] == "+84911111111"
    assert tip["caller_safety"]["phone_shared"] is True  # it may be in others' hands
    assert tip["thread"][0]["body"] == CHILD[2]
    assert [d["office"]["code"] for d in tip["dispatches"]] == ["police-lang-son"]
    with Session(app.extensions["hotline.engine"]) as db:
        (record,) = db.scalars(select(Disclosure)).all()
        assert (record.recipient, record.basis) == ("fp@example.vn", "child_involved")
        assert {"caller_number", "thread", "reference"} <= set(record.fields)


def test_without_consent_or_a_rule_only_the_minimum_is_shown(app, focal):
    reference = _reference(app, "SM2")
    tip = app.test_client().get(f"/api/tips/{reference}", headers=focal).json
    assert tip["urgency"] in ("medium", "high") and tip["child_involved"] is False
    assert tip["basis"] is None
    assert "caller_number" not in tip and "thread" not in tip
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        record = db.scalar(select(Disclosure))
        assert record.basis == "minimum" and "thread" not in record.fields
        db.scalar(select(Tip).where(Tip.reference == reference)).caller.consent_police = True
    tip = app.test_client().get(f"/api/tips/{reference}", headers=focal).json
    assert tip["basis"] == "consent" and tip["thread"][0]["body"] == ADULT[2]


def test_a_focal_point_acknowledges_closes_and_declines_their_own(app, focal):
    client = app.test_client()
    first = _dispatch_id(app, _reference(app, "SM1"), "police-lang-son")
    response = client.post(f"/api/dispatches/{first}/acknowledge", headers=focal)
    assert response.status_code == 200
    assert response.json["acknowledged"]["via"] == "api"
    assert {a["status"] for a in response.json["alerts"]} == {"cancelled"}  # not yet sent
    assert client.post(f"/api/dispatches/{first}/acknowledge", headers=focal).status_code == 200
    closed = client.post(f"/api/dispatches/{first}/outcome", headers=focal,
                         json={"outcome": "Đã giải cứu, bàn giao cho gia đình"})
    assert closed.json["state"] == "closed"
    second = _dispatch_id(app, _reference(app, "SM2"), "police-lang-son")
    declined = client.post(f"/api/dispatches/{second}/decline", headers=focal,
                           json={"reason": "Địa bàn thuộc Cao Bằng"})
    assert declined.json["cancelled"] == {"at": T0.isoformat(), "by": "fp@example.vn",
                                          "reason": "Địa bàn thuộc Cao Bằng",
                                          "not_our_office": True}
    other = _dispatch_id(app, _reference(app, "SM1"), "c02")
    assert client.post(f"/api/dispatches/{other}/acknowledge",
                       headers=focal).status_code == 404


def test_who_may_do_what(app, operator, focal):
    client = app.test_client()
    dispatch = _dispatch_id(app, _reference(app, "SM1"), "police-lang-son")
    assert client.post(f"/api/dispatches/{dispatch}/acknowledge",
                       headers=operator).status_code == 403
    assert client.post(f"/api/dispatches/{dispatch}/decline", headers=operator,
                       json={"reason": "x"}).status_code == 403
    assert client.post(f"/api/dispatches/{dispatch}/cancel", headers=focal,
                       json={"reason": "x"}).status_code == 403
    reference = _reference(app, "SM1")
    for path, body in [("claim", None), ("status", {"status": "in_progress"}),
                       ("override", {"urgency": "low", "reason": "x"})]:
        response = client.post(f"/api/tips/{reference}/{path}", headers=focal, json=body)
        assert response.status_code == 403 and "focal points" in response.json["error"]
    assert client.post("/api/tips", headers=focal, json={}).status_code == 403


# -- operators add, cancel and reroute ------------------------------------------------------


def test_an_operator_adds_a_dispatch_once(app, operator):
    client = app.test_client()
    reference = _reference(app, "SM2")
    response = client.post(f"/api/tips/{reference}/dispatches", headers=operator,
                           json={"function": "border", "office": "border-lang-son",
                                 "reason": "gần cửa khẩu"})
    assert response.status_code == 201, response.json
    assert response.json["created_by"] == "op@example.vn"
    again = client.post(f"/api/tips/{reference}/dispatches", headers=operator,
                        json={"function": "border", "office": "border-lang-son",
                              "reason": "gần cửa khẩu"})
    assert again.status_code == 409


@pytest.mark.parametrize(("body", "complaint"), [
    ({"office": "border", "reason": "x"}, "function must be one of"),
    ({"function": "army", "office": "border", "reason": "x"}, "function must be one of"),
    ({"function": "border", "reason": "x"}, "office must be an office code"),
    ({"function": "border", "office": "nowhere", "reason": "x"}, "no office nowhere"),
    ({"function": "border", "office": "closed-office", "reason": "x"},
     "no office closed-office"),
    ({"function": "border", "office": "border"}, "reason is required"),
    ({"function": "border", "office": "border", "reason": "x" * 2001}, "at most 2000"),
])
def test_bad_additions_change_nothing(app, operator, body, complaint):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():  # ended yesterday
        agency = db.scalar(select(Agency))
        db.add(Office(code="closed-office", agency=agency, name="Đã giải thể",
                      scope="national", valid_from=date(2020, 1, 1),
                      valid_to=date(2026, 11, 23)))
    before = count_rows(app.extensions["hotline.engine"], Dispatch)
    response = app.test_client().post(f"/api/tips/{_reference(app, 'SM2')}/dispatches",
                                      headers=operator, json=body)
    assert response.status_code == 400 and complaint in response.json["error"]
    assert count_rows(app.extensions["hotline.engine"], Dispatch) == before


def test_cancel_and_reroute(app, operator):
    client = app.test_client()
    reference = _reference(app, "SM2")
    dispatch = _dispatch_id(app, reference, "police-lang-son")
    moved = client.post(f"/api/dispatches/{dispatch}/reroute", headers=operator,
                        json={"office": "c02", "reason": "vụ việc liên tỉnh"})
    assert moved.status_code == 201 and moved.json["office"]["code"] == "c02"
    tip = client.get(f"/api/tips/{reference}", headers=operator).json
    old = next(d for d in tip["dispatches"] if d["id"] == dispatch)
    assert old["state"] == "cancelled" and old["cancelled"]["reason"].startswith(
        "rerouted to c02")
    assert client.post(f"/api/dispatches/{dispatch}/cancel", headers=operator,
                       json={"reason": "x"}).status_code == 409
    same = client.post(f"/api/dispatches/{moved.json['id']}/reroute", headers=operator,
                       json={"office": "c02", "reason": "x"})
    assert same.status_code == 400
    assert client.post("/api/dispatches/999999/cancel", headers=operator,
                       json={"reason": "x"}).status_code == 404
