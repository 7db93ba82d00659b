"""`POST /twilio/voice` and its sub-routes: a Vietnamese IVR that always ends with a human
or a voicemail, the operators' line that takes callers from the queues, and Twilio's
status and recording callbacks.

The TwiML never depends on the database: each call event is stored under a short
deadline, and one that misses it goes to the local spool (``hotline.spool``) and is
stored later, so with the database or Redis down or slow the caller still hears the menu
and is connected. Silence or a failed gather goes to an operator, never to a hang-up;
pressing 1 counts even when the caller says nothing (triage hint danger_now).

Callers wait in a Twilio queue (``<Enqueue>``, first in, first out); emergencies have a
queue of their own, which operators drain first. Past the line's wait the caller leaves
the queue and is offered a voicemail. An operator calls the operators' line (their
registered phone or Twilio Client identity) and is connected to the next caller in turn.
"""

from __future__ import annotations

import logging
import tomllib
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from email.utils import parsedate_to_datetime
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from . import calls, dispatching
from .models import RECORDING_KINDS, RECORDING_STATUSES, User
from .phones import parse_number
from .spool import Replayer, Spool
from .twilio_sms import twilio_form, twilio_signed

bp = Blueprint("twilio_voice", __name__)
log = logging.getLogger(__name__)
PROMPTS = tomllib.loads((Path(__file__).parent / "data" / "ivr.toml").read_text("utf-8"))
CHOICES = {"1": "danger_now", "2": "report", "3": "support", "0": "operator", "9": "english"}
# Each line: its queue's setting, its language, and its wait before the voicemail.
LINES = {"emergency": ("VOICE_EMERGENCY_QUEUE", "vi", "VOICE_EMERGENCY_WAIT_SECONDS"),
         "general": ("VOICE_QUEUE", "vi", "VOICE_WAIT_SECONDS"),
         "english": ("VOICE_QUEUE", "en", "VOICE_WAIT_SECONDS")}
# How the wait in a queue ended; these put the caller through to an operator.
CONNECTED = frozenset({"bridged", "bridging-in-process"})
HOLD_PAUSE_SECONDS = 15
# The operators' line dials the emergency queue briefly, then the general one, in turn.
OPERATOR_DIAL_SECONDS = {"emergency": 5, "general": 15}
OPERATOR_WRAP_UP_SECONDS = 120
_storage = ThreadPoolExecutor(max_workers=8, thread_name_prefix="voice-store")


def init_app(app: Flask) -> None:
    app.extensions["hotline.spool"] = Spool(Path(app.config["HOTLINE_DATA_DIR"]) / "spool",
                                            app.extensions["hotline.vault"])


def start_spool_replayer(app: Flask) -> Replayer:
    """Replay this machine's voice spool now and every VOICE_SPOOL_SECONDS (each web
    process runs one, from wsgi.py or `hotline run`)."""
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    replayer = Replayer(app.extensions["hotline.spool"],
                        lambda recorded: calls.store(engine, vault, recorded),
                        app.config["VOICE_SPOOL_SECONDS"])
    replayer.start()
    return replayer


# -- the caller's side -----------------------------------------------------------------


@bp.post("/twilio/voice")
@twilio_signed
def incoming_call():
    sid = _call_sid()
    store_event("arrived", call_sid=sid, caller=twilio_form().get("From"))
    config = current_app.config
    response = VoiceResponse()
    gather = Gather(input="dtmf speech" if config["VOICE_SPEECH"] else "dtmf",
                    language="vi-VN", num_digits=1, timeout=6,
                    action=url_for(".menu"), action_on_empty_result=True)
    _say(gather, "welcome")
    if config["VOICE_RECORDING"]:
        _say(gather, "recording")
    if config["VOICE_SPEECH"]:
        _say(gather, "speech")
    _say(gather, "menu")
    response.append(gather)
    response.redirect(url_for(".menu"))  # no gather result at all: an operator
    return _twiml(response)


@bp.post("/twilio/voice/menu")
@twilio_signed
def menu():
    sid = _call_sid()
    digits = twilio_form().get("Digits", "").strip()
    speech = twilio_form().get("SpeechResult", "").strip()
    choice = CHOICES.get(digits[:1]) or ("report" if speech else "operator")
    store_event("chose", call_sid=sid, caller=twilio_form().get("From"), choice=choice,
           speech=speech)
    line = {"danger_now": "emergency", "english": "english"}.get(choice, "general")
    response = VoiceResponse()
    _say(response, "danger" if line == "emergency" else "connecting", LINES[line][1])
    _enqueue(response, line)
    return _twiml(response)


@bp.post("/twilio/voice/wait")
@twilio_signed
def wait():
    """Twilio's hold loop, requested again each time it ends: past the line's wait the
    caller leaves the queue (and the queue's action offers a voicemail)."""
    line = _line()
    response = VoiceResponse()
    waited = _whole(twilio_form().get("QueueTime")) or 0
    if waited >= current_app.config[LINES[line][2]]:
        response.leave()
        return _twiml(response)
    _say(response, "hold", LINES[line][1])
    response.pause(length=HOLD_PAUSE_SECONDS)
    return _twiml(response)


