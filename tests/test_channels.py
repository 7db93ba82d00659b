"""Channels: SMS and calls through the real twilio library to a local fake Twilio, email
to a local SMTP server, signed webhooks to a local receiver; and every way they fail."""

import email
import email.policy
import hashlib
import hmac
import json
import logging
import ssl
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_twilio import FakeTwilio, LocalServer, ReceivedRequest
from service_helpers import closed_port

from hotline.gateway import sign as gateway_sign
from routing.channels import ApiBaseHttpClient, Channels, Outgoing, SendError, Sent

OFFICIAL = "+84912345678"
SENDER = "+15005550006"
TEXT = "[111] Tin báo 111-261123-00042: mức khẩn cấp, trẻ em: có. Xác nhận: https://x.vn/a/1"
STATUS_URL = "https://111.example.vn/twilio/status"
CALL_URL = "https://111.example.vn/twilio/alert-call/abc123"
SECRET = "agency-webhook-secret-0123456789"
TIMEOUT = 0.3  # seconds; a hanging fake must fail the send this fast


@pytest.fixture
def fake_twilio():
    with FakeTwilio() as twilio:
        yield twilio


@pytest.fixture
def make_channels():
    """Channels from settings; closed afterwards."""
    made = []

    def make(**settings):
        channels = Channels({"SEND_TIMEOUT_SECONDS": TIMEOUT, **settings})
        made.append(channels)
        return channels

    yield make
    for channels in made:
        channels.close()


@pytest.fixture
def channels(fake_twilio, make_channels):
    return make_channels(**fake_twilio.settings, TWILIO_NUMBER=SENDER)


def sms(**overrides) -> Outgoing:
    return Outgoing(**{"channel": "sms", "to": OFFICIAL, "text": TEXT,
                       "status_callback": STATUS_URL, **overrides})


def call(**overrides) -> Outgoing:
    return Outgoing(**{"channel": "call", "to": OFFICIAL, "text": TEXT,
                       "status_callback": STATUS_URL, "call_url": CALL_URL, **overrides})


def service_logs(caplog) -> str:
    """What the service and the twilio library logged. urllib3's debug lines (which name
    URL paths) and the test's own servers are left out: production logs urllib3 at INFO."""
    return "\n".join(record.getMessage() for record in caplog.records
                     if record.name.startswith(("routing", "twilio")))


# -- SMS and calls through the twilio library ---------------------------------------------

def test_sms_goes_through_the_twilio_library_with_twilios_form_fields(channels, fake_twilio):
    sent = channels.send(sms())

    [request] = fake_twilio.requests
    assert request.authorized
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.form == {"To": OFFICIAL, "From": SENDER, "Body": TEXT,
                            "StatusCallback": STATUS_URL}
    assert sent == Sent(provider_id=request.sid, status="queued")
    assert sent.provider_id.startswith("SM") and len(sent.provider_id) == 34


def test_sms_with_a_messaging_service_sends_its_sid_instead_of_a_number(
        fake_twilio, make_channels):
    channels = make_channels(**fake_twilio.settings, TWILIO_NUMBER=SENDER,
                             TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32)
    channels.send(sms())

    form = fake_twilio.messages[0].form
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form


def test_an_alert_call_asks_twilio_for_the_twiml_and_every_status(channels, fake_twilio):
    sent = channels.send(call())

    [request] = fake_twilio.calls
    assert request.path.endswith("/Calls.json")
    assert request.form["To"] == OFFICIAL
    assert request.form["From"] == SENDER
    assert request.form["Url"] == CALL_URL
    assert request.form["StatusCallback"] == STATUS_URL
    assert request.form["StatusCallbackMethod"] == "POST"
    assert request.fields["StatusCallbackEvent"] == ["initiated", "ringing", "answered",
                                                     "completed"]
    assert request.form["Timeout"] == "30"
    assert "MachineDetection" not in request.form
    assert sent.provider_id.startswith("CA") and sent.status == "queued"


def test_a_wrong_auth_token_is_refused_and_not_retried(fake_twilio, make_channels):
    channels = make_channels(**{**fake_twilio.settings, "TWILIO_AUTH_TOKEN": "wrong"},
                             TWILIO_NUMBER=SENDER)
    with pytest.raises(SendError) as raised:
        channels.send(sms())

    assert not raised.value.retryable
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert not fake_twilio.requests[0].authorized


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True),
                                                   (400, False), (404, False)])
def test_twilio_errors_say_whether_a_retry_may_help(channels, fake_twilio, status, retryable):
    fake_twilio.answer_next(status)
    with pytest.raises(SendError) as raised:
        channels.send(sms())

    assert raised.value.retryable is retryable
    assert raised.value.status == status
    assert not raised.value.maybe_sent


