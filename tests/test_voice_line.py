"""After the menu: the wait in a queue, the voicemail when nobody answers, the operators'
line that takes callers (emergencies first), and who answered. Every branch's TwiML is
parsed as XML; every callback is signed as Twilio signs it."""

from __future__ import annotations

import pytest
from service_helpers import call_form, closed_port, count_rows, twilio_post, twiml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import accounts
from hotline.models import AuditEvent, Call, Recording, Tip
from hotline.twilio_voice import PROMPTS

OPERATOR_PHONE = "+84987654321"


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def operator_id(app):
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        user = accounts.create_user(db, "op@example.vn", "correct horse battery", "operator",
                                    phone="0987 654 321", client_identity="op-lan")
        return user.id


def _db(app) -> Session:
    return Session(app.extensions["hotline.engine"])


def _count(app, model) -> int:
    return count_rows(app.extensions["hotline.engine"], model)


# -- the queue and the voicemail ----------------------------------------------------------


@pytest.mark.parametrize(("digits", "line", "queue"), [("1", "emergency", "emergency"),
                                                       ("2", "general", "operators"),
                                                       ("9", "english", "operators")])
def test_the_menu_queues_the_caller_on_their_line(app, digits, line, queue):
    enqueue = twiml(twilio_post(app, "/twilio/voice/menu", call_form(Digits=digits))).find(
        "Enqueue")
    assert enqueue.text == queue
    assert enqueue.get("action") == f"/twilio/voice/queued?line={line}"
    assert enqueue.get("waitUrl") == f"/twilio/voice/wait?line={line}"
    assert enqueue.get("waitUrlMethod") == "POST"


def test_a_waiting_caller_hears_the_hold_message_until_the_wait_is_over(make_app):
    app = make_app(VOICE_WAIT_SECONDS=120, VOICE_EMERGENCY_WAIT_SECONDS=300)
    holding = twiml(twilio_post(app, "/twilio/voice/wait?line=general",
                                call_form(QueueTime="30", QueuePosition="2")))
    assert holding.find("Say").text == PROMPTS["vi"]["hold"]
    assert holding.find("Pause") is not None and holding.find("Leave") is None
    over = twiml(twilio_post(app, "/twilio/voice/wait?line=general", call_form(QueueTime="120")))
    assert over.find("Leave") is not None
    # An emergency waits longer before it is offered a voicemail.
    emergency = twiml(twilio_post(app, "/twilio/voice/wait?line=emergency",
                                  call_form(QueueTime="200")))
    assert emergency.find("Leave") is None
    english = twiml(twilio_post(app, "/twilio/voice/wait?line=english", call_form()))
    assert english.find("Say").get("language") == "en-US"


def test_the_wait_needs_no_database(make_app):
    app = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x")
    assert twiml(twilio_post(app, "/twilio/voice/wait?line=general",
                             call_form(QueueTime="5"))).find("Say") is not None


@pytest.mark.parametrize("result", ["bridged", "hangup"])
def test_a_connected_or_abandoned_wait_ends_quietly_and_is_recorded(app, result):
    root = twiml(twilio_post(app, "/twilio/voice/queued?line=general",
                             call_form(QueueResult=result, QueueTime="42")))
    assert len(root) == 0
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert (call.queue_result, call.queue_seconds) == (result, 42)


@pytest.mark.parametrize("result", ["leave", "queue-full", "error", "system-error"])
def test_nobody_answering_offers_a_voicemail(make_app, result):
    app = make_app(VOICE_VOICEMAIL_SECONDS=150)
    root = twiml(twilio_post(app, "/twilio/voice/queued?line=general",
                             call_form(QueueResult=result, QueueTime="120")))
    assert [child.tag for child in root] == ["Say", "Record", "Say", "Hangup"]
    assert root[0].text == PROMPTS["vi"]["voicemail"]
    record = root.find("Record")
    assert record.get("action") == "/twilio/voice/recorded?line=general"
    assert record.get("recordingStatusCallback") == "/twilio/voice/recording?kind=voicemail"
    assert record.get("maxLength") == "150" and record.get("finishOnKey") == "#"
    assert record.get("playBeep") == "true"


