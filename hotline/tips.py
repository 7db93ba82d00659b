"""What people do to a tip, for the API and the console alike: claim, assign, change its
status, override triage. Each checks its rules and raises TipError (with the HTTP status
it maps to and a message) without changing anything; the caller audits and commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from .models import FUNCTIONS, OUTCOMES, TIP_STATUSES, URGENCIES, Tip, TriageOverride, User

ASSIGNABLE_ROLES = ("operator", "supervisor")  # the people who work tips
REASON_MAX = 2_000


class TipError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def claim(tip: Tip, user: User, holder_email: str | None) -> bool:
    """The user takes an unclaimed tip; False when they held it already. A tip someone
    else holds is refused: only a supervisor moves it (assign)."""
    _open(tip)
    if tip.claimed_by_id == user.id:
        return False
    if tip.claimed_by_id is not None:
        raise TipError(409, f"{tip.reference} is claimed by {holder_email}")
    tip.claimed_by_id = user.id
    if tip.status == "new":
        tip.status = "claimed"
    return True


def assign(tip: Tip, assignee: User | None) -> None:
    """Give the tip to an operator or supervisor, or (None) put it back in the queue."""
    _open(tip)
    if assignee is not None and (not assignee.active or assignee.role not in ASSIGNABLE_ROLES):
        raise TipError(400, f"{assignee.email} cannot take tips (inactive, or the role "
                            f"{assignee.role})")
    tip.claimed_by_id = assignee.id if assignee else None
    if assignee and tip.status == "new":
        tip.status = "claimed"
    elif assignee is None and tip.status == "claimed":
        tip.status = "new"  # work already started stays in_progress


def set_status(tip: Tip, status: object, outcome: object, now: datetime) -> tuple:
    """A new status; closing needs an outcome, and only closing takes one. Returns the
    (status, outcome) before."""
    if status not in TIP_STATUSES:
        raise TipError(400, f"status must be one of {', '.join(TIP_STATUSES)}")
    if status == "closed" and outcome not in OUTCOMES:
        raise TipError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
    if status != "closed" and outcome not in (None, ""):
        raise TipError(400, "an outcome goes only with status closed")
    before = (tip.status, tip.outcome)
    tip.status, tip.outcome = status, outcome if status == "closed" else None
    tip.closed_at = now if status == "closed" else None
    return before


def override(db: Session, tip: Tip, user: User, wanted: dict, reason: object,
             now: datetime) -> dict:
    """An operator's verdict (urgency, child flag, functions) with a required reason; it
    stands over triage's from now on and is routed again. Returns {field: [before, after]}."""
    if not isinstance(reason, str) or not reason.strip():
        raise TipError(400, "a reason is required")
    if len(reason) > REASON_MAX:
        raise TipError(400, f"the reason must be at most {REASON_MAX} characters")
    changes = {}
    if "urgency" in wanted:
        if wanted["urgency"] not in URGENCIES:
            raise TipError(400, f"urgency must be one of {', '.join(URGENCIES)}")
        changes["urgency"] = [tip.urgency, wanted["urgency"]]
    if "child_involved" in wanted:
        if not isinstance(wanted["child_involved"], bool):
            raise TipError(400, "child_involved must be true or false")
        changes["child_involved"] = [tip.child_involved, wanted["child_involved"]]
    if "functions" in wanted:
        functions = wanted["functions"]
        if not isinstance(functions, list) or any(f not in FUNCTIONS for f in functions):
            raise TipError(400, f"functions must be a list of {', '.join(FUNCTIONS)}")
        changes["functions"] = [tip.functions, [f for f in FUNCTIONS if f in functions]]
    changes = {field: values for field, values in changes.items() if values[0] != values[1]}
    if not changes:
        raise TipError(400, "name at least one of urgency, child_involved, functions that "
                            "changes")
    for field, (_, after) in changes.items():
        setattr(tip, field, after)
    tip.overridden = True
    tip.routed_at = None  # the new verdict must be routed again
    db.add(TriageOverride(tip=tip, user_id=user.id, created_at=now, reason=reason.strip(),
                          changes=changes))
    return changes


def _open(tip: Tip) -> None:
    if tip.status == "closed":
        raise TipError(409, f"{tip.reference} is closed")