@bp.post("/twilio/voice/queued")
@twilio_signed
def queued():
    """The wait ended. Connected, or the caller hung up: nothing more to say. Otherwise
    (nobody answered in time, the queue was full or failed) a voicemail."""
    sid, line = _call_sid(), _line()
    result = twilio_form().get("QueueResult", "").strip()[:24] or "unknown"
    store_event("left_queue", call_sid=sid, result=result,
           seconds=_whole(twilio_form().get("QueueTime")))
    response = VoiceResponse()
    if result in CONNECTED or result == "hangup":
        return _twiml(response)
    language = LINES[line][1]
    if line == "emergency":
        _say(response, "danger_advice", language)
    _say(response, "voicemail", language)
    response.record(action=url_for(".recorded", line=line),
                    max_length=current_app.config["VOICE_VOICEMAIL_SECONDS"], timeout=10,
                    finish_on_key="#", play_beep=True, trim="trim-silence",
                    recording_status_callback=url_for(".recording", kind="voicemail"),
                    recording_status_callback_event="in-progress completed absent")
    _say(response, "voicemail_none", language)  # Record ends here when nothing was said
    response.hangup()
    return _twiml(response)


@bp.post("/twilio/voice/recorded")
@twilio_signed
def recorded():
    """The voicemail ended. The recording callback stores it; this stores what it already
    knows, in case that callback is late or lost."""
    sid, line = _call_sid(), _line()
    recording_sid = _sid("RecordingSid", required=False)
    if recording_sid:
        store_event("recording", call_sid=sid, recording_sid=recording_sid, kind="voicemail",
               status="in-progress", url=twilio_form().get("RecordingUrl") or None,
               seconds=_whole(twilio_form().get("RecordingDuration")))
    response = VoiceResponse()
    said = twilio_form().get("RecordingUrl") and (_whole(twilio_form().get("RecordingDuration"))
                                                 or 0) > 0
    _say(response, "voicemail_thanks" if said else "voicemail_none", LINES[line][1])
    response.hangup()
    return _twiml(response)


# -- Twilio's callbacks ----------------------------------------------------------------


@bp.post("/twilio/voice/recording")
@twilio_signed
def recording():
    """RecordingStatusCallback: a voicemail, or a recorded conversation (named by the
    operator's call leg). A recording of a call never stored starts the call's tip."""
    sid = _call_sid()
    kind = request.args.get("kind", "")
    if kind not in RECORDING_KINDS:
        abort(400, f"kind must be one of {', '.join(RECORDING_KINDS)}")
    recording_sid = _sid("RecordingSid")
    status = twilio_form().get("RecordingStatus", "").strip()
    if status not in RECORDING_STATUSES:
        abort(400, f"RecordingStatus must be one of {', '.join(RECORDING_STATUSES)}")
    store_event("recording", call_sid=sid, recording_sid=recording_sid, kind=kind, status=status,
           url=twilio_form().get("RecordingUrl") or None,
           seconds=_whole(twilio_form().get("RecordingDuration")))
    return Response(status=204)


@bp.post("/twilio/voice/status")
@twilio_signed
def status():
    """StatusCallback of calls to 111: duration and outcome. Repeated or out of order, a
    final status never moves backwards; a call never stored gets its tip here."""
    sid = _call_sid()
    call_status = twilio_form().get("CallStatus", "").strip()
    if call_status not in calls.STATUS_RANK:
        abort(400, f"CallStatus must be one of {', '.join(calls.STATUS_RANK)}")
    store_event("status", _reported_at(), call_sid=sid, caller=twilio_form().get("From"),
           status=call_status, seconds=_whole(twilio_form().get("CallDuration")))
    return Response(status=204)


# -- the operators' line ---------------------------------------------------------------


@bp.post("/twilio/voice/operator")
@twilio_signed
def operator_line():
    """An operator calls in to take callers: known by their phone or Client identity."""
    _call_sid()
    known, operator_id = _identify_operator(twilio_form().get("From"))
    response = VoiceResponse()
    if not known:
        _say(response, "unknown", "operator")
        response.hangup()
        return _twiml(response)
    return _twiml(_operator_dial(response, operator_id, "emergency"))


@bp.post("/twilio/voice/operator/next")
@twilio_signed
def operator_next():
    """After a dial of the queues: a finished conversation gets a pause to wrap up;
    an empty queue passes on to the other one."""
    _call_sid()
    operator_id, step = request.args.get("operator", ""), request.args.get("step", "")
    if step not in OPERATOR_DIAL_SECONDS:
        abort(400, f"step must be one of {', '.join(OPERATOR_DIAL_SECONDS)}")
    response = VoiceResponse()
    if twilio_form().get("DialCallSid"):  # a caller was connected, and that call is over
        gather = Gather(num_digits=1, timeout=OPERATOR_WRAP_UP_SECONDS,
                        action=url_for(".operator_next", operator=operator_id, step="general"))
        _say(gather, "wrap_up", "operator")
        response.append(gather)
        _say(response, "goodbye", "operator")
        response.hangup()
        return _twiml(response)
    following = "general" if step == "emergency" else "emergency"
    return _twiml(_operator_dial(response, operator_id, following))


