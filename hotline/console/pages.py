"""Console pages. The queue: open tips, most urgent and longest waiting first. The tip:
its thread with triage's reasons marked, its calls, dispatches and caller, and the forms to
claim it, change its status and override triage. A focal point sees only the tips
dispatched to their office, as the disclosure rules allow. Every listing and opening is
audited.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from routing import escalation
from routing.models import Dispatch

from .. import database, disclosures, dispatching, intake, tips
from ..models import (
    FUNCTIONS,
    OUTCOMES,
    TIP_STATUSES,
    URGENCIES,
    AuditEvent,
    Call,
    Tip,
    User,
)
from .highlight import pieces

bp = Blueprint("pages", __name__)
QUEUE_SIZE = 100
_MOST_URGENT_FIRST = case({"critical": 0, "high": 1, "medium": 2, "low": 3},
                          value=Tip.urgency, else_=4)


@bp.get("/")
@login_required
def queue():
    shown, holders = _open_tips()
    _audit_listing(shown)
    return render_template("console/queue.html", tips=shown, holders=holders,
                           waited=_waited())


@bp.get("/queue/rows")
@login_required
def queue_rows():
    """What the queue page polls every few seconds: the rows, or 304 Not Modified when
    nothing in them changed (a poll that finds nothing new is not audited)."""
    shown, holders = _open_tips()
    etag = _etag(shown, holders)
    if etag in request.if_none_match:
        response = current_app.response_class(status=304)
    else:
        _audit_listing(shown)
        response = current_app.make_response(render_template(
            "console/queue_rows.html", tips=shown, holders=holders, waited=_waited()))
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    g.private = False  # revalidated on every poll; never stored for others
    return response


def _open_tips():
    query = (select(Tip).where(Tip.status != "closed")
             .order_by(_MOST_URGENT_FIRST, Tip.created_at, Tip.id).limit(QUEUE_SIZE))
    if current_user.role == "focal_point":
        query = query.where(dispatching.to_office(current_user.office_code))
    db = database.session()
    found = db.scalars(query).all()
    return found, _emails(db, {t.claimed_by_id for t in found if t.claimed_by_id})


def _audit_listing(shown) -> None:
    db = database.session()
    db.add(AuditEvent(action="tip.list", user_id=current_user.id,
                      at=current_app.extensions["hotline.clock"](),
                      remote_addr=request.remote_addr,
                      detail={"references": [t.reference for t in shown], "page": "queue"}))
    db.commit()


def _etag(shown, holders) -> str:
    """Changes when a row would: a tip in or out, its verdict, status or holder, or a
    minute gone by (the waiting times), or the language."""
    now = current_app.extensions["hotline.clock"]()
    rows = [(t.reference, t.urgency, t.child_involved, t.functions, t.status,
             holders.get(t.claimed_by_id)) for t in shown]
    state = repr((rows, int(now.timestamp() // 60), str(get_locale())))
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def _waited():
    now = current_app.extensions["hotline.clock"]()
    return lambda tip: _minutes(now, tip.created_at)


def _emails(db, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())


def _minutes(now: datetime, since: datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


# -- one tip -------------------------------------------------------------------------------

STAFF = ("operator", "supervisor", "admin")


class StatusForm(FlaskForm):
    status = SelectField(choices=list(TIP_STATUSES))
    outcome = SelectField(choices=["", *OUTCOMES])


class OverrideForm(FlaskForm):
    urgency = SelectField(choices=list(URGENCIES))
    child_involved = BooleanField()
    functions = SelectMultipleField(choices=list(FUNCTIONS))
    reason = TextAreaField(validators=[DataRequired(), Length(max=tips.REASON_MAX)])


@bp.get("/tips/<reference>")
@login_required
def tip(reference: str):
    db = database.session()
    found = _tip_or_404(reference)
    now = current_app.extensions["hotline.clock"]()
    vault = current_app.extensions["hotline.vault"]
    if current_user.role not in STAFF:
        view = disclosures.office_view(db, vault, found, current_user, now)
        _audit("tip.read" if view else "tip.read_refused", found,
               basis=(view or {}).get("basis") or "minimum")
        db.commit()
        if view is None:
            abort(404)
        return render_template("console/tip_office.html", tip=found, view=view)
    dispatches = dispatching.dispatches_of(db, found.id)
    _audit("tip.read", found)
    db.commit()
    override = OverrideForm(urgency=found.urgency, child_involved=found.child_involved,
                            functions=found.functions)
    return render_template(
        "console/tip.html", tip=found, thread=_thread(found, vault), calls=found.calls,
        dispatches=[dispatching.describe(d) for d in dispatches],
        dispatch_status=dispatching.dispatch_status(dispatches),
        holder=_emails(db, {found.claimed_by_id} - {None}).get(found.claimed_by_id),
        status_form=StatusForm(status=found.status, outcome=found.outcome or ""),
        override_form=override, reasons=(found.triage or {}).get("reasons", []),
        statuses=TIP_STATUSES, outcomes=OUTCOMES, urgencies=URGENCIES, functions=FUNCTIONS,
        transcripts=[(c, vault.decrypt(c.transcript_encrypted))
                     for c in found.calls if c.transcript_encrypted],
        assignable=assignable(db) if current_user.role in ("supervisor", "admin") else [])


@bp.post("/tips/<reference>/claim")
@login_required
def claim(reference: str):
    found = _staff_tip(reference)
    holder = _emails(database.session(), {found.claimed_by_id} - {None}).get(
        found.claimed_by_id)
    if _change(lambda: tips.claim(found, current_user, holder)):
        _audit("tip.claim", found)
    return _back(found)


@bp.post("/tips/<reference>/status")
@login_required
def status(reference: str):
    found = _staff_tip(reference)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    now = current_app.extensions["hotline.clock"]()
    before = _change(lambda: tips.set_status(found, form.status.data, form.outcome.data or None,
                                             now))
    if before is not None:
        _audit("tip.status", found, before=list(before), after=[found.status, found.outcome])
    return _back(found)


@bp.post("/tips/<reference>/override")
@login_required
def override(reference: str):
    found = _staff_tip(reference)
    form = OverrideForm()
    if not form.validate_on_submit():
        flash(_("An override needs a reason (at most 2,000 characters)."), "error")
        return _back(found)
    wanted = {"urgency": form.urgency.data, "child_involved": form.child_involved.data,
              "functions": list(form.functions.data)}
    now = current_app.extensions["hotline.clock"]()
    changes = _change(lambda: tips.override(database.session(), found, current_user, wanted,
                                            form.reason.data, now))
    if changes is not None:
        _audit("tip.override", found, fields=sorted(changes))
        database.session().commit()
        dispatching.after_commit(found.id)  # the override re-routes
    return _back(found)


def _tip_or_404(reference: str, lock: bool = False) -> Tip:
    query = select(Tip).where(Tip.reference == reference)
    found = database.session().scalar(query.with_for_update() if lock else query)
    if found is None:
        abort(404)
    return found


def _staff_tip(reference: str) -> Tip:
    if current_user.role not in STAFF:
        abort(403)
    return _tip_or_404(reference, lock=True)


def _change(action):
    """Run a change from hotline.tips; its refusal is shown, nothing changed."""
    try:
        return action()
    except tips.TipError as error:
        database.session().rollback()
        flash(error.message, "error")
        return None


def _back(found: Tip):
    database.session().commit()
    return redirect(url_for("pages.tip", reference=found.reference))


def _audit(action: str, found: Tip | None, **detail) -> None:
    database.session().add(AuditEvent(
        action=action, tip=found, user_id=current_user.id,
        at=current_app.extensions["hotline.clock"](), remote_addr=request.remote_addr,
        detail=detail))


def _thread(found: Tip, vault) -> list[dict]:
    """Each inbound message with triage's reasons marked, where the latest run judged
    it (a message that came after that run is shown plain until the re-run)."""
    judged = {}
    if found.triage_runs:
        judged = {message_id: start for message_id, start
                  in found.triage_runs[-1].message_offsets}
    reasons = (found.triage or {}).get("reasons", [])
    thread = []
    for message in found.messages:
        body = vault.decrypt(message.body_encrypted)
        start = judged.get(message.id)
        thread.append({"message": message, "pieces": pieces(body, reasons, start)
                       if start is not None and message.direction == "in" else [(body, [])]})
    return thread


# -- a new tip, an assignment, my call ----------------------------------------------------------

MY_CALL_WITHIN = timedelta(hours=2)


class NewTipForm(FlaskForm):
    channel = SelectField(choices=list(intake.ENTERED_CHANNELS))
    text = TextAreaField(validators=[DataRequired(), Length(max=20_000)])
    sender = StringField(validators=[Optional(), Length(max=64)])


class AssignForm(FlaskForm):
    user = SelectField(validate_choice=False)


@bp.route("/tips/new", methods=["GET", "POST"])
@login_required
def new_tip():
    """A walk-in, an email or a call on another line, entered by an operator."""
    if current_user.role not in STAFF:
        abort(403)
    form = NewTipForm()
    if not form.validate_on_submit():
        status = 400 if form.errors else 200
        return render_template("console/new_tip.html", form=form,
                               channels=intake.ENTERED_CHANNELS), status
    db = database.session()
    entered = intake.enter_tip(db, current_app.extensions["hotline.vault"],
                               channel=form.channel.data, text=form.text.data,
                               sender=form.sender.data or None,
                               received_at=current_app.extensions["hotline.clock"](),
                               created_by_id=current_user.id)
    _audit("tip.create", entered, channel=form.channel.data)
    db.commit()
    dispatching.after_commit(entered.id)
    return redirect(url_for("pages.tip", reference=entered.reference))


@bp.post("/tips/<reference>/assign")
@login_required
def assign(reference: str):
    """A supervisor gives the tip to an operator or supervisor, or frees it."""
    if current_user.role not in ("supervisor", "admin"):
        abort(403)
    found = _tip_or_404(reference, lock=True)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    db = database.session()
    assignee = None
    if form.user.data:
        assignee = db.scalar(select(User).where(User.email == form.user.data))
        if assignee is None:
            flash(_("No such user."), "error")
            return _back(found)
    before = _emails(db, {found.claimed_by_id} - {None}).get(found.claimed_by_id)
    try:
        tips.assign(found, assignee)
    except tips.TipError as error:
        db.rollback()
        flash(error.message, "error")
        return _back(found)
    _audit("tip.assigned", found, **{"from": before, "to": assignee.email if assignee else None})
    return _back(found)


@bp.get("/my-call")
@login_required
def my_call():
    """The tip of the call this operator answered last (within two hours)."""
    now = current_app.extensions["hotline.clock"]()
    reference = database.session().scalar(
        select(Tip.reference).join(Call, Call.tip_id == Tip.id)
        .where(Call.answered_by_id == current_user.id,
               Call.answered_at >= now - MY_CALL_WITHIN)
        .order_by(Call.answered_at.desc()).limit(1))
    if reference is None:
        flash(_("You have not answered a call in the last two hours."), "info")
        return redirect(url_for("pages.queue"))
    return redirect(url_for("pages.tip", reference=reference))


def assignable(db) -> list[str]:
    return list(db.scalars(select(User.email).where(
        User.active, User.role.in_(tips.ASSIGNABLE_ROLES)).order_by(User.email)))


# -- the office's answers ------------------------------------------------------------------------


class AnswerForm(FlaskForm):
    text = TextAreaField(validators=[Optional(), Length(max=2_000)])


@bp.post("/dispatches/<int:dispatch_id>/<answer>")
@login_required
def answer(dispatch_id: int, answer: str):
    """The office's focal point acknowledges, records an outcome, or answers "not our
    office" with a reason (the tip goes back to the operators); a supervisor may
    acknowledge or close on the office's behalf."""
    if answer not in ("acknowledge", "outcome", "decline"):
        abort(404)
    db = database.session()
    dispatch = db.get(Dispatch, dispatch_id, with_for_update=True)
    focal = current_user.role == "focal_point"
    if dispatch is None or (focal and dispatch.office.code != current_user.office_code):
        abort(404)
    if not focal and (current_user.role not in ("supervisor", "admin") or answer == "decline"):
        abort(403)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    text = (form.text.data or "").strip()
    found = db.get(Tip, dispatch.tip_id) if dispatch.tip_id else None
    back = redirect(url_for("pages.tip", reference=found.reference) if found
                    else url_for("pages.queue"))
    if answer != "acknowledge" and not text:
        flash(_("Write the outcome or the reason."), "error")
        return back
    now = current_app.extensions["hotline.clock"]()
    via = "console" if focal else "supervisor"
    try:
        if answer == "acknowledge":
            escalation.acknowledge(db, dispatch, current_user.email, via, now)
        elif answer == "outcome":
            escalation.close(db, dispatch, text, current_user.email, now)
        else:
            escalation.cancel(db, dispatch, text, current_user.email, now, declined=True)
    except escalation.DispatchStateError as error:
        db.rollback()
        flash(str(error), "error")
        return back
    _audit({"acknowledge": "dispatch.acknowledged", "outcome": "dispatch.closed",
            "decline": "dispatch.declined"}[answer], found, dispatch=dispatch.id, via=via)
    db.commit()
    return back


