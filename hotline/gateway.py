"""`POST /intake/sms`: SMS to the short code 111 from a carrier's or aggregator's gateway.

Twilio cannot receive SMS on Vietnamese numbers, so a gateway posts JSON
`{message_id, from, to, text, received_at}` with `X-Hotline-Gateway: NAME` and
`X-Hotline-Signature: t=UNIX,v1=HEX`, HEX being HMAC-SHA256 of `t + "." + body` under
that gateway's secret (HOTLINE_GATEWAYS="name=secret;other=secret"). A signature more
than five minutes from our clock is refused, so a captured request cannot be replayed
later; a replay within the window is a redelivery, which stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError

from . import database, dispatching, intake, replies
from .inputs import aware_time, json_object
from .phones import mask, parse_number
from .retriage import after_joining

bp = Blueprint("gateway", __name__)
log = logging.getLogger(__name__)
MAX_SKEW_SECONDS = 300


def parse_gateways(value: str) -> dict[str, str]:
    """"name=secret;other=secret" → {name: secret}; malformed parts are an error."""
    gateways = {}
    for part in filter(None, (p.strip() for p in value.split(";"))):
        name, equals, secret = part.partition("=")
        if not equals or not name.strip() or len(secret.strip()) < 16:
            raise ValueError("HOTLINE_GATEWAYS: each gateway is name=secret, the secret "
                             "at least 16 characters")
        gateways[name.strip()] = secret.strip()
    return gateways


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Hotline-Signature a gateway sends (also for its operators' tests)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _signature_valid(secret: str, header: str, body: bytes, now: datetime) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now.timestamp() - timestamp) > MAX_SKEW_SECONDS:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


@bp.post("/intake/sms")
def gateway_sms():
    now = current_app.extensions["hotline.clock"]()
    name = request.headers.get("X-Hotline-Gateway", "")
    secret = current_app.config["HOTLINE_GATEWAYS"].get(name)
    body = request.get_data(cache=True)
    if secret is None or not _signature_valid(
            secret, request.headers.get("X-Hotline-Signature", ""), body, now):
        log.warning("refused /intake/sms: unknown gateway, bad or stale signature")
        abort(403, "invalid or stale gateway signature")
    payload = json_object()
    message_id, text = payload.get("message_id"), payload.get("text")
    # An id is printable text; a NUL in it would even fail to store in PostgreSQL (500).
    if not isinstance(message_id, str) or not message_id.strip() or len(message_id) > 64 \
            or not message_id.isprintable():
        abort(400, "message_id must be a string of 1 to 64 printable characters")
    if not isinstance(text, str):
        abort(400, "text must be a string")
    sender = payload.get("from")
    if sender is not None and not isinstance(sender, str):
        abort(400, "from must be a string")
    received_at = now if payload.get("received_at") is None \
        else aware_time("received_at", payload["received_at"])
    number = parse_number(sender)
    if current_app.config["ACK_REPLY_CODES"] and replies.handled(
            database.session(), current_app.config["SECRET_KEY"], number, text, now,
            request.remote_addr):
        return jsonify(reference=None, duplicate=False, acknowledgement=True)
    try:
        received = intake.store_sms(
            database.session(), current_app.extensions["hotline.vault"],
            provider=f"gateway:{name}"[:64], provider_id=message_id.strip(), number=number,
            body=text, received_at=received_at,
            thread_window=timedelta(hours=current_app.config["THREAD_WINDOW_HOURS"]),
            remote_addr=request.remote_addr)
    except IntegrityError:
        abort(503, "try again")
    if received.new_tip:
        dispatching.after_commit(received.tip.id)  # route it now
    elif not received.duplicate:
        after_joining(received.tip.id)  # judge the grown thread, which routes it again
    if not received.duplicate:
        log.info("gateway sms stored in %s from %s", received.tip.reference, mask(number))
    return jsonify(reference=received.tip.reference, duplicate=received.duplicate)
