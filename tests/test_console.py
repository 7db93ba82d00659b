"""The console's login and first page: CSRF on every form, generic refusals, lockout,
rate limits, the administrators' second factor, idle sessions, a strict CSP, Vietnamese
first, and a queue scoped to what the user may see."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from routing_helpers import T0, build_directory, facts, make_tip
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import accounts, intake
from hotline.console.words import SHOWN_VALUES
from hotline.models import AuditEvent, Tip, User
from hotline.phones import parse_number
from routing.route import route

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(make_app, clock):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute")
    app.extensions["hotline.clock"] = clock
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "op@example.vn", PASSWORD, "operator")
        accounts.create_user(db, "admin@example.vn", PASSWORD, "admin")
    return app


def _token(page: bytes) -> str:
    """The CSRF token of the page's first form."""
    tag = re.search(rb'<input[^>]*name="csrf_token"[^>]*>', page)[0]
    return re.search(rb'value="([^"]+)"', tag)[1].decode()


def _login(client, email="op@example.vn", password=PASSWORD, next_path=""):
    token = _token(client.get("/login").data)
    return client.post(f"/login{next_path}", data={"email": email, "password": password,
                                                   "csrf_token": token})


def _actions(app) -> list[str]:
    with Session(app.extensions["hotline.engine"]) as db:
        return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_login_page_is_vietnamese_with_a_strict_policy(app):
    response = app.test_client().get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Đăng nhập" in page and 'lang="vi"' in page
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_logging_in_leads_to_the_queue_and_is_audited(app):
    client = app.test_client()
    response = _login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Tin báo đang mở" in page and "op@example.vn" in page
    cookie = next(c for c in client._cookies.values() if c.key == "session")
    assert cookie.http_only
    assert _actions(app) == ["login", "tip.list"]


def test_a_form_without_its_csrf_token_is_refused(app):
    response = app.test_client().post("/login", data={"email": "op@example.vn",
                                                      "password": PASSWORD})
    assert response.status_code == 400 and _actions(app) == []


@pytest.mark.parametrize("email", ["op@example.vn", "nobody@example.vn", "not an email"])
def test_refusals_say_the_same_thing(app, email):
    response = _login(app.test_client(), email=email, password="wrong password")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng" in response.get_data(as_text=True)
    assert _actions(app) == ["login.failed"]


def test_failures_in_a_row_lock_the_account_for_a_while(app, clock):
    client = app.test_client()
    for _ in range(5):
        assert _login(client, password="wrong password").status_code == 401
    assert _login(client).status_code == 401  # locked: even the right password
    clock.now = T0 + timedelta(minutes=16)
    assert _login(client).status_code == 302
    assert "login.locked" in _actions(app)


def test_login_attempts_are_rate_limited(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    statuses = [_login(client, email="x@example.vn", password="y").status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_an_inactive_user_cannot_log_in(app):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        db.scalar(select(User).where(User.email == "op@example.vn")).active = False
    assert _login(app.test_client()).status_code == 401


def test_an_administrator_must_set_up_and_use_a_second_factor(app, clock):
    client = app.test_client()
    response = _login(client, email="admin@example.vn")
    assert response.headers["Location"] == "/login/code"
    assert client.get("/").status_code == 302  # not logged in yet
    page = client.get("/login/code").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page)[1]
    token = _token(page.encode())
    wrong = client.post("/login/code", data={"code": "000000", "csrf_token": token})
    assert "Mã không đúng" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(clock.now)
    assert client.post("/login/code", data={"code": code, "csrf_token": token}).status_code \
        == 302
    assert client.get("/").status_code == 200
    with Session(app.extensions["hotline.engine"]) as db:
        stored = db.scalar(select(User).where(User.email == "admin@example.vn"))
        assert secret not in stored.totp_secret_encrypted
        assert app.extensions["hotline.vault"].decrypt(stored.totp_secret_encrypted) == secret
    # The next login asks for a code, and shows no key.
    other = app.test_client()
    _login(other, email="admin@example.vn")
    assert "<code>" not in other.get("/login/code").get_data(as_text=True)


def test_an_idle_session_ends(app, clock):
    client = app.test_client()
    _login(client)
    clock.now = T0 + timedelta(minutes=29)
    assert client.get("/").status_code == 200
    clock.now = T0 + timedelta(minutes=60)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "logout.idle" in _actions(app)
    assert client.get("/").status_code == 302


def test_logging_out(app):
    client = app.test_client()
    _login(client)
    token = _token(client.get("/").data)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302 and _actions(app)[-1] == "logout"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/",
                                    "javascript:alert(1)"])