# -- the audit log ------------------------------------------------------------------------------

AUDIT_PAGE = 100
AUDIT_ROLES = ("supervisor", "admin")


@bp.get("/audit")
@login_required
def audit_log():
    """Who did what, when, from where: newest first, filtered, a page at a time (`before`
    is the last id shown); `?format=csv` downloads what the filters select. Viewing it is
    audited too."""
    if current_user.role not in AUDIT_ROLES:
        abort(403)
    db = database.session()
    query = _audit_query(request.args)
    if request.args.get("format") == "csv":
        rows = db.execute(query.limit(50_000)).all()
        _audit("audit.export", None, rows=len(rows), filters=dict(request.args))
        db.commit()
        return _csv(rows)
    before = request.args.get("before", "")
    if before.isdigit():
        query = query.where(AuditEvent.id < int(before))
    rows = db.execute(query.limit(AUDIT_PAGE + 1)).all()
    page, more = rows[:AUDIT_PAGE], len(rows) > AUDIT_PAGE
    _audit("audit.read", None, filters=dict(request.args))
    db.commit()
    return render_template("console/audit.html", rows=page,
                           next_before=page[-1].AuditEvent.id if more else None,
                           args=request.args)


def _audit_query(args):
    query = (select(AuditEvent, User.email, Tip.reference)
             .outerjoin(User, User.id == AuditEvent.user_id)
             .outerjoin(Tip, Tip.id == AuditEvent.tip_id)
             .order_by(AuditEvent.id.desc()))
    if args.get("action"):
        query = query.where(AuditEvent.action == args["action"][:64])
    if args.get("reference"):
        query = query.where(Tip.reference == args["reference"].strip()[:24])
    if args.get("user"):
        query = query.where(User.email == args["user"].strip().lower()[:254])
    return query


def _csv(rows):
    import csv
    import io
    import json

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "user", "action", "tip", "from", "detail"])
    for event, email, reference in rows:
        writer.writerow([_cell(value) for value in (
            event.id, event.at.isoformat(), email or "", event.action, reference or "",
            event.remote_addr or "", json.dumps(event.detail, ensure_ascii=False))])
    return current_app.response_class(
        out.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"})


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
