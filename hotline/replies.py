"""Reply codes: where the SMS provider takes replies (ACK_REPLY_CODES), an alert's
recipient may answer "OK 4821" from their directory number. Such a reply acknowledges the
dispatch it names and is never a tip. Anything else from a directory number, and every
message from any other number, is intake as usual.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import acklinks, escalation
from routing.models import Person

from .models import AuditEvent
from .phones import CallerNumber


def handled(db: Session, secret: str, number: CallerNumber, body: str, now: datetime,
            remote_addr: str | None) -> bool:
    """True when the message was a reply code from a directory number (acknowledged, or
    naming nothing open: either way, not a tip); committed here."""
    code = acklinks.parse_reply(body)
    if code is None or not number.e164:
        return False
    if db.scalar(select(Person.id).where(Person.phone == number.e164, Person.active)
                 .limit(1)) is None:
        db.rollback()  # end the read, so intake starts a transaction of its own
        return False
    acknowledged = escalation.acknowledge_reply(db, secret, number.e164, code, now)
    for dispatch in acknowledged:
        db.add(AuditEvent(action="dispatch.acknowledged", tip_id=dispatch.tip_id, at=now,
                          remote_addr=remote_addr,
                          detail={"dispatch": dispatch.id, "via": "reply"}))
    if not acknowledged:
        db.add(AuditEvent(action="reply.unmatched", at=now, remote_addr=remote_addr,
                          detail={"reason": "no single open dispatch has this code"}))
    db.commit()
    return True
