"""The tip API: bearer tokens, listing with filters and keyset pages, reading, claims,
assignment, status, overrides, and an audit event for every read and change."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import triage
from hotline import accounts, calls, create_app, intake
from hotline.models import ApiToken, AuditEvent, Tip, TriageOverride, User
from hotline.phones import parse_number

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
PASSWORD = "a long enough password"
TEXTS = {
    "SM1": ("+84911111111", "em 14 tuoi bi nhot o quan karaoke, cuu em"),  # critical, child
    "SM2": ("+84922222222", "cho hoi tong dai 111 co mat phi khong"),  # low
    "SM3": ("+84933333333", "chi toi bi lua sang Campuchia, bi giu ho chieu"),  # consular
}


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url})
    app.extensions["hotline.clock"] = lambda: NOW
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        vault = app.extensions["hotline.vault"]
        for k, (sid, (number, body)) in enumerate(TEXTS.items()):
            intake.receive_sms(db, vault, provider="twilio", provider_id=sid,
                               number=parse_number(number), body=body,
                               received_at=NOW - timedelta(minutes=10 - k),
                               thread_window=timedelta(hours=24))
    yield app
    app.extensions["hotline.engine"].dispose()


def _token(app, email, role, **extra) -> str:
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, email, PASSWORD, role, **extra)
        if role == "focal_point":
            return ""
        return accounts.create_token(db, email).secret


@pytest.fixture
def operator(app):
    return {"Authorization": f"Bearer {_token(app, 'op@example.vn', 'operator')}"}


@pytest.fixture
def client(app):
    return app.test_client()


def _events(app, action):
    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                          .order_by(AuditEvent.id)).all()


def _bearer(app, email, role) -> dict:
    return {"Authorization": f"Bearer {_token(app, email, role)}"}


def _holder(app, reference) -> tuple[str, str | None]:
    """The tip's status and the email of whoever holds it."""
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip).where(Tip.reference == reference))
        holder = db.get(User, tip.claimed_by_id) if tip.claimed_by_id else None
        return tip.status, holder.email if holder else None


def _set_status(app, reference, status):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        db.scalar(select(Tip).where(Tip.reference == reference)).status = status


def _close(app, reference):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        tip = db.scalar(select(Tip).where(Tip.reference == reference))
        tip.status, tip.outcome, tip.closed_at = "closed", "no_action", NOW


# -- who may ask --------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer h111_wrong", "Basic abc"])
def test_requests_without_a_valid_token_get_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/tips", headers=headers)
    assert response.status_code == 401 and "error" in response.json


def test_a_revoked_token_is_refused(app, client, operator):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        db.scalar(select(ApiToken)).revoked_at = NOW
    assert client.get("/api/tips", headers=operator).status_code == 401


def test_the_token_records_its_last_use(app, client, operator):
    client.get("/api/tips", headers=operator)
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(ApiToken.last_used_at)) == NOW


# -- listing ---------------------------------------------------------------------------


def test_listing_is_newest_first_and_audited(app, client, operator):
    response = client.get("/api/tips", headers=operator)
    assert response.status_code == 200
    refs = [t["reference"] for t in response.json["tips"]]
    assert refs == ["111-261123-0003", "111-261123-0002", "111-261123-0001"]
    assert response.json["next"] is None
    (event,) = _events(app, "tip.list")
    assert event.detail == {"references": refs} and event.user_id is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("urgency=critical", ["111-261123-0001"]),
        ("child=true", ["111-261123-0001"]),
        ("function=consular", ["111-261123-0003"]),
        ("status=new", ["111-261123-0003", "111-261123-0002", "111-261123-0001"]),
        ("status=closed", []),
        ("since=2026-11-23T09:51:30%2B07:00", ["111-261123-0003"]),
    ],
)
def test_listing_filters(client, operator, query, expected):
    response = client.get(f"/api/tips?{query}", headers=operator)
    assert [t["reference"] for t in response.json["tips"]] == expected