def test_an_emergency_voicemail_first_tells_the_caller_to_call_113(app):
    root = twiml(twilio_post(app, "/twilio/voice/queued?line=emergency",
                             call_form(QueueResult="leave")))
    assert root[0].text == PROMPTS["vi"]["danger_advice"] and "113" in root[0].text
    english = twiml(twilio_post(app, "/twilio/voice/queued?line=english",
                                call_form("CA0002", QueueResult="leave")))
    assert english[0].text == PROMPTS["en"]["voicemail"]


def test_a_left_voicemail_is_thanked_and_kept_encrypted(app):
    url = "https://api.twilio.com/2010-04-01/Accounts/AC123/Recordings/RE0001"
    root = twiml(twilio_post(app, "/twilio/voice/recorded?line=general",
                             call_form(RecordingSid="RE0001", RecordingUrl=url,
                                       RecordingDuration="34", Digits="#")))
    assert root[0].text == PROMPTS["vi"]["voicemail_thanks"] and root[1].tag == "Hangup"
    with _db(app) as db:
        recording = db.scalar(select(Recording))
        assert (recording.kind, recording.status, recording.duration_seconds) == (
            "voicemail", "in-progress", 34)
        assert app.extensions["hotline.vault"].decrypt(recording.url_encrypted) == url
        assert url not in recording.url_encrypted


def test_an_empty_voicemail_says_so(app):
    root = twiml(twilio_post(app, "/twilio/voice/recorded?line=general", call_form()))
    assert root[0].text == PROMPTS["vi"]["voicemail_none"]
    assert _count(app, Recording) == 0


@pytest.mark.parametrize("path", ["/twilio/voice/wait", "/twilio/voice/wait?line=other",
                                  "/twilio/voice/queued?line=", "/twilio/voice/recorded"])
def test_an_unknown_line_is_refused_and_nothing_is_stored(app, path):
    response = twilio_post(app, path, call_form(QueueResult="leave"))
    assert response.status_code == 400 and b"line must be one of" in response.data
    assert _count(app, Call) == 0


# -- the recording and status callbacks --------------------------------------------------


def _recording(sid="CA0001", recording_sid="RE0001", status="completed", **extra):
    return {"AccountSid": "AC123", "CallSid": sid, "RecordingSid": recording_sid,
            "RecordingStatus": status, "RecordingUrl": f"https://api.twilio.com/{recording_sid}",
            "RecordingDuration": "20", "RecordingChannels": "1", **extra}


def test_a_voicemail_of_a_call_never_stored_starts_its_tip(app):
    response = twilio_post(app, "/twilio/voice/recording?kind=voicemail", _recording("CA0404"))
    assert response.status_code == 204
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert call.call_sid == "CA0404" and call.tip.channel == "voice"
        assert call.tip.caller is None  # the callback does not say who called
        assert [r.status for r in call.recordings] == ["completed"]
        actions = set(db.scalars(select(AuditEvent.action)))
        assert {"call.received", "call.voicemail"} <= actions
    # The call's own status callback, when it comes, adds the caller to that same tip.
    twilio_post(app, "/twilio/voice/status", call_form("CA0404", CallStatus="completed"))
    with _db(app) as db:
        assert db.scalar(select(Tip)).caller is not None and _count(app, Tip) == 1


@pytest.mark.parametrize(("path", "form", "message"), [
    ("/twilio/voice/recording?kind=voicemail", _recording(RecordingSid=""), b"RecordingSid"),
    ("/twilio/voice/recording?kind=voicemail", _recording(status="lost"), b"RecordingStatus"),
    ("/twilio/voice/recording?kind=music", _recording(), b"kind must be"),
    ("/twilio/voice/recording?kind=voicemail", _recording(sid=""), b"CallSid"),
    ("/twilio/voice/status", call_form(CallStatus="exploded"), b"CallStatus"),
    ("/twilio/voice/status", call_form(CallStatus=""), b"CallStatus"),
])
def test_malformed_callbacks_are_refused_and_nothing_is_stored(app, path, form, message):
    response = twilio_post(app, path, form)
    assert response.status_code == 400 and message in response.data
    assert _count(app, Call) == 0 and _count(app, Recording) == 0 and _count(app, Tip) == 0