def test_an_invalid_number_keeps_twilios_code_and_never_the_number(channels, fake_twilio,
                                                                    caplog):
    caplog.set_level(logging.DEBUG)
    fake_twilio.answer_next(400, code=21211)
    with pytest.raises(SendError) as raised:
        channels.send(sms())

    error = raised.value
    assert (error.retryable, error.status, error.code) == (False, 400, 21211)
    assert str(error) == "sms: Twilio answered HTTP 400, error 21211"
    # Twilio's own message quotes the number: it must not ride along as the cause.
    assert error.__cause__ is None and error.__context__ is None
    assert OFFICIAL not in caplog.text and OFFICIAL[-9:] not in caplog.text


def test_the_fake_answers_again_once_its_planned_failures_are_used(channels, fake_twilio):
    fake_twilio.answer_next(500, count=2)
    for _ in range(2):
        with pytest.raises(SendError):
            channels.send(sms())
    assert channels.send(sms()).status == "queued"
    assert [r.answered for r in fake_twilio.requests] == [500, 500, 201]


@pytest.mark.parametrize("outgoing", [sms, call])
def test_twilio_not_answering_fails_within_the_timeout_and_may_be_retried(
        channels, fake_twilio, outgoing):
    fake_twilio.hang_next()
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        channels.send(outgoing())

    assert time.monotonic() - started < TIMEOUT + 1.0
    assert raised.value.retryable
    assert raised.value.maybe_sent  # Twilio may have taken it: a retry may send twice
    assert fake_twilio.requests[0].answered is None


def test_twilio_unreachable_is_retryable(make_channels):
    channels = make_channels(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="token",
                             TWILIO_NUMBER=SENDER,
                             TWILIO_API_BASE=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(SendError) as raised:
        channels.send(sms())

    assert raised.value.retryable
    assert not raised.value.maybe_sent
    assert "cannot reach Twilio" in str(raised.value)


def test_without_twilio_settings_sms_fails_for_good_without_a_request(make_channels):
    channels = make_channels(SMTP_HOST="localhost", SMTP_FROM="alerts@111.example.vn")
    with pytest.raises(SendError, match="TWILIO_ACCOUNT_SID") as raised:
        channels.send(sms())
    assert not raised.value.retryable


@pytest.mark.parametrize("number", ["0912345678", "+84 912 345 678", "tel:+84912345678"])
def test_a_number_not_in_e164_is_refused_before_twilio(channels, fake_twilio, number):
    with pytest.raises(SendError, match="E.164") as raised:
        channels.send(sms(to=number))
    assert not raised.value.retryable
    assert fake_twilio.requests == []


@pytest.mark.parametrize(("url", "rewritten"), [
    ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
     "http://127.0.0.1:9/base/2010-04-01/Accounts/AC1/Messages.json"),
    ("https://api.sydney.au1.twilio.com/2010-04-01/Accounts/AC1/Calls.json",
     "http://127.0.0.1:9/base/2010-04-01/Accounts/AC1/Calls.json"),
    ("https://messaging.twilio.com/v1/Services", "https://messaging.twilio.com/v1/Services"),
    ("https://api.twilio.com.evil.example/x", "https://api.twilio.com.evil.example/x"),
])
def test_the_http_client_sends_twilio_api_requests_to_the_configured_base(url, rewritten):
    client = ApiBaseHttpClient("http://127.0.0.1:9/base/", timeout=1)
    try:
        assert client.rewrite(url) == rewritten
    finally:
        client.close()


# -- email --------------------------------------------------------------------------------

class Mailbox:
    """An aiosmtpd handler that keeps what it receives and can refuse recipients."""

    def __init__(self):
        self.messages = []
        self.rcpt_reply = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def mailbox():
    with smtp_server() as handler:
        yield handler


@contextmanager
def smtp_server(**smtp_options):
    """A local aiosmtpd server on a free port; ``smtp_options`` go to aiosmtpd's SMTP."""
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=closed_port(), **smtp_options)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()
        controller.loop.close()


@pytest.fixture
def mail_channels(mailbox, make_channels):
    return make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=str(mailbox.port),
                         SMTP_FROM="Tổng đài 111 <alerts@111.example.vn>")


def email_alert(**overrides) -> Outgoing:
    return Outgoing(**{"channel": "email", "to": "focal.point@bocongan.gov.vn",
                       "subject": "[111] Tin báo 111-261123-00042: mức khẩn cấp, Công an",
                       "text": "Kính gửi Cục Cảnh sát hình sự,\n\nMã tin: 111-261123-00042\n",
                       **overrides})