def test_after_login_only_local_paths(app, target):
    response = _login(app.test_client(), next_path=f"?next={target}")
    assert response.headers["Location"] == "/"


def test_english_is_a_choice(app):
    client = app.test_client()
    _login(client)
    token = _token(client.get("/").data)
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    page = client.get("/").get_data(as_text=True)
    assert "Open tips" in page and 'lang="en"' in page


def test_the_queue_is_most_urgent_first_and_shows_text_as_text(app):
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    with Session(engine) as db, db.begin():
        for sid, body in (("SM1", "cho hoi gio lam viec"),
                          ("SM2", "<script>alert(1)</script> em 14 tuoi bi nhot, cuu em")):
            intake.receive_sms(db, vault, provider="twilio", provider_id=sid,
                               number=parse_number(f"+8491111111{sid[-1]}"), body=body,
                               received_at=T0, thread_window=timedelta(hours=24))
    client = app.test_client()
    _login(client)
    page = client.get("/").get_data(as_text=True)
    assert page.index("111-261123-0002") < page.index("111-261123-0001")  # critical first
    assert "khẩn cấp" in page and "<script>" not in page


def test_a_focal_point_sees_only_their_offices_tips(app):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
        ours, theirs = make_tip(db), make_tip(db)
        for tip in (ours, theirs):
            tip.urgency = "high"
        route(db, facts(ours), T0)
        route(db, facts(theirs, functions=("consular",), countries=("KH",), provinces=()),
              T0)
        accounts.create_user(db, "fp@example.vn", PASSWORD, "focal_point",
                             office_code="police-lang-son")
    client = app.test_client()
    _login(client, email="fp@example.vn")
    page = client.get("/").get_data(as_text=True)
    assert "111-261123-0001" in page and "111-261123-0002" not in page


def test_every_shown_value_and_message_is_translated():
    for language in ("vi", "en"):
        with open(f"hotline/translations/{language}/LC_MESSAGES/messages.po", "rb") as po, \
                open(f"hotline/translations/{language}/LC_MESSAGES/messages.mo", "rb") as mo:
            source, compiled = read_po(po), read_mo(mo)
        assert _entries(source) == _entries(compiled), f"{language}: recompile the catalog"
        if language == "vi":
            assert all(source[value] is not None and source[value].string
                       for value in SHOWN_VALUES)
            assert all(m.string for m in source if m.id)


def _entries(catalog) -> dict:
    def plain(value):
        return value if isinstance(value, str) else tuple(value)

    return {plain(m.id): plain(m.string) for m in catalog if m.id}


# -- the tip page ----------------------------------------------------------------------------


@pytest.fixture
def sms_tip(app):
    """A critical child tip from an SMS that carries markup."""
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    with Session(engine) as db, db.begin():
        intake.receive_sms(db, vault, provider="twilio", provider_id="SM1",
                           number=parse_number("+84911111111"),
                           body="<b>cuu</b> em 14 tuoi bi nhot o quan karaoke",
                           received_at=T0, thread_window=timedelta(hours=24))
    return "111-261123-0001"


def _logged_in(app, email="op@example.vn"):
    client = app.test_client()
    _login(client, email=email)
    return client