def test_keyset_pages_cover_every_tip_once(client, operator):
    seen, cursor = [], None
    while True:
        url = "/api/tips?limit=2" + (f"&after={cursor}" if cursor else "")
        page = client.get(url, headers=operator).json
        seen += [t["reference"] for t in page["tips"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["111-261123-0003", "111-261123-0002", "111-261123-0001"]


@pytest.mark.parametrize(
    ("query", "complaint"),
    [("status=open", "status must be"), ("urgency=urgent", "urgency must be"),
     ("child=maybe", "child must be"), ("function=army", "function must be"),
     ("since=yesterday", "ISO 8601"), ("since=2026-11-23T08:00:00", "offset"),
     ("limit=0", "limit must be"), ("limit=500", "limit must be"), ("after=x", "whole")],
)
def test_bad_filters_get_a_clear_400(app, client, operator, query, complaint):
    response = client.get(f"/api/tips?{query}", headers=operator)
    assert response.status_code == 400 and complaint in response.json["error"]
    assert _events(app, "tip.list") == []


# -- one tip ----------------------------------------------------------------------------------


def test_reading_a_tip_shows_the_thread_and_is_audited(app, client, operator):
    response = client.get("/api/tips/111-261123-0001", headers=operator)
    assert response.status_code == 200
    tip = response.json
    assert tip["urgency"] == "critical" and tip["triage"]["child_involved"] is True
    assert tip["messages"][0]["body"] == TEXTS["SM1"][1]
    assert tip["caller"]["number"].endswith("111") and "91111" not in tip["caller"]["number"]
    assert tip["caller"]["safe_to_text"] is False and tip["caller"]["phone_shared"] is True
    (event,) = _events(app, "tip.read")
    assert event.tip_id is not None


def test_reading_a_call_shows_its_choice_answer_transcript_and_voicemail(app, client, operator):
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    for name, fields in [
            ("chose", {"caller": "+84944444444", "choice": "danger_now", "speech": "cứu em"}),
            ("left_queue", {"result": "leave", "seconds": 300}),
            ("recording", {"recording_sid": "RE1", "kind": "voicemail", "status": "completed",
                           "url": "https://api.twilio.com/RE1", "seconds": 40}),
            ("status", {"caller": "+84944444444", "status": "completed", "seconds": 400})]:
        calls.store(engine, vault, calls.event(name, NOW, call_sid="CA1", **fields))
    with Session(engine) as db:
        reference = db.scalar(select(Tip.reference).where(Tip.channel == "voice"))
    tip = client.get(f"/api/tips/{reference}", headers=operator).json
    (call,) = tip["calls"]
    assert (call["ivr_choice"], call["status"], call["duration_seconds"]) == (
        "danger_now", "completed", 400)
    assert call["transcript"] == "cứu em" and call["queue_result"] == "leave"
    assert call["answered_by"] is None
    assert call["recordings"] == [{"kind": "voicemail", "status": "completed",
                                   "duration_seconds": 40, "url": "https://api.twilio.com/RE1"}]
    assert [run["urgency"] for run in tip["triage_runs"]] == ["low", "critical"]


def test_an_unknown_reference_is_404(client, operator):
    response = client.get("/api/tips/111-261123-9999", headers=operator)
    assert response.status_code == 404 and "no tip" in response.json["error"]


# -- claims, status, overrides ----------------------------------------------------------


def test_claiming_a_tip(app, client, operator):
    response = client.post("/api/tips/111-261123-0001/claim", headers=operator)
    assert response.status_code == 200
    assert response.json["status"] == "claimed" and response.json["claimed_by"] == "op@example.vn"
    other = {"Authorization": f"Bearer {_token(app, 'op2@example.vn', 'operator')}"}
    response = client.post("/api/tips/111-261123-0001/claim", headers=other)
    assert response.status_code == 409 and "op@example.vn" in response.json["error"]
    assert len(_events(app, "tip.claim")) == 1


def test_claiming_ones_own_tip_again_changes_nothing(client, operator):
    url = "/api/tips/111-261123-0001/claim"
    first = client.post(url, headers=operator)
    again = client.post(url, headers=operator)
    assert again.status_code == 200 and again.json == first.json


def test_a_supervisor_cannot_claim_a_tip_an_operator_holds(app, client, operator):
    client.post("/api/tips/111-261123-0001/claim", headers=operator)
    supervisor = _bearer(app, "sup@example.vn", "supervisor")
    response = client.post("/api/tips/111-261123-0001/claim", headers=supervisor)
    assert response.status_code == 409 and "op@example.vn" in response.json["error"]
    assert _holder(app, "111-261123-0001") == ("claimed", "op@example.vn")


def test_a_closed_tip_cannot_be_claimed(app, client, operator):
    _close(app, "111-261123-0002")
    response = client.post("/api/tips/111-261123-0002/claim", headers=operator)
    assert response.status_code == 409 and "closed" in response.json["error"]
    assert _events(app, "tip.claim") == []


def test_of_operators_claiming_together_exactly_one_wins(app, postgres_url):
    headers = [_bearer(app, f"op{k}@example.vn", "operator") for k in range(6)]
    start, answers = threading.Barrier(len(headers)), []

    def claim(header):
        start.wait()
        answers.append(app.test_client().post("/api/tips/111-261123-0001/claim",
                                              headers=header))

    threads = [threading.Thread(target=claim, args=(h,)) for h in headers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    (winner,) = [a.json["claimed_by"] for a in answers if a.status_code == 200]
    assert _holder(app, "111-261123-0001") == ("claimed", winner)
    assert len(_events(app, "tip.claim")) == 1


def test_closing_needs_an_outcome(app, client, operator):
    url = "/api/tips/111-261123-0002/status"
    assert client.post(url, json={"status": "closed"}, headers=operator).status_code == 400
    assert client.post(url, json={"status": "in_progress", "outcome": "prank"},
                       headers=operator).status_code == 400
    response = client.post(url, json={"status": "closed", "outcome": "no_action"},
                           headers=operator)
    assert response.status_code == 200 and response.json["outcome"] == "no_action"
    (event,) = _events(app, "tip.status")
    assert event.detail == {"before": ["new", None], "after": ["closed", "no_action"]}


def test_an_override_changes_the_verdict_and_keeps_the_reason(app, client, operator):
    response = client.post("/api/tips/111-261123-0002/override", headers=operator,
                           json={"urgency": "high", "functions": ["police"],
                                 "reason": "caller said on the phone the child is held"})
    assert response.status_code == 200
    assert response.json["urgency"] == "high" and response.json["functions"] == ["police"]
    assert response.json["overridden"] is True
    with Session(app.extensions["hotline.engine"]) as db:
        override = db.scalar(select(TriageOverride))
        assert override.changes == {"urgency": ["low", "high"], "functions": [[], ["police"]]}
        assert db.scalar(select(Tip).where(Tip.reference == "111-261123-0002")).triage[
            "urgency"] == "low"  # triage's own result is kept beside the override
    assert len(_events(app, "tip.override")) == 1


@pytest.mark.parametrize(
    ("body", "complaint"),
    [({"urgency": "high"}, "reason"), ({"urgency": "high", "reason": "  "}, "reason"),
     ({"urgency": "urgent", "reason": "r"}, "urgency must be"),
     ({"functions": ["army"], "reason": "r"}, "functions must be"),
     ({"child_involved": "yes", "reason": "r"}, "true or false"),
     ({"urgency": "low", "reason": "nothing changes"}, "at least one")],
)
def test_bad_overrides_change_nothing(app, client, operator, body, complaint):
    response = client.post("/api/tips/111-261123-0002/override", json=body, headers=operator)
    assert response.status_code == 400 and complaint in response.json["error"]
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(TriageOverride)) is None
        assert not db.scalar(select(Tip).where(Tip.reference == "111-261123-0002")).overridden


# -- assignment by supervisors --------------------------------------------------------


@pytest.fixture
def supervisor(app):
    return _bearer(app, "sup@example.vn", "supervisor")


@pytest.fixture
def staff(app):
    """People a tip may or may not be given to; answers the admin's headers."""
    _token(app, "op2@example.vn", "operator")
    _token(app, "gone@example.vn", "operator")
    _token(app, "fp@example.vn", "focal_point", office_code="CA-HN")
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        db.scalar(select(User).where(User.email == "gone@example.vn")).active = False
    return {"admin": _bearer(app, "admin@example.vn", "admin")}


def _assign(client, headers, user, reference="111-261123-0001"):
    return client.post(f"/api/tips/{reference}/assign", json={"user": user}, headers=headers)


def test_a_supervisor_assigns_a_new_tip(app, client, supervisor, staff):
    response = _assign(client, supervisor, "op2@example.vn")
    assert response.status_code == 200
    assert response.json["status"] == "claimed"
    assert response.json["claimed_by"] == "op2@example.vn"
    assert _holder(app, "111-261123-0001") == ("claimed", "op2@example.vn")
    (event,) = _events(app, "tip.assigned")
    assert event.detail == {"from": None, "to": "op2@example.vn"}
    assert event.tip_id is not None and event.user_id is not None


def test_a_supervisor_moves_a_claimed_tip_to_someone_else(app, client, operator, supervisor,
                                                          staff):
    client.post("/api/tips/111-261123-0001/claim", headers=operator)
    response = _assign(client, supervisor, "OP2@example.vn ")  # as typed
    assert response.status_code == 200 and response.json["claimed_by"] == "op2@example.vn"
    (event,) = _events(app, "tip.assigned")
    assert event.detail == {"from": "op@example.vn", "to": "op2@example.vn"}
    # the operator who lost it cannot take it back by claiming
    response = client.post("/api/tips/111-261123-0001/claim", headers=operator)
    assert response.status_code == 409 and "op2@example.vn" in response.json["error"]
    assert _holder(app, "111-261123-0001") == ("claimed", "op2@example.vn")


def test_an_admin_may_assign_and_a_supervisor_may_be_the_assignee(app, client, staff):
    _token(app, "sup2@example.vn", "supervisor")
    response = _assign(client, staff["admin"], "sup2@example.vn")
    assert response.status_code == 200 and response.json["claimed_by"] == "sup2@example.vn"


def test_unassigning_a_claimed_tip_puts_it_back_in_the_queue(app, client, operator,
                                                              supervisor):
    client.post("/api/tips/111-261123-0001/claim", headers=operator)
    response = _assign(client, supervisor, None)
    assert response.status_code == 200
    assert (response.json["status"], response.json["claimed_by"]) == ("new", None)
    (event,) = _events(app, "tip.assigned")
    assert event.detail == {"from": "op@example.vn", "to": None}


def test_work_in_progress_stays_in_progress(app, client, operator, supervisor, staff):
    client.post("/api/tips/111-261123-0001/claim", headers=operator)
    _set_status(app, "111-261123-0001", "in_progress")
    assert _assign(client, supervisor, "op2@example.vn").status_code == 200
    assert _holder(app, "111-261123-0001") == ("in_progress", "op2@example.vn")
    assert _assign(client, supervisor, None).status_code == 200
    assert _holder(app, "111-261123-0001") == ("in_progress", None)


def test_an_operator_may_not_assign(app, client, operator, staff):
    response = _assign(client, operator, "op2@example.vn")
    assert response.status_code == 403 and "supervisors" in response.json["error"]
    assert _holder(app, "111-261123-0001") == ("new", None)
    assert _events(app, "tip.assigned") == []


@pytest.mark.parametrize(
    ("body", "complaint"),
    [({}, "user is required"),
     ({"who": "op2@example.vn"}, "user is required"),
     ({"user": 5}, "email address or null"),
     ({"user": ["op2@example.vn"]}, "email address or null"),
     ({"user": ""}, "not an email address"),
     ({"user": "op2"}, "not an email address"),
     ({"user": "ghost@example.vn"}, "no user ghost@example.vn"),
     ({"user": "gone@example.vn"}, "gone@example.vn is not active"),
     ({"user": "fp@example.vn"}, "role focal_point"),
     ({"user": "admin@example.vn"}, "role admin")],
)
def test_bad_assignments_change_nothing(app, client, operator, supervisor, staff, body,
                                        complaint):
    client.post("/api/tips/111-261123-0001/claim", headers=operator)
    response = client.post("/api/tips/111-261123-0001/assign", json=body, headers=supervisor)
    assert response.status_code == 400 and complaint in response.json["error"]
    assert _holder(app, "111-261123-0001") == ("claimed", "op@example.vn")
    assert _events(app, "tip.assigned") == []


def test_an_assignment_that_is_not_json_changes_nothing(app, client, supervisor, staff):
    response = client.post("/api/tips/111-261123-0001/assign", data="op2@example.vn",
                           headers=supervisor)
    assert response.status_code == 400 and "JSON object" in response.json["error"]
    assert _holder(app, "111-261123-0001") == ("new", None)
    assert _events(app, "tip.assigned") == []


def test_a_closed_tip_cannot_be_assigned(app, client, supervisor, staff):
    _close(app, "111-261123-0002")
    response = _assign(client, supervisor, "op2@example.vn", reference="111-261123-0002")
    assert response.status_code == 409 and "closed" in response.json["error"]
    assert _holder(app, "111-261123-0002") == ("closed", None)
    assert _events(app, "tip.assigned") == []


def test_assigning_an_unknown_tip_is_404(app, client, supervisor, staff):
    response = _assign(client, supervisor, "op2@example.vn", reference="111-261123-9999")
    assert response.status_code == 404 and "no tip" in response.json["error"]
    assert _events(app, "tip.assigned") == []


# -- tips entered by operators ----------------------------------------------------------


def test_an_operator_enters_a_walk_in_tip(app, client, operator):
    text = "Chị Mai báo con gái 15 tuổi bị nhốt ở quán karaoke từ đêm qua"
    response = client.post("/api/tips", headers=operator, json={
        "channel": "walk_in", "text": text, "from": "0912 000 111"})
    assert response.status_code == 201
    tip = response.json
    assert tip["reference"] == "111-261123-0004" and tip["channel"] == "walk_in"
    verdict = triage.assess(text, sender="+84912000111", received_at=NOW)
    assert (tip["urgency"], tip["child_involved"]) == (verdict.urgency, verdict.child_involved)
    assert tip["child_involved"] is True
    with Session(app.extensions["hotline.engine"]) as db:
        stored = db.scalar(select(Tip).where(Tip.reference == tip["reference"]))
        assert stored.created_by_id is not None and stored.caller is not None
    assert len(_events(app, "tip.create")) == 1


@pytest.mark.parametrize(
    ("body", "complaint"),
    [({"channel": "sms", "text": "x"}, "channel must be"),
     ({"channel": "email"}, "text is required"),
     ({"channel": "email", "text": "   "}, "text is required"),
     ({"channel": "email", "text": "x" * 20_001}, "longer than"),
     ({"channel": "email", "text": "x", "from": 912}, "from must"),
     ({"channel": "email", "text": "x", "received_at": "2026-11-23 08:00"}, "offset")],
)
def test_bad_entered_tips_store_nothing(app, client, operator, body, complaint):
    response = client.post("/api/tips", json=body, headers=operator)
    assert response.status_code == 400 and complaint in response.json["error"]
    with Session(app.extensions["hotline.engine"]) as db:
        assert len(db.scalars(select(Tip)).all()) == 3


def test_an_entered_tip_that_is_not_utf8_stores_nothing(app, client, operator):
    raw = b'{"channel": "email", "text": "em bi \xff\xfe giu"}'
    response = client.post("/api/tips", data=raw, content_type="application/json",
                           headers=operator)
    assert response.status_code == 400 and "not valid UTF-8" in response.json["error"]
    with Session(app.extensions["hotline.engine"]) as db:
        assert len(db.scalars(select(Tip)).all()) == 3
    assert _events(app, "tip.create") == []