def test_email_is_a_proper_utf8_message_whose_message_id_is_the_provider_id(
        mail_channels, mailbox):
    outgoing = email_alert()
    sent = mail_channels.send(outgoing)

    [(mail_from, rcpt_tos, content)] = mailbox.messages
    assert (mail_from, rcpt_tos) == ("alerts@111.example.vn", [outgoing.to])
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == outgoing.subject
    assert message["From"] == "Tổng đài 111 <alerts@111.example.vn>"
    assert message["To"] == outgoing.to
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == outgoing.text  # CRLF on the wire
    assert sent == Sent(provider_id=message["Message-ID"], status="sent")
    assert sent.provider_id.endswith("@111.example.vn>") and len(sent.provider_id) <= 64


def test_email_logs_in_when_a_user_is_set(make_channels):
    def accept(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"alerts"
                          and auth_data.password == b"s3cret", handled=False)

    with smtp_server(authenticator=accept, auth_require_tls=False) as mailbox:
        channels = make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port,
                                 SMTP_FROM="alerts@111.example.vn", SMTP_USER="alerts",
                                 SMTP_PASSWORD="s3cret")
        channels.send(email_alert())
        assert len(mailbox.messages) == 1
        bad = make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port,
                            SMTP_FROM="alerts@111.example.vn", SMTP_USER="alerts",
                            SMTP_PASSWORD="wrong")
        with pytest.raises(SendError) as raised:
            bad.send(email_alert())
        assert (raised.value.retryable, raised.value.status) == (False, 535)


def test_starttls_that_the_server_does_not_offer_fails_for_good(mailbox, make_channels):
    channels = make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port,
                             SMTP_FROM="alerts@111.example.vn", SMTP_STARTTLS="true")
    with pytest.raises(SendError, match="SMTP refused the session") as raised:
        channels.send(email_alert())
    assert not raised.value.retryable
    assert mailbox.messages == []


def test_starttls_to_an_untrusted_certificate_fails_for_good(tmp_path, make_channels):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    with smtp_server(tls_context=context, require_starttls=True) as mailbox:
        channels = make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.port,
                                 SMTP_FROM="alerts@111.example.vn", SMTP_STARTTLS=True)
        with pytest.raises(SendError, match="certificate is not trusted") as raised:
            channels.send(email_alert())
        assert not raised.value.retryable
        assert mailbox.messages == []


def _self_signed(directory) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_smtp_down_is_retryable(make_channels):
    channels = make_channels(SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port(),
                             SMTP_FROM="alerts@111.example.vn")
    with pytest.raises(SendError) as raised:
        channels.send(email_alert())
    assert raised.value.retryable
    assert "cannot reach the SMTP server" in str(raised.value)


@pytest.mark.parametrize(("reply", "retryable"), [
    ("550 5.1.1 No such mailbox", False), ("451 4.3.0 Try again later", True)])
def test_a_refused_recipient_is_final_on_5xx_and_retryable_on_4xx(
        mail_channels, mailbox, reply, retryable, caplog):
    caplog.set_level(logging.DEBUG)
    mailbox.rcpt_reply = reply
    with pytest.raises(SendError) as raised:
        mail_channels.send(email_alert())
    assert raised.value.retryable is retryable
    assert raised.value.status == int(reply[:3])
    assert raised.value.__context__ is None  # smtplib's error quotes the address
    assert "focal.point" not in service_logs(caplog)


def test_an_address_that_is_not_one_is_refused_before_smtp(mail_channels, mailbox):
    for address in ("not-an-address", "a@b.vn, c@d.vn"):
        with pytest.raises(SendError, match="not an email address"):
            mail_channels.send(email_alert(to=address))
    assert mailbox.messages == []


# -- webhooks -----------------------------------------------------------------------------

class Receiver(LocalServer):
    """An agency's webhook endpoint: records requests, answers ``status`` (None: hangs)."""

    def __init__(self):
        super().__init__()
        self.received: list[ReceivedRequest] = []
        self.status: int | None = 204

    def handle(self, request):
        self.received.append(request)
        if self.status is None:
            self._hang()
            return None
        headers = {"Location": "https://elsewhere.example/"} if self.status == 302 else {}
        return self.status, headers, b""


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def webhook(url: str, **overrides) -> Outgoing:
    payload = {"event": "dispatch.created", "reference": "111-261123-00042",
               "urgency": "critical", "child": True, "function": "police",
               "office": "Cục Cảnh sát hình sự", "link": "https://111.example.vn/a/abc"}
    return Outgoing(**{"channel": "webhook", "to": url, "text": "", "payload": payload,
                       "secret": SECRET, **overrides})


def test_a_webhook_is_signed_with_the_gateways_scheme(receiver, make_channels):
    channels = Channels({"SEND_TIMEOUT_SECONDS": TIMEOUT}, clock=lambda: 1_700_000_000.5)
    try:
        outgoing = webhook(receiver.base_url + "/hooks/111?key=abc")
        sent = channels.send(outgoing)
    finally:
        channels.close()

    [request] = receiver.received
    assert (request.method, request.path) == ("POST", "/hooks/111?key=abc")
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["x-hotline-event"] == "dispatch.created"
    assert json.loads(request.body) == outgoing.payload
    signature = request.headers["x-hotline-signature"]
    assert signature == gateway_sign(SECRET, 1_700_000_000, request.body)
    timestamp, digest = (part.split("=", 1)[1] for part in signature.split(","))
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(digest, expected)
    assert sent == Sent(provider_id=None, status="sent")