def test_the_tip_page_marks_triages_reasons_and_shows_markup_as_text(app, sms_tip):
    client = _logged_in(app)
    response = client.get(f"/tips/{sms_tip}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and sms_tip in page
    assert "&lt;b&gt;cuu&lt;/b&gt;" in page and "<b>cuu</b>" not in page
    assert '<mark title="confinement">bi nhot</mark>' in page
    assert "khẩn cấp" in page and "tip.read" in _actions(app)


def test_claiming_and_closing_from_the_tip_page(app, sms_tip):
    client = _logged_in(app)
    token = _token(client.get(f"/tips/{sms_tip}").data)
    assert client.post(f"/tips/{sms_tip}/claim", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/tips/{sms_tip}").get_data(as_text=True)
    assert "op@example.vn" in page
    refused = client.post(f"/tips/{sms_tip}/status", data={"csrf_token": token,
                                                           "status": "closed", "outcome": ""})
    assert refused.status_code == 302
    assert "outcome must be one of" in client.get(f"/tips/{sms_tip}").get_data(as_text=True)
    client.post(f"/tips/{sms_tip}/status", data={"csrf_token": token, "status": "closed",
                                                 "outcome": "referred"})
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert (tip.status, tip.outcome) == ("closed", "referred")
    assert "tip.claim" in _actions(app) and "tip.status" in _actions(app)


def test_a_tip_another_operator_holds_cannot_be_claimed(app, sms_tip):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "op2@example.vn", PASSWORD, "operator")
    first, second = _logged_in(app), _logged_in(app, "op2@example.vn")
    first.post(f"/tips/{sms_tip}/claim", data={"csrf_token": _token(first.get("/").data)})
    second.post(f"/tips/{sms_tip}/claim", data={"csrf_token": _token(second.get("/").data)})
    page = second.get(f"/tips/{sms_tip}").get_data(as_text=True)
    assert "is claimed by op@example.vn" in page
    with Session(app.extensions["hotline.engine"]) as db:
        holder = db.get(User, db.scalar(select(Tip)).claimed_by_id)
        assert holder.email == "op@example.vn"


def test_an_override_needs_a_reason_and_then_stands(app, sms_tip):
    client = _logged_in(app)
    token = _token(client.get(f"/tips/{sms_tip}").data)
    form = {"csrf_token": token, "urgency": "medium", "functions": ["police"]}
    client.post(f"/tips/{sms_tip}/override", data=form)  # no reason
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip)).urgency == "critical"
    client.post(f"/tips/{sms_tip}/override", data={**form, "reason": "x" * 2001})
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip)).urgency == "critical"
    client.post(f"/tips/{sms_tip}/override", data={**form, "reason": "người gọi đã an toàn"})
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert (tip.urgency, tip.overridden, tip.child_involved) == ("medium", True, False)
        assert tip.overrides[0].reason == "người gọi đã an toàn"


def test_forms_without_a_csrf_token_change_nothing(app, sms_tip):
    client = _logged_in(app)
    assert client.post(f"/tips/{sms_tip}/claim").status_code == 400
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip)).claimed_by_id is None


def test_a_focal_point_opens_only_their_offices_tips(app):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
        ours, theirs = make_tip(db), make_tip(db)
        ours.urgency = theirs.urgency = "critical"
        ours.child_involved = True
        route(db, facts(ours, urgency="critical"), T0)
        accounts.create_user(db, "fp@example.vn", PASSWORD, "focal_point",
                             office_code="police-lang-son")
    client = _logged_in(app, "fp@example.vn")
    assert client.get("/tips/111-261123-0001").status_code == 200
    assert client.get("/tips/111-261123-0002").status_code == 404
    assert client.post("/tips/111-261123-0001/claim",
                       data={"csrf_token": _token(client.get("/").data)}).status_code == 403
    assert "tip.read_refused" in _actions(app)


def test_every_message_in_the_code_and_templates_is_in_the_catalogs():
    from babel.messages.extract import extract_from_dir

    extracted = {message[2] if isinstance(message[2], str) else message[2][0]
                 for message in extract_from_dir(
                     "hotline", method_map=[("**.py", "python"),
                                            ("templates/**.html", "jinja2")],
                     keywords={"_": None, "ngettext": (1, 2), "N_": None})}
    for language in ("vi", "en"):
        with open(f"hotline/translations/{language}/LC_MESSAGES/messages.po", "rb") as po:
            known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po) if m.id}
        assert extracted <= known, f"{language}: run pybabel extract/update and translate " \
                                   f"{sorted(extracted - known)}"


# -- the queue without a reload --------------------------------------------------------------