@bp.post("/twilio/voice/bridged")
@twilio_signed
def bridged():
    """Runs on the caller's leg as an operator takes it from the queue: who answered."""
    sid = _call_sid()
    operator = request.args.get("operator", "")
    store_event("answered", call_sid=sid, operator_id=int(operator) if operator.isdigit() else None,
           operator_call_sid=_sid("DequeingCallSid", required=False))
    return _twiml(VoiceResponse())


def _operator_dial(response: VoiceResponse, operator_id, step: str) -> VoiceResponse:
    config = current_app.config
    recording = {"record": "record-from-answer-dual",
                 "recording_status_callback": url_for(".recording", kind="conversation")} \
        if config["VOICE_RECORDING"] else {}
    dial = Dial(timeout=OPERATOR_DIAL_SECONDS[step],
                action=url_for(".operator_next", operator=operator_id or "", step=step),
                **recording)
    queue = config["VOICE_EMERGENCY_QUEUE" if step == "emergency" else "VOICE_QUEUE"]
    dial.queue(queue, url=url_for(".bridged", operator=operator_id or ""))
    response.append(dial)
    return response


def _identify_operator(raw: str | None) -> tuple[bool, int | None]:
    """(known, user id). With the database out of reach, OPERATOR_NUMBERS still let the
    operators on duty take calls (who answered is then not known)."""
    number = parse_number(raw)
    engine = current_app.extensions["hotline.engine"]

    def lookup() -> int | None:
        with Session(engine) as db:
            match = [User.phone == number.e164] if number.e164 else []
            match += [User.client_identity == number.client] if number.client else []
            if not match:
                return None
            return db.scalar(select(User.id).where(
                or_(*match), User.active, User.role.in_(("operator", "supervisor"))))

    try:
        operator_id = _storage.submit(lookup).result(
            timeout=current_app.config["VOICE_STORE_SECONDS"])
        return operator_id is not None, operator_id
    except Exception as error:
        log.error("operator lookup failed (%s): using OPERATOR_NUMBERS", type(error).__name__)
        return bool(number.e164) and number.e164 in current_app.config["OPERATOR_NUMBERS"], None


# -- helpers ---------------------------------------------------------------------------


def store_event(name: str, at=None, /, **fields) -> None:
    """Store a call event, waiting at most VOICE_STORE_SECONDS; past that, or when the
    database fails, it goes to the spool and the caller is answered anyway."""
    app = current_app._get_current_object()
    recorded = calls.event(name, at or app.extensions["hotline.clock"](), **fields)
    future = _storage.submit(calls.store, app.extensions["hotline.engine"],
                             app.extensions["hotline.vault"], recorded)
    try:
        unrouted_tip = future.result(timeout=app.config["VOICE_STORE_SECONDS"])
        if unrouted_tip is not None:  # enqueued in the background: Redis may be slow
            _storage.submit(dispatching.request_routing, app.extensions["hotline.redis"],
                            unrouted_tip)
        return
    except FutureTimeout:
        log.error("voice event %s past its deadline: spooled", name)
    except Exception as error:
        log.error("voice event %s not stored (%s): spooled", name, type(error).__name__)
    try:
        app.extensions["hotline.spool"].add(recorded)
    except OSError:
        log.critical("voice event %s could not be spooled either", name)


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="application/xml")


def _say(target, prompt: str, language: str = "vi") -> None:
    """A prompt of ivr.toml in the language's voice (the operators' line speaks vi)."""
    text = PROMPTS[language][prompt]
    language = "en" if language == "en" else "vi"
    target.say(text, language="vi-VN" if language == "vi" else "en-US",
               voice=PROMPTS["voice"][language])


def _enqueue(response: VoiceResponse, line: str) -> None:
    response.enqueue(current_app.config[LINES[line][0]],
                     action=url_for(".queued", line=line),
                     wait_url=url_for(".wait", line=line), wait_url_method="POST")


def _call_sid() -> str:
    return _sid("CallSid")


def _sid(field: str, required: bool = True) -> str | None:
    """A Twilio SID: ASCII letters and digits (a NUL could not even be stored)."""
    sid = twilio_form().get(field, "").strip()
    if not sid and not required:
        return None
    if not sid or len(sid) > 64 or not (sid.isascii() and sid.isalnum()):
        abort(400, f"{field} is missing or malformed")
    return sid


def _line() -> str:
    line = request.args.get("line", "")
    if line not in LINES:
        abort(400, f"line must be one of {', '.join(LINES)}")
    return line


def _whole(value: str | None) -> int | None:
    """A count of seconds as Twilio sends it; anything else is unknown (None)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _reported_at():
    """When Twilio says the status changed (its RFC 2822 Timestamp), else now."""
    try:
        reported = parsedate_to_datetime(twilio_form().get("Timestamp", ""))
    except (TypeError, ValueError):
        reported = None
    if reported is None or reported.tzinfo is None:
        return current_app.extensions["hotline.clock"]()
    return reported
