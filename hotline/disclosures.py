"""What a focal point sees of a tip dispatched to their office: the minimum always, the
caller's number and the thread only on a basis (the caller's consent to share with the
dispatch's function, or a rule of ``routing/data/disclosure.toml``), and every disclosure
recorded per recipient. Used by the API and the console alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from routing import disclosure
from routing.models import Disclosure

from . import dispatching
from .crypto import Vault
from .models import Tip, User


def office_summary(tip: Tip) -> dict:
    """A tip as a focal point sees it in a listing: no caller, no text."""
    found = tip.triage or {}
    return {"reference": tip.reference, "status": tip.status, "urgency": tip.urgency,
            "child_involved": tip.child_involved, "functions": tip.functions,
            "provinces": found.get("provinces", []), "categories": found.get("categories", []),
            "created_at": tip.created_at.isoformat()}


def office_view(db: Session, vault: Vault, tip: Tip, user: User, now: datetime) -> dict | None:
    """The tip as `user` (a focal point) may see it, the disclosure recorded; None when it
    was never dispatched to their office (or only in dispatches since cancelled)."""
    own = [d for d in dispatching.dispatches_of(db, tip.id)
           if d.office.code == user.office_code and d.state != "cancelled"]
    if not own:
        return None
    caller = tip.caller
    consented = caller is not None and any(getattr(caller, f"consent_{d.function}")
                                           for d in own)
    found_basis = disclosure.basis(disclosure.packaged(), consented=consented,
                                   urgency=tip.urgency or "low",
                                   child_involved=bool(tip.child_involved))
    view = office_summary(tip)
    if found_basis is not None:
        view |= protected_fields(tip, vault)
    db.add(Disclosure(tip_id=tip.id, dispatch_id=own[0].id, recipient=user.email,
                      fields=sorted(view), basis=found_basis or "minimum", at=now))
    return view | {"basis": found_basis, "dispatches": [dispatching.describe(d) for d in own]}


def protected_fields(tip: Tip, vault: Vault) -> dict:
    """The caller's number (with their safety record: the phone may be in a trafficker's
    hands) and what they said."""
    caller = tip.caller
    number = vault.decrypt(caller.number_encrypted) if caller and caller.number_encrypted \
        else None
    return {
        "caller_number": number,
        "caller_safety": None if caller is None else {
            "safe_to_call": caller.safe_to_call, "safe_to_text": caller.safe_to_text,
            "safe_hours": caller.safe_hours, "phone_shared": caller.phone_shared},
        "thread": [{"received_at": m.received_at.isoformat(),
                    "body": vault.decrypt(m.body_encrypted)}
                   for m in tip.messages if m.direction == "in"]
        + [{"received_at": c.started_at.isoformat(),
            "transcript": vault.decrypt(c.transcript_encrypted)}
           for c in tip.calls if c.transcript_encrypted],
    }
