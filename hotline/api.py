"""The JSON API under /api: tips for operators' tools and other systems.

Bearer tokens (`hotline token create`) act with their user's role. Every read and change
writes an audit event; a listing writes one event naming the references it returned.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, g, jsonify, request
from sqlalchemy import String, cast, select
from werkzeug.exceptions import HTTPException

from . import database, disclosures, dispatching, intake, tips
from .accounts import AccountError, normalise_email, token_hash
from .inputs import aware_time, json_object, one_of, whole
from .models import (
    FUNCTIONS,
    TIP_STATUSES,
    URGENCIES,
    ApiToken,
    AuditEvent,
    Call,
    Tip,
    User,
)
from .phones import mask, parse_number

bp = Blueprint("api", __name__, url_prefix="/api")
PAGE_DEFAULT, PAGE_MAX = 50, 200
API_ROLES = ("operator", "supervisor", "admin", "focal_point")
STAFF_ROLES = ("operator", "supervisor", "admin")  # the hotline's own people
ASSIGNING_ROLES = ("supervisor", "admin")


@bp.errorhandler(HTTPException)
def json_error(error: HTTPException):
    return jsonify(error=error.description), error.code


@bp.before_request
def authenticate() -> None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401, "send Authorization: Bearer <token>")
    db = database.session()
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret.strip()),
                                             ApiToken.revoked_at.is_(None)))
    if token is None or not token.user.active:
        abort(401, "unknown or revoked token")
    if token.user.role not in API_ROLES:
        abort(403, "this token's role may not use the tip API")
    token.last_used_at = now()
    db.commit()
    g.user = db.get(User, token.user_id)


def now() -> datetime:
    return current_app.extensions["hotline.clock"]()


def audit(action: str, tip: Tip | None = None, **detail) -> None:
    database.session().add(AuditEvent(action=action, tip=tip, user_id=g.user.id, at=now(),
                                      remote_addr=request.remote_addr, detail=detail))


def tip_or_404(reference: str, lock: bool = False) -> Tip:
    """`lock`: hold the tip's row until commit (PostgreSQL), so that of two requests
    changing who holds a tip the second waits and then sees what the first did."""
    query = select(Tip).where(Tip.reference == reference)
    tip = database.session().scalar(query.with_for_update() if lock else query)
    if tip is None:
        abort(404, f"no tip {reference}")
    return tip


def _staff_only() -> None:
    if g.user.role not in STAFF_ROLES:
        abort(403, "focal points read the tips dispatched to their office and act on their "
                   "dispatches; the hotline's staff work the tips")


def _summary(tip: Tip) -> dict:
    return {
        "reference": tip.reference, "status": tip.status, "outcome": tip.outcome,
        "channel": tip.channel, "created_at": tip.created_at.isoformat(),
        "last_activity_at": tip.last_activity_at.isoformat(), "urgency": tip.urgency,
        "child_involved": tip.child_involved, "functions": tip.functions,
        "overridden": tip.overridden, "claimed_by": _email(tip.claimed_by_id),
        "routed_at": tip.routed_at.isoformat() if tip.routed_at else None,
    }


def _email(user_id: int | None) -> str | None:
    return database.session().get(User, user_id).email if user_id else None


# -- reading -------------------------------------------------------------------------


@bp.get("/tips")
def list_tips():
    """Newest first; `after` is the `next` cursor of the previous page."""
    query = select(Tip).order_by(Tip.id.desc())
    if g.user.role == "focal_point":
        query = query.where(dispatching.to_office(g.user.office_code))
    args = request.args
    if "status" in args:
        query = query.where(Tip.status == one_of("status", args["status"], TIP_STATUSES))
    if "urgency" in args:
        query = query.where(Tip.urgency == one_of("urgency", args["urgency"], URGENCIES))
    if "child" in args:
        child = one_of("child", args["child"].lower(), ("true", "false")) == "true"
        query = query.where(Tip.child_involved.is_(child))
    if "function" in args:
        function = one_of("function", args["function"], FUNCTIONS)
        # the names are a closed set, so the quoted name matches exactly in the JSON text
        query = query.where(cast(Tip.functions, String).like(f'%"{function}"%'))
    if "since" in args:
        query = query.where(Tip.created_at >= aware_time("since", args["since"]))
    if "after" in args:
        query = query.where(Tip.id < whole("after", args["after"], 1, None))
    limit = whole("limit", args.get("limit", str(PAGE_DEFAULT)), 1, PAGE_MAX)
    tips = database.session().scalars(query.limit(limit + 1)).all()
    page, more = tips[:limit], len(tips) > limit
    audit("tip.list", references=[t.reference for t in page])
    database.session().commit()
    shown = _summary if g.user.role in STAFF_ROLES else disclosures.office_summary
    return jsonify(tips=[shown(t) for t in page], next=page[-1].id if more else None)


@bp.get("/tips/<reference>")
def get_tip(reference: str):
    tip = tip_or_404(reference)
    if g.user.role == "focal_point":
        return _office_view(tip)
    vault = current_app.extensions["hotline.vault"]
    caller = tip.caller
    dispatches = dispatching.dispatches_of(database.session(), tip.id)
    detail = _summary(tip) | {
        "triage": tip.triage, "rules_version": tip.rules_version,
        "messages": [{"direction": m.direction, "received_at": m.received_at.isoformat(),
                      "body": vault.decrypt(m.body_encrypted), "too_long": m.too_long}
                     for m in tip.messages],
        "calls": [_call_detail(call, vault) for call in tip.calls],
        "dispatch_status": dispatching.dispatch_status(dispatches),
        "dispatches": [dispatching.describe(d) for d in dispatches],
        "triage_runs": [{"at": run.ran_at.isoformat(), "rules_version": run.rules_version,
                         "urgency": run.result.get("urgency"), "score": run.result.get("score")}
                        for run in tip.triage_runs],
        "overrides": [{"at": o.created_at.isoformat(), "by": _email(o.user_id),
                       "reason": o.reason, "changes": o.changes} for o in tip.overrides],
        "caller": None if caller is None else {
            "number": mask(parse_number(vault.decrypt(caller.number_encrypted)))
            if caller.number_encrypted else "(withheld)",
            "country": caller.country, "safe_to_call": caller.safe_to_call,
            "safe_to_text": caller.safe_to_text, "safe_hours": caller.safe_hours,
            "phone_shared": caller.phone_shared,
            "consent": {f: getattr(caller, f"consent_{f}") for f in FUNCTIONS},
        },
    }
    audit("tip.read", tip)
    database.session().commit()
    return jsonify(detail)


def _office_view(tip: Tip):
    """A tip dispatched to the focal point's office, as the disclosure rules allow; any
    other tip is a 404 (and the attempt is audited)."""
    db = database.session()
    view = disclosures.office_view(db, current_app.extensions["hotline.vault"], tip, g.user,
                                   now())
    if view is None:
        audit("tip.read_refused", tip, office=g.user.office_code)
        db.commit()
        abort(404, f"no tip {tip.reference}")
    audit("tip.read", tip, basis=view["basis"] or "minimum")
    db.commit()
    return jsonify(view)


def _call_detail(call: Call, vault) -> dict:
    def at(value):
        return value.isoformat() if value else None

    return {
        "call_sid": call.call_sid, "status": call.status, "ivr_choice": call.ivr_choice,
        "started_at": at(call.started_at), "ended_at": at(call.ended_at),
        "duration_seconds": call.duration_seconds, "queue_result": call.queue_result,
        "queue_seconds": call.queue_seconds, "answered_by": _email(call.answered_by_id),
        "answered_at": at(call.answered_at),
        "transcript": vault.decrypt(call.transcript_encrypted)
        if call.transcript_encrypted else None,
        "recordings": [{"kind": r.kind, "status": r.status,
                        "duration_seconds": r.duration_seconds,
                        "url": vault.decrypt(r.url_encrypted) if r.url_encrypted else None}
                       for r in call.recordings],
    }


# -- changing --------------------------------------------------------------------------


TEXT_MAX = 20_000


@bp.post("/tips")
def create_tip():
    """A tip an operator enters: a walk-in, an email, a call on another line."""
    _staff_only()
    body = json_object()
    channel = one_of("channel", body.get("channel"), intake.ENTERED_CHANNELS)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        abort(400, "text is required: what the person reported")
    if len(text) > TEXT_MAX:
        abort(400, f"text is longer than {TEXT_MAX} characters")
    sender = body.get("from")
    if sender is not None and not isinstance(sender, str):
        abort(400, "from must be a string")
    received_at = aware_time("received_at", body["received_at"]) \
        if body.get("received_at") is not None else now()
    db = database.session()
    tip = intake.enter_tip(db, current_app.extensions["hotline.vault"], channel=channel,
                           text=text, sender=sender, received_at=received_at,
                           created_by_id=g.user.id)
    audit("tip.create", tip, channel=channel)
    db.commit()
    dispatching.after_commit(tip.id)
    return jsonify(_summary(tip)), 201


@bp.post("/tips/<reference>/claim")
def claim_tip(reference: str):
    """The caller takes an unclaimed tip; claiming one's own tip again changes nothing.
    A tip someone else holds is refused: only a supervisor moves it (assign)."""
    _staff_only()
    tip = tip_or_404(reference, lock=True)
    _apply(lambda: tips.claim(tip, g.user, _email(tip.claimed_by_id)))
    audit("tip.claim", tip)
    database.session().commit()
    return jsonify(_summary(tip))


@bp.post("/tips/<reference>/assign")
def assign_tip(reference: str):
    """A supervisor gives a tip to an operator or supervisor, or (`user: null`) frees it."""
    _staff_only()
    if g.user.role not in ASSIGNING_ROLES:
        abort(403, "only supervisors and admins may assign tips; operators claim them")
    body = json_object()
    if "user" not in body:
        abort(400, "user is required: the assignee's email, or null to unassign")
    assignee = _assignee(body["user"])
    tip = tip_or_404(reference, lock=True)
    before = _email(tip.claimed_by_id)
    _apply(lambda: tips.assign(tip, assignee))
    audit("tip.assigned", tip, **{"from": before, "to": assignee.email if assignee else None})
    database.session().commit()
    return jsonify(_summary(tip))


def _assignee(email: object) -> User | None:
    """The active operator or supervisor `email` names; None for null (unassign)."""
    if email is None:
        return None
    if not isinstance(email, str):
        abort(400, "user must be an email address or null")
    try:
        email = normalise_email(email)
    except AccountError as error:
        abort(400, str(error))
    user = database.session().scalar(select(User).where(User.email == email))
    if user is None:
        abort(400, f"no user {email}")
    if not user.active:
        abort(400, f"{email} is not active")
    if user.role not in tips.ASSIGNABLE_ROLES:
        abort(400, f"{email} has the role {user.role}; tips go to an operator or supervisor")
    return user


@bp.post("/tips/<reference>/status")
def set_status(reference: str):
    _staff_only()
    body = json_object()
    tip = tip_or_404(reference)
    status, outcome = body.get("status"), body.get("outcome")
    before = _apply(lambda: tips.set_status(tip, status, outcome, now()))
    audit("tip.status", tip, before=list(before), after=[tip.status, tip.outcome])
    database.session().commit()
    return jsonify(_summary(tip))


@bp.post("/tips/<reference>/override")
def override_triage(reference: str):
    _staff_only()
    body = json_object()
    tip = tip_or_404(reference)
    wanted = {k: body[k] for k in ("urgency", "child_involved", "functions") if k in body}
    changes = _apply(lambda: tips.override(database.session(), tip, g.user, wanted,
                                           body.get("reason"), now()))
    audit("tip.override", tip, fields=sorted(changes))
    database.session().commit()
    dispatching.after_commit(tip.id)  # the override re-routes
    return jsonify(_summary(tip))


def _apply(change):
    """Run a change from hotline.tips; its refusal becomes the HTTP answer."""
    try:
        return change()
    except tips.TipError as error:
        abort(error.status, error.message)