def test_unsigned_callbacks_are_refused(app):
    for path in ("/twilio/voice/recording?kind=voicemail", "/twilio/voice/status",
                 "/twilio/voice/operator", "/twilio/voice/bridged?operator=1"):
        assert twilio_post(app, path, _recording(), token="wrong").status_code == 403
    assert _count(app, Call) == 0


def test_status_callbacks_record_duration_and_never_move_backwards(app):
    post = lambda status, **extra: twilio_post(  # noqa: E731
        app, "/twilio/voice/status", call_form(CallStatus=status, **extra))
    assert post("ringing").status_code == 204
    post("completed", CallDuration="95", Timestamp="Mon, 23 Nov 2026 05:01:40 +0000")
    post("in-progress")  # late
    post("completed", CallDuration="96")  # again
    post("no-answer")
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert (call.status, call.duration_seconds) == ("completed", 95)
        assert call.ended_at.isoformat() == "2026-11-23T05:01:40+00:00"
        assert _count(app, Tip) == 1


def test_a_status_for_an_unknown_call_creates_its_tip_with_the_caller(app):
    twilio_post(app, "/twilio/voice/status", call_form("CA0777", CallStatus="completed",
                                                       CallDuration="12"))
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert call.status == "completed" and call.tip.caller.number_valid
        assert call.tip.urgency == "low"  # judged, with nothing said


def test_operators_own_call_legs_create_no_tip(app):
    twilio_post(app, "/twilio/voice/status",
                call_form("CA0900", From="client:op-lan", CallStatus="completed"))
    assert _count(app, Call) == 0


# -- the operators' line -----------------------------------------------------------------


def test_a_registered_operator_is_connected_to_the_emergency_queue_first(app, operator_id):
    for caller in (OPERATOR_PHONE, "0987654321", "client:op-lan"):
        root = twiml(twilio_post(app, "/twilio/voice/operator",
                                 call_form("CA0900", From=caller)))
        dial = root.find("Dial")
        assert dial.get("timeout") == "5"
        assert dial.get("action") == (f"/twilio/voice/operator/next?operator={operator_id}"
                                      "&step=emergency")
        queue = dial.find("Queue")
        assert queue.text == "emergency"
        assert queue.get("url") == f"/twilio/voice/bridged?operator={operator_id}"
        assert dial.get("record") is None  # recording is off


def test_the_operator_line_records_conversations_when_recording_is_on(make_app):
    app = make_app(VOICE_RECORDING=True, OPERATOR_NUMBERS=(OPERATOR_PHONE,))
    with Session(app.extensions["hotline.engine"]) as db, db.begin():
        accounts.create_user(db, "op@example.vn", "correct horse battery", "operator",
                             phone=OPERATOR_PHONE)
    dial = twiml(twilio_post(app, "/twilio/voice/operator",
                             call_form("CA0900", From=OPERATOR_PHONE))).find("Dial")
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("recordingStatusCallback") == "/twilio/voice/recording?kind=conversation"


@pytest.mark.parametrize("caller", ["+84911111111", "client:someone", "anonymous", ""])
def test_an_unknown_number_on_the_operator_line_is_refused(app, operator_id, caller):
    root = twiml(twilio_post(app, "/twilio/voice/operator", call_form("CA0900", From=caller)))
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert root.find("Say").text == PROMPTS["operator"]["unknown"]


def test_an_inactive_operator_is_refused(app, operator_id):
    with _db(app) as db, db.begin():
        db.get(accounts.User, operator_id).active = False
    root = twiml(twilio_post(app, "/twilio/voice/operator",
                             call_form("CA0900", From=OPERATOR_PHONE)))
    assert root.find("Dial") is None


