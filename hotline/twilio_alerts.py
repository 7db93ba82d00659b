"""Twilio's side of the alerts the service sends: the alert call ("press 1 to
acknowledge", vi-VN) and delivery status callbacks (`POST /twilio/status`).

The alert call's TwiML needs no database: everything it says rides in the URL the outbox
gave Twilio (signed by Twilio like every /twilio/ request). Pressing 1 is stored under
the voice deadline, and spooled when the database is slow, so the focal point hears the
answer within Twilio's budget and the acknowledgement is never lost. A delivery status
never moves backwards and is never taken as an acknowledgement (Vietnamese carriers
often send no receipt at all).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse

from routing import outbox, templates
from routing.models import ALERT_KINDS, URGENCIES

from . import database
from .twilio_sms import twilio_form, twilio_signed
from .twilio_voice import PROMPTS, store_event

bp = Blueprint("twilio_alerts", __name__)
log = logging.getLogger(__name__)
FUNCTION_NAMES = ("police", "consular", "border", "victim_support")


@bp.post("/twilio/alert-call/<int:alert_id>")
@twilio_signed
def alert_call(alert_id: int):
    """What the called person hears: the alert, twice, then goodbye."""
    text = _text()
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=8, action=url_for(".key", alert_id=alert_id,
                                                            **request.args))
    _say(gather, text)
    _say(gather, text)
    response.append(gather)
    _say(response, PROMPTS["alert"]["no_key"])
    response.hangup()
    return _twiml(response)


@bp.post("/twilio/alert-call/<int:alert_id>/key")
@twilio_signed
def key(alert_id: int):
    digits = twilio_form().get("Digits", "").strip()
    response = VoiceResponse()
    if digits[:1] != "1":
        response.redirect(url_for(".alert_call", alert_id=alert_id, **request.args))
        return _twiml(response)
    store_event("alert_acknowledged", alert_id=alert_id)
    _say(response, PROMPTS["alert"]["thanks"])
    response.hangup()
    return _twiml(response)


@bp.post("/twilio/status")
@twilio_signed
def delivery_status():
    """Twilio's status callback for an SMS or call the service sent."""
    form = twilio_form()
    sid = (form.get("MessageSid") or form.get("CallSid") or "").strip()
    status = (form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus")
              or "").strip()
    if not sid or len(sid) > 64 or not (sid.isascii() and sid.isalnum()):
        abort(400, "MessageSid or CallSid is missing or malformed")
    if not status:
        abort(400, "MessageStatus or CallStatus is missing")
    db = database.session()
    kind = "call" if form.get("CallSid") and not form.get("MessageSid") else "sms"
    try:
        known = outbox.delivery_status(db, sid, kind, status,
                                       current_app.extensions["hotline.clock"]())
    except ValueError as error:
        abort(400, str(error))
    db.commit()
    if not known:
        log.info("status for a message the outbox does not know: ignored")
    return Response(status=204)


def _text() -> str:
    """The alert's words from the URL's fields, checked (anything else is a 400)."""
    args = request.args
    kind = args.get("k", "")
    if kind not in ALERT_KINDS:
        abort(400, "k must name an alert kind")
    urgency = args.get("u", "")
    if urgency not in URGENCIES:
        abort(400, "u must be an urgency")
    function = args.get("f", "")
    if function not in FUNCTION_NAMES:
        abort(400, "f must be a function")
    minutes = args.get("m", "0")
    if not (minutes.isascii() and minutes.isdigit()):
        abort(400, "m must be whole minutes")
    fields = {"reference": args.get("r", "")[:24], "urgency": urgency,
              "child": args.get("c") == "1", "function": function,
              "office": args.get("o", "")[:200], "link": "", "minutes": int(minutes)}
    try:
        return templates.packaged().render(kind, "call", fields)
    except (templates.TemplateError, ValueError) as error:
        abort(400, str(error))


def _say(target, text: str) -> None:
    target.say(text, language="vi-VN", voice=PROMPTS["voice"]["vi"])


def _twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="application/xml")
