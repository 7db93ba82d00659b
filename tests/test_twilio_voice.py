"""The voice menu: valid TwiML on every branch, one tip per CallSid, the caller always
reaches a human, even with the database down."""

from __future__ import annotations

import pytest
from service_helpers import call_form, closed_port, count_rows, twilio_post, twiml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Call, Tip
from hotline.twilio_voice import PROMPTS


@pytest.fixture
def app(make_app):
    return make_app()


def _count(app, model) -> int:
    return count_rows(app.extensions["hotline.engine"], model)


def test_a_call_hears_the_vietnamese_menu(app):
    root = twiml(twilio_post(app, "/twilio/voice", call_form()))
    gather = root.find("Gather")
    assert gather.get("language") == "vi-VN" and gather.get("input") == "dtmf speech"
    assert gather.get("action") == "/twilio/voice/menu" and gather.get("numDigits") == "1"
    says = [say.text for say in gather.findall("Say")]
    assert all(say.get("language") == "vi-VN" and say.get("voice").startswith("Google.vi-VN")
               for say in gather.findall("Say"))
    assert any("bấm phím 1" in text for text in says)
    assert not any("ghi âm" in text for text in says)  # recording is off: not announced
    assert root.find("Redirect").text == "/twilio/voice/menu"  # no input: an operator


def test_the_menu_announces_recording_when_it_is_on(make_app):
    app = make_app(VOICE_RECORDING=True, VOICE_SPEECH=False)
    gather = twiml(twilio_post(app, "/twilio/voice", call_form())).find("Gather")
    says = " ".join(say.text for say in gather.findall("Say"))
    assert PROMPTS["vi"]["recording"] in says and PROMPTS["vi"]["speech"] not in says
    assert gather.get("input") == "dtmf"


def test_each_call_is_one_tip(app):
    twilio_post(app, "/twilio/voice", call_form())
    twilio_post(app, "/twilio/voice", call_form())
    assert _count(app, Tip) == 1 and _count(app, Call) == 1
    with Session(app.extensions["hotline.engine"]) as db:
        assert db.scalar(select(Tip.channel)) == "voice"


def test_pressing_1_goes_to_the_emergency_queue_and_makes_the_tip_critical(app):
    twilio_post(app, "/twilio/voice", call_form())
    root = twiml(twilio_post(app, "/twilio/voice/menu", call_form(Digits="1")))
    assert root.find("Enqueue").text == "emergency"
    with Session(app.extensions["hotline.engine"]) as db:
        tip = db.scalar(select(Tip))
        assert tip.urgency == "critical" and tip.functions == ["police"]
        assert db.scalar(select(Call.ivr_choice)) == "danger_now"


@pytest.mark.parametrize(("form", "queue"), [({}, "operators"), ({"Digits": ""}, "operators"),
                                             ({"Digits": "0"}, "operators"),
                                             ({"Digits": "7"}, "operators"),
                                             ({"Digits": "9"}, "operators")])
def test_silence_and_other_keys_reach_an_operator(app, form, queue):
    root = twiml(twilio_post(app, "/twilio/voice/menu", call_form(**form)))
    assert root.find("Enqueue").text == queue
    assert root.find("Hangup") is None


def test_english_gets_an_english_greeting(app):
    root = twiml(twilio_post(app, "/twilio/voice/menu", call_form(Digits="9")))
    assert root.find("Say").get("language") == "en-US"


def test_speech_is_kept_as_a_transcript_and_triaged(app):
    speech = "em mười bốn tuổi đang bị nhốt ở quán karaoke"
    twiml(twilio_post(app, "/twilio/voice/menu", call_form(SpeechResult=speech)))
    vault = app.extensions["hotline.vault"]
    with Session(app.extensions["hotline.engine"]) as db:
        call = db.scalar(select(Call))
        assert call.ivr_choice == "report" and vault.decrypt(call.transcript_encrypted) == speech
        assert call.tip.urgency == "critical" and call.tip.child_involved


@pytest.mark.parametrize("kind", ["down", "slow"])
def test_with_the_database_down_or_slow_the_caller_still_reaches_a_human(make_app, kind,
                                                                         silent_server):
    port = closed_port() if kind == "down" else silent_server
    app = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
                                "?connect_timeout=30", VOICE_STORE_SECONDS=0.5)
    assert twiml(twilio_post(app, "/twilio/voice", call_form())).find("Gather") is not None
    assert twiml(twilio_post(app, "/twilio/voice/menu", call_form(Digits="1"))).find(
        "Enqueue").text == "emergency"


def test_unsigned_or_malformed_requests_are_refused(app):
    assert twilio_post(app, "/twilio/voice", call_form(), token="wrong-token").status_code == 403
    form = call_form()
    del form["CallSid"]
    assert twilio_post(app, "/twilio/voice", form).status_code == 400
    assert _count(app, Tip) == 0