def test_with_the_database_down_operator_numbers_still_take_calls(make_app):
    app = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x",
                   OPERATOR_NUMBERS=(OPERATOR_PHONE,), VOICE_STORE_SECONDS=1)
    dial = twiml(twilio_post(app, "/twilio/voice/operator",
                             call_form("CA0900", From="0987654321"))).find("Dial")
    assert dial.find("Queue").get("url") == "/twilio/voice/bridged?operator="
    refused = twiml(twilio_post(app, "/twilio/voice/operator",
                                call_form("CA0901", From="+84911111111")))
    assert refused.find("Dial") is None


def test_the_operator_line_alternates_the_queues_and_wraps_up_after_a_call(app):
    after_emergency = twiml(twilio_post(app, "/twilio/voice/operator/next?operator=7"
                                        "&step=emergency", call_form("CA0900")))
    dial = after_emergency.find("Dial")
    assert dial.find("Queue").text == "operators" and dial.get("timeout") == "15"
    assert dial.get("action") == "/twilio/voice/operator/next?operator=7&step=general"
    after_general = twiml(twilio_post(app, "/twilio/voice/operator/next?operator=7"
                                      "&step=general", call_form("CA0900")))
    assert after_general.find("Dial/Queue").text == "emergency"
    after_call = twiml(twilio_post(app, "/twilio/voice/operator/next?operator=7&step=general",
                                   call_form("CA0900", DialCallSid="CA0001",
                                             DialCallStatus="completed")))
    gather = after_call.find("Gather")
    assert gather.find("Say").text == PROMPTS["operator"]["wrap_up"]
    assert gather.get("action") == "/twilio/voice/operator/next?operator=7&step=general"
    assert after_call.find("Hangup") is not None and after_call.find("Dial") is None
    bad = twilio_post(app, "/twilio/voice/operator/next?operator=7&step=lunch",
                      call_form("CA0900"))
    assert bad.status_code == 400


def test_the_operator_who_answers_is_recorded_and_holds_the_tip(app, operator_id):
    twilio_post(app, "/twilio/voice", call_form())
    twilio_post(app, "/twilio/voice/menu", call_form(Digits="2"))
    bridged = twilio_post(app, f"/twilio/voice/bridged?operator={operator_id}",
                          call_form(DequeingCallSid="CA0900", QueueTime="12"))
    assert len(twiml(bridged)) == 0
    twilio_post(app, f"/twilio/voice/bridged?operator={operator_id + 1}",  # again, later
                call_form(DequeingCallSid="CA0999"))
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert (call.answered_by_id, call.operator_call_sid) == (operator_id, "CA0900")
        assert call.answered_at is not None
        assert (call.tip.status, call.tip.claimed_by_id) == ("claimed", operator_id)
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "call.answered"))
        assert event.user_id == operator_id and event.tip_id == call.tip_id


def test_a_recorded_conversation_is_found_by_the_operators_leg(make_app, operator_id):
    app = make_app()
    twilio_post(app, f"/twilio/voice/bridged?operator={operator_id}",
                call_form(DequeingCallSid="CA0900"))
    twilio_post(app, "/twilio/voice/recording?kind=conversation",
                _recording("CA0900", "RE0002"))
    with _db(app) as db:
        recording = db.scalar(select(Recording))
        assert recording.kind == "conversation" and recording.call.call_sid == "CA0001"
        assert _count(app, Call) == 1


@pytest.mark.parametrize(("field", "value"), [("CallSid", "CA\x00001"), ("CallSid", "CA 0001"),
                                              ("RecordingSid", "RE<script>"),
                                              ("CallSid", "C" * 65)])
def test_malformed_sids_are_refused_and_nothing_is_stored(app, field, value):
    response = twilio_post(app, "/twilio/voice/recording?kind=voicemail",
                           _recording(**{field: value}))
    assert response.status_code == 400 and field.encode() in response.data
    assert _count(app, Call) == 0 and _count(app, Recording) == 0


def test_odd_numbers_of_seconds_are_taken_as_unknown(app):
    twilio_post(app, "/twilio/voice/queued?line=general",
                call_form(QueueResult="hangup", QueueTime="²"))
    twilio_post(app, "/twilio/voice/status", call_form(CallStatus="completed", CallDuration="-5"))
    with _db(app) as db:
        call = db.scalar(select(Call))
        assert call.queue_seconds is None and call.duration_seconds is None
