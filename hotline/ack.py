"""The acknowledgement page an alert's link opens: `GET /a/<token>` shows the dispatch
(reference, urgency, child flag, function: never the story) and one confirm button;
`POST` acknowledges. Link scanners and message previews only GET, so they cannot
acknowledge by accident. No account is needed: the signed link is the credential, one
per dispatch and recipient, valid until the dispatch closes and at most seven days. A
used link shows who acknowledged and when.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request

from routing import acklinks, escalation, templates
from routing.models import Dispatch, Person

from . import database
from .models import AuditEvent

bp = Blueprint("ack", __name__)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# The page loads nothing but its own stylesheet and posts only to itself.
POLICY = ("default-src 'none'; style-src 'self'; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'")


@bp.route("/a/<token>", methods=["GET", "POST"])
def acknowledge(token: str):
    db = database.session()
    now = current_app.extensions["hotline.clock"]()
    target = acklinks.read(current_app.config["SECRET_KEY"], token)
    dispatch = db.get(Dispatch, target.dispatch_id, with_for_update=request.method == "POST") \
        if target else None
    person = db.get(Person, target.person_id) if target else None
    if dispatch is None or person is None:
        return _page("invalid", None, 404)
    if acklinks.expired(dispatch.created_at, now) and dispatch.state == "pending":
        return _page("expired", dispatch, 410)
    if request.method == "POST" and dispatch.state == "pending":
        by = f"{person.name} ({person.code})"
        escalation.acknowledge(db, dispatch, by, "link", now)
        db.add(AuditEvent(action="dispatch.acknowledged", tip_id=dispatch.tip_id, at=now,
                          remote_addr=request.remote_addr,
                          detail={"dispatch": dispatch.id, "via": "link", "by": person.code}))
        db.commit()
    state = {"pending": "pending", "cancelled": "cancelled"}.get(dispatch.state, "done")
    return _page(state, dispatch, 200)


def _page(state: str, dispatch: Dispatch | None, status: int):
    words = templates.packaged().words["vi"]
    html = render_template("ack.html", state=state, dispatch=dispatch, words=words,
                           sent_at=_local(dispatch.created_at) if dispatch else "",
                           acknowledged_at=_local(dispatch.acknowledged_at)
                           if dispatch and dispatch.acknowledged_at else "")
    return html, status, {"Content-Security-Policy": POLICY, "Cache-Control": "no-store",
                          "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _local(at) -> str:
    return at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
