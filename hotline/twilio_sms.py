"""`POST /twilio/sms`: an inbound SMS becomes (part of) a tip before Twilio gets its answer.

Every request must carry a valid `X-Twilio-Signature` over the public URL Twilio called
(behind a TLS proxy `request.url` is not that URL), or it is refused with 403 and
nothing is stored. The answer is always empty TwiML: only an operator, from the console,
ever texts a caller back, and only when the caller's safety record allows it.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy.exc import IntegrityError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from . import database, dispatching, intake, replies
from .phones import mask, parse_number
from .retriage import after_joining

bp = Blueprint("twilio_sms", __name__)
log = logging.getLogger(__name__)


def twilio_signed(view):
    """Refuse (403) a request whose X-Twilio-Signature matches neither auth token."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        if not _signature_valid():
            log.warning("refused %s: bad or missing X-Twilio-Signature", request.path)
            abort(403, "invalid Twilio signature")
        return view(*args, **kwargs)

    return checked


def _signature_valid() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    tokens = [current_app.config["TWILIO_AUTH_TOKEN"],
              current_app.config["TWILIO_AUTH_TOKEN_SECONDARY"]]  # during a rotation
    if not signature or not any(tokens):
        return False
    url = current_app.config["PUBLIC_BASE_URL"] + request.full_path.rstrip("?")
    params = twilio_form().to_dict(flat=True)
    return any(token and RequestValidator(token).validate(url, params, signature)
               for token in tokens)


def twilio_form() -> MultiDict:
    """The POSTed parameters, bytes that are not UTF-8 read as U+FFFD: the text the
    signature is checked over and the view reads from.

    Werkzeug (3.x) keeps an undecodable percent-escape as the literal text "%FF" and
    drops the whole form for a raw undecodable byte; either way the signature, which
    Twilio computes over decoded text, fails and a caller's message would be refused.
    With replacement characters the message is kept and only the broken bytes are lost.
    """
    if "twilio_form" not in g:
        form = MultiDict()
        if request.mimetype == "application/x-www-form-urlencoded":
            text = request.get_data(cache=True).decode("utf-8", "replace")
            form = MultiDict(parse_qsl(text, keep_blank_values=True, errors="replace"))
        g.twilio_form = form
    return g.twilio_form


def empty_twiml() -> Response:
    return Response(str(MessagingResponse()), mimetype="application/xml")


@bp.post("/twilio/sms")
@twilio_signed
def inbound_sms():
    form = twilio_form()
    sid = form.get("MessageSid", "").strip()
    # Letters and digits only: a NUL in it could not be stored in PostgreSQL.
    if not sid or len(sid) > 64 or not (sid.isascii() and sid.isalnum()):
        abort(400, "MessageSid is missing or malformed")
    body = form.get("Body", "")
    number = parse_number(form.get("From"))
    vault = current_app.extensions["hotline.vault"]
    window = timedelta(hours=current_app.config["THREAD_WINDOW_HOURS"])
    now = current_app.extensions["hotline.clock"]()
    if current_app.config["ACK_REPLY_CODES"] and replies.handled(
            database.session(), current_app.config["SECRET_KEY"], number, body, now,
            request.remote_addr):
        return empty_twiml()  # an acknowledgement, not a tip
    try:
        received = intake.store_sms(database.session(), vault, provider="twilio",
                                    provider_id=sid, number=number, body=body,
                                    received_at=now,
                                    thread_window=window,
                                    remote_addr=request.remote_addr)
    except IntegrityError:
        log.error("sms not stored after three attempts")
        abort(503, "try again")
    if received.new_tip:
        dispatching.after_commit(received.tip.id)  # route it now
    elif not received.duplicate:
        after_joining(received.tip.id)  # judge the grown thread, which routes it again
    if received.duplicate:
        log.info("duplicate delivery of an SMS answered without storing")
    else:
        log.info("sms stored in %s from %s", received.tip.reference, mask(number))
    return empty_twiml()
