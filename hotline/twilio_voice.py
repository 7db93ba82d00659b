"""`POST /twilio/voice` and its menu: a Vietnamese IVR that always ends with a human.

The TwiML never depends on the database: storing the call runs under a short deadline,
and when the database or Redis is down or slow the caller still hears the menu and is
connected to an operator. Silence or a failed gather goes to an operator, never to a
hang-up; pressing 1 counts even when the caller says nothing (triage hint danger_now).
Emergencies wait in their own queue, which operators drain first.
"""

from __future__ import annotations

import logging
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request, url_for
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from . import intake
from .phones import parse_number
from .twilio_sms import twilio_signed

bp = Blueprint("twilio_voice", __name__)
log = logging.getLogger(__name__)
PROMPTS = tomllib.loads((Path(__file__).parent / "data" / "ivr.toml").read_text("utf-8"))
CHOICES = {"1": "danger_now", "2": "report", "3": "support", "0": "operator", "9": "english"}
_storage = ThreadPoolExecutor(max_workers=8, thread_name_prefix="voice-store")


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="application/xml")


def _say(target, text: str, language: str = "vi") -> None:
    target.say(text, language="vi-VN" if language == "vi" else "en-US",
               voice=PROMPTS["voice"][language])


def _call_sid() -> str:
    sid = request.form.get("CallSid", "").strip()
    if not sid or len(sid) > 64:
        abort(400, "CallSid is missing or malformed")
    return sid


def _store(work, *args) -> None:
    """Run `work(db, vault, *args)` in its own transaction, waiting at most the voice
    deadline: past it the caller is answered anyway (the work goes on, or fails, alone)."""
    engine = current_app.extensions["hotline.engine"]
    vault = current_app.extensions["hotline.vault"]
    clock = current_app.extensions["hotline.clock"]

    def run() -> None:
        with Session(engine) as db, db.begin():
            work(db, vault, clock(), *args)

    future = _storage.submit(run)
    try:
        future.result(timeout=current_app.config["VOICE_STORE_SECONDS"])
    except TimeoutError:
        log.error("voice storage past its deadline: the caller is answered anyway")
    except Exception as error:
        log.error("voice storage failed (%s): the caller is answered anyway",
                  type(error).__name__)


@bp.post("/twilio/voice")
@twilio_signed
def incoming_call():
    sid = _call_sid()
    _store(intake.record_call, sid, parse_number(request.form.get("From")))
    config = current_app.config
    response = VoiceResponse()
    gather = Gather(input="dtmf speech" if config["VOICE_SPEECH"] else "dtmf",
                    language="vi-VN", num_digits=1, timeout=6,
                    action=url_for("twilio_voice.menu"), action_on_empty_result=True)
    _say(gather, PROMPTS["vi"]["welcome"])
    if config["VOICE_RECORDING"]:
        _say(gather, PROMPTS["vi"]["recording"])
    if config["VOICE_SPEECH"]:
        _say(gather, PROMPTS["vi"]["speech"])
    _say(gather, PROMPTS["vi"]["menu"])
    response.append(gather)
    response.redirect(url_for("twilio_voice.menu"))  # no gather result at all: an operator
    return _twiml(response)


@bp.post("/twilio/voice/menu")
@twilio_signed
def menu():
    sid = _call_sid()
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()
    choice = CHOICES.get(digits[:1]) or ("report" if speech else "operator")
    _store(intake.record_choice, sid, choice, speech, parse_number(request.form.get("From")))
    response = VoiceResponse()
    if choice == "danger_now":
        _say(response, PROMPTS["vi"]["danger"])
        response.enqueue(current_app.config["VOICE_EMERGENCY_QUEUE"])
    elif choice == "english":
        _say(response, PROMPTS["en"]["connecting"], "en")
        response.enqueue(current_app.config["VOICE_QUEUE"])
    else:
        _say(response, PROMPTS["vi"]["connecting"])
        response.enqueue(current_app.config["VOICE_QUEUE"])
    return _twiml(response)
