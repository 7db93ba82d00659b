"""Console pages. The queue: open tips, most urgent and longest waiting first; a focal
point sees only the tips dispatched to their office. Each listing is audited with the
references it showed.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import case, select

from .. import database, dispatching
from ..models import AuditEvent, Tip, User

bp = Blueprint("pages", __name__)
QUEUE_SIZE = 100
_MOST_URGENT_FIRST = case({"critical": 0, "high": 1, "medium": 2, "low": 3},
                          value=Tip.urgency, else_=4)


@bp.get("/")
@login_required
def queue():
    now = current_app.extensions["hotline.clock"]()
    query = (select(Tip).where(Tip.status != "closed")
             .order_by(_MOST_URGENT_FIRST, Tip.created_at, Tip.id).limit(QUEUE_SIZE))
    if current_user.role == "focal_point":
        query = query.where(dispatching.to_office(current_user.office_code))
    db = database.session()
    tips = db.scalars(query).all()
    holders = _emails(db, {t.claimed_by_id for t in tips if t.claimed_by_id})
    db.add(AuditEvent(action="tip.list", user_id=current_user.id, at=now,
                      remote_addr=request.remote_addr,
                      detail={"references": [t.reference for t in tips], "page": "queue"}))
    db.commit()
    return render_template("console/queue.html", tips=tips, holders=holders,
                           waited=lambda tip: _minutes(now, tip.created_at))


def _emails(db, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(db.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())


def _minutes(now: datetime, since: datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))
