"""Which offices a tip goes to, and the dispatches that send it there.

Routing is handed the facts of a tip (``TipFacts``) by the hotline and never reaches into
it. Per function, a tip goes to the office holding it for the tip's first province, for
each of its countries, and for the sea when it happened at sea; where such a place has
no office (or the tip names no place), to the national office; a critical tip goes to
the national office as well.
Where a child is involved, offices that hold the function for children only (child
protection beside victim support) are added the same way. One dispatch per (function,
office); routing the same facts again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import policies
from .models import Dispatch, Office, OfficeFunction

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
OPEN_STATES = ("pending", "acknowledged")


@dataclass(frozen=True)
class TipFacts:
    """What routing needs to know of a tip: the verdict in force (triage's, or the
    operator's override) and where it happened."""

    tip_id: int
    reference: str
    urgency: str
    child_involved: bool
    functions: tuple[str, ...]
    provinces: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    at_sea: bool = False


@dataclass(frozen=True)
class Routed:
    created: tuple[Dispatch, ...]
    raised: tuple[Dispatch, ...]  # open dispatches moved to a stricter policy


def day_in_vietnam(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


def offices_for(db: Session, facts: TipFacts, on: date) -> list[tuple[str, Office]]:
    """(function, office) pairs for the facts, on a day, without repeats."""
    chosen: dict[tuple[str, int], tuple[str, Office]] = {}
    for function in facts.functions:
        for children_only in (False, True) if facts.child_involved else (False,):
            for office in _offices(db, facts, function, on, children_only):
                chosen.setdefault((function, office.id), (function, office))
    return list(chosen.values())


def route(db: Session, facts: TipFacts, now: datetime) -> Routed:
    """Create the dispatches the facts call for, and move open ones to a stricter policy
    when the urgency rose. Low tips dispatch nothing; nothing is ever loosened or
    cancelled here (an operator does that)."""
    if facts.urgency == "low":
        return Routed((), ())
    policy = policies.current(db, facts.urgency)
    created = [dispatch for function, office in offices_for(db, facts, day_in_vietnam(now))
               if (dispatch := _add(db, facts, function, office, policy, now)) is not None]
    open_now = _open(db, facts.tip_id)
    for dispatch in open_now:  # a child found later is said in the alerts still to come
        dispatch.child_involved = dispatch.child_involved or facts.child_involved
    raised = [d for d in open_now if raise_urgency(d, facts.urgency, policy)]
    return Routed(tuple(created), tuple(raised))


def add_dispatch(db: Session, facts: TipFacts, function: str, office: Office, now: datetime,
                 created_by: str) -> Dispatch | None:
    """A dispatch an operator adds by hand; on a low tip it runs the medium policy."""
    urgency = "medium" if facts.urgency == "low" else facts.urgency
    dispatch = _add(db, facts, function, office, policies.current(db, urgency), now,
                    urgency=urgency)
    if dispatch is not None:
        dispatch.created_by = created_by
    return dispatch


def raise_urgency(dispatch: Dispatch, urgency: str, policy: dict) -> bool:
    """Move an open dispatch to a stricter policy at its current step: its next action
    becomes due at the earlier of its current due time and the dispatch time plus the
    stricter policy's offset for that step."""
    if dispatch.state != "pending" or not policies.stricter(dispatch.urgency, urgency):
        return False
    dispatch.urgency, dispatch.policy = urgency, policy
    stricter_due = policies.due_at(policy, dispatch.step, dispatch.created_at)
    if stricter_due is not None and (dispatch.next_due_at is None
                                     or stricter_due < dispatch.next_due_at):
        dispatch.next_due_at = stricter_due
    dispatch.version += 1
    return True


def _offices(db: Session, facts: TipFacts, function: str, on: date,
             children_only: bool) -> list[Office]:
    """The offices for the tip's first province, each country and the sea; the national
    office as well for a critical tip, or when any of those places has no office (a
    place without one must not be dropped)."""
    places = ([("province", facts.provinces[0])] if facts.provinces else []) + [
        ("country", country) for country in facts.countries] + (
        [("sea", None)] if facts.at_sea else [])
    local, unmatched = [], not places
    for scope, area in places:
        found = _holders(db, function, on, children_only, scope, area)
        local += found
        unmatched = unmatched or not found
    if unmatched or facts.urgency == "critical":
        local += _holders(db, function, on, children_only, "national")
    return local


def _holders(db: Session, function: str, on: date, children_only: bool, scope: str,
             area: str | None = None) -> list[Office]:
    query = (select(Office).join(OfficeFunction)
             .where(OfficeFunction.function == function,
                    OfficeFunction.children_only.is_(children_only),
                    OfficeFunction.valid_from <= on,
                    or_(OfficeFunction.valid_to.is_(None), OfficeFunction.valid_to > on),
                    Office.valid_from <= on,
                    or_(Office.valid_to.is_(None), Office.valid_to > on),
                    Office.scope == scope)
             .order_by(Office.id))
    if area is not None:
        query = query.where(Office.area == area)
    return list(db.scalars(query).unique())


def _add(db: Session, facts: TipFacts, function: str, office: Office, policy: dict,
         now: datetime, urgency: str | None = None) -> Dispatch | None:
    """A new dispatch, or None when this (tip, function, office) has one already (also
    when a concurrent routing of the same tip made it first)."""
    exists = db.scalar(select(Dispatch.id).where(Dispatch.tip_id == facts.tip_id,
                                                 Dispatch.function == function,
                                                 Dispatch.office_id == office.id))
    if exists is not None:
        return None
    dispatch = Dispatch(tip_id=facts.tip_id, reference=facts.reference, function=function,
                        office_id=office.id, office_name=office.name,
                        urgency=urgency or facts.urgency,
                        child_involved=facts.child_involved, policy=policy, step=0,
                        next_due_at=now, created_at=now)
    try:
        with db.begin_nested():
            db.add(dispatch)
    except IntegrityError:
        return None
    return dispatch


def _open(db: Session, tip_id: int) -> list[Dispatch]:
    return list(db.scalars(select(Dispatch).where(Dispatch.tip_id == tip_id,
                                                  Dispatch.state.in_(OPEN_STATES))
                           .order_by(Dispatch.id)))