def test_the_queue_polls_and_a_poll_that_finds_nothing_new_is_not_audited(app, sms_tip,
                                                                          clock):
    client = _logged_in(app)
    page = client.get("/").get_data(as_text=True)
    assert 'hx-get="/queue/rows"' in page and 'hx-trigger="every 5s"' in page
    assert "htmx-2.0.11.min.js" in page and "console.js" in page
    first = client.get("/queue/rows")
    assert first.status_code == 200 and sms_tip in first.get_data(as_text=True)
    listings = _actions(app).count("tip.list")
    again = client.get("/queue/rows", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and _actions(app).count("tip.list") == listings
    # A new tip changes the rows: the next poll shows it, and is audited.
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    with Session(engine) as db, db.begin():
        intake.receive_sms(db, vault, provider="twilio", provider_id="SM2",
                           number=parse_number("+84922222222"), body="cho hoi thong tin",
                           received_at=T0, thread_window=timedelta(hours=24))
    changed = client.get("/queue/rows", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "111-261123-0002" in changed.get_data(as_text=True)
    assert _actions(app).count("tip.list") == listings + 1
    # A minute later the waiting times change.
    clock.now = T0 + timedelta(minutes=1)
    later = client.get("/queue/rows", headers={"If-None-Match": changed.headers["ETag"]})
    assert later.status_code == 200


def test_polling_needs_a_login(app):
    assert app.test_client().get("/queue/rows").status_code == 302


def test_the_console_serves_its_own_scripts(app):
    client = app.test_client()
    with client.get("/static/htmx-2.0.11.min.js") as htmx:
        assert htmx.status_code == 200
    with client.get("/static/console.js") as script:
        assert "htmx:afterSwap" in script.get_data(as_text=True)


# -- new tips, assignment, my call ----------------------------------------------------------


def test_an_operator_enters_a_walk_in_tip_that_triage_judges(app):
    client = _logged_in(app)
    token = _token(client.get("/tips/new").data)
    response = client.post("/tips/new", data={
        "csrf_token": token, "channel": "walk_in", "sender": "0912345678",
        "text": "Chị Lan báo cháu 13 tuổi bị nhốt ở nhà nghỉ, <i>cứu</i>"})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/tips/{reference}").get_data(as_text=True)
    assert "khẩn cấp" in page and "&lt;i&gt;cứu&lt;/i&gt;" in page
    assert "tip.create" in _actions(app)


@pytest.mark.parametrize("form", [{"channel": "walk_in", "text": ""},
                                  {"channel": "sms", "text": "tin"},
                                  {"channel": "walk_in", "text": "x" * 20_001}])
def test_bad_new_tips_store_nothing(app, form):
    client = _logged_in(app)
    token = _token(client.get("/tips/new").data)
    assert client.post("/tips/new", data={"csrf_token": token, **form}).status_code == 400
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip)) is None


def test_a_supervisor_reassigns_and_an_operator_may_not(app, sms_tip):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "sup@example.vn", PASSWORD, "supervisor")
    operator = _logged_in(app)
    operator.post(f"/tips/{sms_tip}/claim", data={"csrf_token": _token(operator.get("/").data)})
    assert operator.post(f"/tips/{sms_tip}/assign", data={
        "csrf_token": _token(operator.get("/").data), "user": ""}).status_code == 403
    supervisor = _logged_in(app, "sup@example.vn")
    token = _token(supervisor.get("/").data)
    page = supervisor.get(f"/tips/{sms_tip}").get_data(as_text=True)
    assert 'name="user"' in page and "op@example.vn" in page
    supervisor.post(f"/tips/{sms_tip}/assign", data={"csrf_token": token,
                                                      "user": "sup@example.vn"})
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.get(User, db.scalar(select(Tip)).claimed_by_id).email == "sup@example.vn"
    supervisor.post(f"/tips/{sms_tip}/assign", data={"csrf_token": token,
                                                      "user": "admin@example.vn"})
    assert "cannot take tips" in supervisor.get(f"/tips/{sms_tip}").get_data(as_text=True)
    supervisor.post(f"/tips/{sms_tip}/assign", data={"csrf_token": token, "user": ""})
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert (tip.claimed_by_id, tip.status) == (None, "new")
    assert _actions(app).count("tip.assigned") == 2


