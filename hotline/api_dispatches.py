"""The JSON API for dispatches: what each says, and what people do with them.

Operators and supervisors add, cancel and reroute dispatches; an office's focal point
acknowledges, records an outcome or answers "not our office" (which puts the tip back in
the operators' queue with the reason); a supervisor may acknowledge or close on an
office's behalf, recorded as such. Every change is audited on the tip.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from routing import escalation
from routing.models import FUNCTIONS, Dispatch, Office
from routing.route import add_dispatch, day_in_vietnam, raise_urgency

from . import api, database
from .dispatching import describe, facts_for
from .inputs import json_object, one_of
from .models import Tip

bp = Blueprint("api_dispatches", __name__, url_prefix="/api")
bp.before_request(api.authenticate)
bp.register_error_handler(HTTPException, api.json_error)
WORKING_ROLES = ("operator", "supervisor", "admin")
SUPERVISING_ROLES = ("supervisor", "admin")
TEXT_MAX = 2_000


# -- operators and supervisors -------------------------------------------------------------


@bp.post("/tips/<reference>/dispatches")
def add(reference: str):
    """An operator sends the tip to one more office (a low tip's runs the medium policy)."""
    _require(WORKING_ROLES, "only operators and supervisors add dispatches")
    body = json_object()
    function = one_of("function", body.get("function"), FUNCTIONS)
    reason = _text(body, "reason")
    tip = api.tip_or_404(reference, lock=True)
    office = _office(body.get("office"))
    db = database.session()
    dispatch = add_dispatch(db, facts_for(tip), function, office, api.now(), g.user.email)
    if dispatch is None:
        abort(409, f"{reference} is dispatched to {office.code} for {function} already")
    api.audit("dispatch.added", tip, dispatch=dispatch.id, office=office.code,
              function=function, reason=reason)
    db.commit()
    return jsonify(describe(dispatch)), 201


@bp.post("/dispatches/<int:dispatch_id>/cancel")
def cancel(dispatch_id: int):
    _require(WORKING_ROLES, "only operators and supervisors cancel dispatches")
    reason = _text(json_object(), "reason")
    dispatch, tip = _dispatch(dispatch_id)
    _change(lambda: escalation.cancel(database.session(), dispatch, reason, g.user.email,
                                      api.now()))
    api.audit("dispatch.cancelled", tip, dispatch=dispatch.id, reason=reason)
    database.session().commit()
    return jsonify(describe(dispatch))


@bp.post("/dispatches/<int:dispatch_id>/reroute")
def reroute(dispatch_id: int):
    """Send an open dispatch's function to another office instead."""
    _require(WORKING_ROLES, "only operators and supervisors reroute dispatches")
    body = json_object()
    reason = _text(body, "reason")
    dispatch, tip = _dispatch(dispatch_id)
    office = _office(body.get("office"))
    if office.id == dispatch.office_id:
        abort(400, f"the dispatch is with {office.code} already")
    db = database.session()
    _change(lambda: escalation.cancel(db, dispatch, f"rerouted to {office.code}: {reason}",
                                      g.user.email, api.now()))
    moved = add_dispatch(db, facts_for(tip), dispatch.function, office, api.now(),
                         g.user.email)
    if moved is None:
        abort(409, f"{tip.reference} is dispatched to {office.code} for "
                   f"{dispatch.function} already")
    raise_urgency(moved, dispatch.urgency, dispatch.policy)  # keep a stricter policy
    api.audit("dispatch.rerouted", tip, dispatch=dispatch.id, to_dispatch=moved.id,
              office=office.code, reason=reason)
    db.commit()
    return jsonify(describe(moved)), 201


# -- the office (or a supervisor on its behalf) ---------------------------------------------


@bp.post("/dispatches/<int:dispatch_id>/acknowledge")
def acknowledge(dispatch_id: int):
    dispatch, tip = _dispatch(dispatch_id)
    via = _office_or_supervisor(dispatch)
    changed = _change(lambda: escalation.acknowledge(database.session(), dispatch,
                                                     g.user.email, via, api.now()))
    if changed:
        api.audit("dispatch.acknowledged", tip, dispatch=dispatch.id, via=via)
    database.session().commit()
    return jsonify(describe(dispatch))


@bp.post("/dispatches/<int:dispatch_id>/outcome")
def outcome(dispatch_id: int):
    text = _text(json_object(), "outcome")
    dispatch, tip = _dispatch(dispatch_id)
    via = _office_or_supervisor(dispatch)
    _change(lambda: escalation.close(database.session(), dispatch, text, g.user.email,
                                     api.now()))
    api.audit("dispatch.closed", tip, dispatch=dispatch.id, via=via)
    database.session().commit()
    return jsonify(describe(dispatch))


@bp.post("/dispatches/<int:dispatch_id>/decline")
def decline(dispatch_id: int):
    """"Not our office": the tip goes back to the operators' queue with the reason."""
    reason = _text(json_object(), "reason")
    dispatch, tip = _dispatch(dispatch_id)
    if g.user.role != "focal_point":
        abort(403, "only the office's focal point answers \"not our office\"; "
                   "operators cancel or reroute")
    _office_or_supervisor(dispatch)
    _change(lambda: escalation.cancel(database.session(), dispatch, reason, g.user.email,
                                      api.now(), declined=True))
    api.audit("dispatch.declined", tip, dispatch=dispatch.id, reason=reason)
    database.session().commit()
    return jsonify(describe(dispatch))


# -- helpers -------------------------------------------------------------------------------


def _require(roles: tuple[str, ...], message: str) -> None:
    if g.user.role not in roles:
        abort(403, message)


def _dispatch(dispatch_id: int) -> tuple[Dispatch, Tip]:
    """The dispatch, locked; a focal point asking for another office's answers 404."""
    db = database.session()
    dispatch = db.get(Dispatch, dispatch_id, with_for_update=True)
    if dispatch is None or (g.user.role == "focal_point"
                            and dispatch.office.code != g.user.office_code):
        abort(404, f"no dispatch {dispatch_id}")
    return dispatch, db.get(Tip, dispatch.tip_id)


def _office_or_supervisor(dispatch: Dispatch) -> str:
    """How the user acts on the office's dispatch: as its focal point, or as a supervisor
    on its behalf."""
    if g.user.role == "focal_point":
        return "api"
    if g.user.role in SUPERVISING_ROLES:
        return "supervisor"
    abort(403, "only the office's focal point or a supervisor may do this")


def _office(code: object) -> Office:
    if not isinstance(code, str) or not code.strip():
        abort(400, "office must be an office code")
    office = database.session().scalar(select(Office).where(Office.code == code.strip()))
    today = day_in_vietnam(api.now())
    if office is None or office.valid_from > today or (
            office.valid_to is not None and office.valid_to <= today):
        abort(400, f"no office {code.strip()} in the directory today")
    return office


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        abort(400, f"{name} is required")
    if len(value) > TEXT_MAX:
        abort(400, f"{name} must be at most {TEXT_MAX} characters")
    return value.strip()


def _change(action):
    try:
        return action()
    except escalation.DispatchStateError as error:
        abort(409, str(error))