@pytest.mark.parametrize(("status", "retryable"), [
    (500, True), (503, True), (429, True), (400, False), (401, False), (404, False),
    (302, False)])
def test_a_webhook_answer_says_whether_a_retry_may_help(receiver, make_channels, status,
                                                        retryable):
    receiver.status = status
    with pytest.raises(SendError) as raised:
        make_channels().send(webhook(receiver.base_url + "/hook"))
    assert raised.value.retryable is retryable
    assert raised.value.status == status
    assert len(receiver.received) == 1  # no redirect followed


def test_a_webhook_receiver_down_is_retryable(make_channels):
    with pytest.raises(SendError) as raised:
        make_channels().send(webhook(f"http://127.0.0.1:{closed_port()}/hook"))
    assert raised.value.retryable
    assert not raised.value.maybe_sent


def test_a_webhook_receiver_not_answering_fails_within_the_timeout(receiver, make_channels):
    receiver.status = None
    started = time.monotonic()
    with pytest.raises(SendError) as raised:
        make_channels().send(webhook(receiver.base_url + "/hook"))
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert raised.value.retryable and raised.value.maybe_sent


def test_a_webhook_url_that_is_not_http_is_refused(make_channels):
    with pytest.raises(SendError, match="not an http") as raised:
        make_channels().send(webhook("ftp://agency.example/hook"))
    assert not raised.value.retryable


# -- what every channel shares ------------------------------------------------------------

def test_logs_never_hold_a_number_an_address_a_text_or_a_secret(
        channels, fake_twilio, mailbox, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    mail = Channels({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": mailbox.port,
                     "SMTP_FROM": "alerts@111.example.vn"})
    try:
        channels.send(sms())
        channels.send(call())
        fake_twilio.answer_next(400)
        with pytest.raises(SendError):
            channels.send(sms())
        mail.send(email_alert())
        channels.send(webhook(receiver.base_url + "/hook?token=hook-token"))
    finally:
        mail.close()

    logged = service_logs(caplog)
    assert "queued" in logged  # the sends were logged...
    for secret in (OFFICIAL[1:], "focal.point", TEXT[:20], "Kính gửi", SECRET,
                   fake_twilio.auth_token, "hook-token", "Tin báo"):
        assert secret not in logged  # ...without who, what or keys
    assert "***678" in logged


def test_an_outgoing_hides_who_and_what_from_repr():
    text = repr(call())
    assert OFFICIAL not in text and "Tin báo" not in text and CALL_URL not in text
    assert repr(webhook("https://agency.example/hook")).count(SECRET) == 0


@pytest.mark.parametrize(("fields", "message"), [
    ({"channel": "fax", "to": "x", "text": "t"}, "channel must be one of"),
    ({"channel": "call", "to": OFFICIAL, "text": "t"}, "call_url"),
    ({"channel": "email", "to": "a@b.vn", "text": "t"}, "subject"),
    ({"channel": "sms", "to": OFFICIAL, "text": ""}, "text"),
    ({"channel": "email", "to": "a@b.vn", "text": "t", "subject": "x\nBcc: c@d.vn"},
     "one line"),
    ({"channel": "webhook", "to": "https://a.vn", "text": "", "secret": SECRET},
     "payload"),
    ({"channel": "webhook", "to": "https://a.vn", "text": "", "secret": SECRET,
      "payload": {"event": "Bad Event"}}, "event"),
    ({"channel": "webhook", "to": "https://a.vn", "text": "", "secret": "short",
      "payload": {"event": "dispatch.created"}}, "secret"),
])
def test_an_incomplete_outgoing_is_a_programming_error(fields, message):
    with pytest.raises(ValueError, match=message):
        Outgoing(**fields)


@pytest.mark.parametrize(("settings", "message"), [
    ({"SEND_TIMEOUT_SECONDS": "soon"}, "SEND_TIMEOUT_SECONDS"),
    ({"SEND_TIMEOUT_SECONDS": 0}, "SEND_TIMEOUT_SECONDS"),
    ({"SMTP_PORT": "smtp"}, "SMTP_PORT"),
    ({"SMTP_PORT": 70000}, "SMTP_PORT"),
    ({"SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
    ({"TWILIO_API_BASE": "api.twilio.com"}, "TWILIO_API_BASE"),
])
def test_bad_settings_fail_when_channels_are_built(settings, message):
    with pytest.raises(ValueError, match=message):
        Channels(settings)