def test_my_call_opens_the_tip_of_the_call_just_answered(app, clock):
    from hotline import calls

    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    with Session(engine) as db:
        operator_id = db.scalar(select(User.id).where(User.email == "op@example.vn"))
    client = _logged_in(app)
    assert client.get("/my-call").headers["Location"] == "/"
    calls.store(engine, vault, calls.event("answered", T0, call_sid="CA1",
                                           operator_id=operator_id, operator_call_sid="CA9"))
    assert client.get("/my-call").headers["Location"] == "/tips/111-261123-0001"


# -- the office answers ---------------------------------------------------------------------


@pytest.fixture
def office_tip(app):
    """A critical child tip dispatched to the Lạng Sơn police; its focal point's client."""
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        build_directory(db)
        tip = make_tip(db)
        tip.urgency, tip.child_involved = "critical", True
        route(db, facts(tip, urgency="critical", child=True), T0)
        accounts.create_user(db, "fp@example.vn", PASSWORD, "focal_point",
                             office_code="police-lang-son")
    return _logged_in(app, "fp@example.vn")


def _office_dispatch(app):
    from routing.models import Dispatch

    with Session(app.extensions["hotline.engine"]) as db:
        return db.scalar(select(Dispatch).where(Dispatch.office.has(code="police-lang-son")))


def test_a_focal_point_acknowledges_in_the_console(app, office_tip):
    page = office_tip.get("/tips/111-261123-0001").data
    dispatch = _office_dispatch(app)
    response = office_tip.post(f"/dispatches/{dispatch.id}/acknowledge",
                               data={"csrf_token": _token(page)})
    assert response.status_code == 302
    acknowledged = _office_dispatch(app)
    assert (acknowledged.state, acknowledged.acknowledged_by, acknowledged.acknowledged_via) \
        == ("acknowledged", "fp@example.vn", "console")
    assert "dispatch.acknowledged" in _actions(app)


def test_not_our_office_needs_a_reason(app, office_tip):
    token = _token(office_tip.get("/tips/111-261123-0001").data)
    dispatch = _office_dispatch(app)
    office_tip.post(f"/dispatches/{dispatch.id}/decline", data={"csrf_token": token,
                                                                "text": " "})
    assert _office_dispatch(app).state == "pending"
    office_tip.post(f"/dispatches/{dispatch.id}/decline",
                    data={"csrf_token": token, "text": "Địa bàn Cao Bằng"})
    declined = _office_dispatch(app)
    assert (declined.state, declined.declined) == ("cancelled", True)


def test_another_offices_dispatch_and_operators_are_refused(app, office_tip):
    from routing.models import Dispatch

    with Session(app.extensions["hotline.engine"]) as db:
        national = db.scalar(select(Dispatch.id).where(Dispatch.office.has(code="c02")))
    token = _token(office_tip.get("/").data)
    assert office_tip.post(f"/dispatches/{national}/acknowledge",
                           data={"csrf_token": token}).status_code == 404
    operator = _logged_in(app)
    assert operator.post(f"/dispatches/{national}/acknowledge",
                         data={"csrf_token": _token(operator.get("/").data)}).status_code == 403
    assert _office_dispatch(app).state == "pending"


# -- the audit log ----------------------------------------------------------------------------


def test_supervisors_read_and_export_the_audit_log_and_operators_may_not(app, sms_tip):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "=sup@example.vn", PASSWORD, "supervisor")
    operator = _logged_in(app)
    operator.get(f"/tips/{sms_tip}")
    assert operator.get("/audit").status_code == 403
    supervisor = _logged_in(app, "=sup@example.vn")
    page = supervisor.get(f"/audit?reference={sms_tip}").get_data(as_text=True)
    assert "tip.read" in page and "op@example.vn" in page and "login.failed" not in page
    export = supervisor.get("/audit?format=csv&user=op@example.vn")
    assert export.mimetype == "text/csv"
    lines = export.get_data(as_text=True).splitlines()
    assert lines[0] == "id,at,user,action,tip,from,detail"
    assert any(",tip.read,111-261123-0001," in line for line in lines)
    mine = supervisor.get("/audit?format=csv&user==sup@example.vn").get_data(as_text=True)
    assert "'=sup@example.vn" in mine  # never a formula in a spreadsheet
    assert {"audit.read", "audit.export"} <= set(_actions(app))
