"""The outbox: sending each alert once, retrying what may succeed later, falling back to
the recipient's next channel when one fails for good.

A worker claims due alerts (pending -> sending, a compare-and-set on the alert's
version; FOR UPDATE SKIP LOCKED on PostgreSQL) and commits before it sends, so two
workers never send one alert. Twilio takes no idempotency key: a worker killed after the
provider accepted a send and before its commit leaves the alert "sending"; it is sent
again once it has been stuck for a while, and counted (`resent`). That window, and a
send whose answer never came back (`maybe_sent`), are the only sources of a duplicate.
Every alert sent is recorded as a disclosure of what it carried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import acklinks, templates
from .channels import Outgoing, SendError
from .models import Alert, Disclosure, Dispatch

log = logging.getLogger(__name__)
RETRY_AFTER = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
               timedelta(minutes=2), timedelta(minutes=5))  # then the next channel
STUCK_AFTER = timedelta(minutes=2)
ALERT_FIELDS = ["reference", "urgency", "child_involved", "function"]  # what an alert shows


@dataclass(frozen=True)
class OutboxSettings:
    public_base_url: str
    secret_key: str  # signs acknowledgement links
    fold_sms: bool = False  # Vietnamese without diacritics: GSM-7, 160 characters a segment
    to_placeholders: bool = False  # send to contacts marked placeholder (demos, tests)
    reply_codes: bool = False  # the SMS provider takes replies: "OK 4821" acknowledges
    sms_gap: timedelta = timedelta(0)  # per recipient, for SMS that are not critical
    webhook_secrets: Mapping[str, str] | None = None  # office code -> HMAC secret

    @classmethod
    def from_config(cls, config: Mapping) -> OutboxSettings:
        return cls(public_base_url=config["PUBLIC_BASE_URL"], secret_key=config["SECRET_KEY"],
                   fold_sms=bool(config.get("SMS_FOLD_DIACRITICS")),
                   to_placeholders=bool(config.get("ALERTS_TO_PLACEHOLDERS")),
                   reply_codes=bool(config.get("ACK_REPLY_CODES")),
                   sms_gap=timedelta(seconds=int(config.get("SMS_GAP_SECONDS") or 0)),
                   webhook_secrets=config.get("WEBHOOK_SECRETS") or {})


def run(sessions, channels, settings: OutboxSettings, now: datetime, limit: int = 50) -> int:
    """Claim the alerts due now and send them, SMS to one recipient bundled into one
    message; returns how many alerts were sent."""
    with sessions() as db, db.begin():
        release_stuck(db, now)
        throttle(db, now, settings.sms_gap)
        claimed = claim(db, now, limit)
        bundles = _bundles(db, claimed)
    return sum(deliver(sessions, channels, settings, bundle, now) for bundle in bundles)


def throttle(db: Session, now: datetime, gap: timedelta) -> int:
    """Hold a recipient's due SMS that are not critical until `gap` after the last SMS
    sent to them, so that a burst of tips reaches them as one message."""
    if gap <= timedelta(0):
        return 0
    due = db.scalars(select(Alert).where(Alert.status == "pending", Alert.channel == "sms",
                                         Alert.urgency != "critical",
                                         Alert.next_attempt_at <= now).limit(500)).all()
    held = 0
    for alert in due:
        last = db.scalar(select(func.max(Alert.sent_at)).where(
            Alert.channel == "sms", Alert.address == alert.address,
            Alert.status.in_(("sent", "delivered"))))
        if last is not None and last + gap > now:
            alert.next_attempt_at, alert.version = last + gap, alert.version + 1
            held += 1
    db.flush()
    return held


def _bundles(db: Session, claimed: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Claimed alerts as messages: one per SMS recipient (a person at an address), one
    per alert on the other channels."""
    bundles: dict[object, list[tuple[int, int]]] = {}
    for alert_id, version in claimed:
        alert = db.get(Alert, alert_id)
        key = ("sms", alert.person_id, alert.address) if alert.channel == "sms" else alert_id
        bundles.setdefault(key, []).append((alert_id, version))
    return list(bundles.values())


def claim(db: Session, now: datetime, limit: int) -> list[tuple[int, int]]:
    """(id, version) of due alerts this worker now holds ("sending")."""
    query = (select(Alert.id, Alert.version)
             .where(Alert.status == "pending", Alert.next_attempt_at <= now)
             .order_by(Alert.next_attempt_at, Alert.id).limit(limit))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for alert_id, version in db.execute(query).all():
        taken = db.execute(update(Alert).where(Alert.id == alert_id, Alert.version == version,
                                               Alert.status == "pending")
                           .values(status="sending", version=version + 1,
                                   attempts=Alert.attempts + 1, status_at=now))
        if taken.rowcount == 1:
            claimed.append((alert_id, version + 1))
    return claimed


def release_stuck(db: Session, now: datetime) -> int:
    """Alerts left "sending" by a worker that stopped: sent again, and counted."""
    released = db.execute(update(Alert).where(Alert.status == "sending",
                                              Alert.status_at <= now - STUCK_AFTER)
                          .values(status="pending", next_attempt_at=now,
                                  resent=Alert.resent + 1, version=Alert.version + 1))
    if released.rowcount:
        log.warning("%d alerts left mid-send by a stopped worker: sending again",
                    released.rowcount)
    return released.rowcount


def deliver(sessions, channels, settings: OutboxSettings, bundle: list[tuple[int, int]],
            now: datetime) -> int:
    """Send one message for the claimed alerts of a bundle (usually one alert) and record
    what happened to each; returns how many were sent."""
    with sessions() as db:
        alerts = [db.get(Alert, alert_id) for alert_id, _ in bundle]
        refused = _refusal(alerts[0], settings)
        outgoing = None if refused else _outgoing(alerts[0], settings, now, alerts[1:])
    if refused:
        for alert_id, version in bundle:
            _finish_failed(sessions, alert_id, version, refused, now, retryable=False)
        return 0
    try:
        sent = channels.send(outgoing)
    except SendError as error:
        if error.maybe_sent:
            log.warning("alerts %s may have been sent: a retry may send them twice",
                        [alert_id for alert_id, _ in bundle])
        for alert_id, version in bundle:
            _finish_failed(sessions, alert_id, version, str(error), now,
                           retryable=error.retryable, maybe_sent=error.maybe_sent)
        return 0
    with sessions() as db, db.begin():
        for alert_id, version in bundle:
            _record_sent(db, alert_id, version, sent.provider_id, now)
    return len(bundle)


def _record_sent(db: Session, alert_id: int, version: int, provider_id: str | None,
                 now: datetime) -> None:
    done = db.execute(update(Alert).where(Alert.id == alert_id, Alert.version == version)
                      .values(status="sent", provider_id=provider_id, sent_at=now,
                              status_at=now, last_error=None, version=version + 1))
    if done.rowcount != 1:  # released as stuck meanwhile: keep the later state
        log.warning("alert %s was sent after it had been released", alert_id)
    alert = db.get(Alert, alert_id)
    if alert.tip_id is not None:
        db.add(Disclosure(tip_id=alert.tip_id, dispatch_id=alert.dispatch_id,
                          recipient=alert.person.code, fields=ALERT_FIELDS, basis="alert",
                          at=now))


def _refusal(alert: Alert, settings: OutboxSettings) -> str | None:
    if alert.person.placeholder and not settings.to_placeholders:
        return "a placeholder contact: not sent (replace it in the directory)"
    if alert.channel == "webhook" and not (settings.webhook_secrets or {}).get(
            alert.person.office.code):
        return "no webhook secret configured for the office"
    return None


def _outgoing(alert: Alert, settings: OutboxSettings, now: datetime,
              bundled: list[Alert] = ()) -> Outgoing:
    dispatch: Dispatch | None = alert.dispatch
    fields = _fields(alert, settings, now)
    render = templates.packaged().render
    base = settings.public_base_url.rstrip("/")
    if alert.channel == "sms":
        text = render(alert.kind, "sms", fields) + _reply(alert, settings)
        words = templates.packaged().words["vi"]
        for other in bundled:  # more tips for the same person: each with its own link
            other_fields = _fields(other, settings, now)
            text += (f" {words['bundle']['also']} {other.reference} "
                     f"({words['urgency'][other.urgency]}): {other_fields['link']}"
                     + _reply(other, settings))
        if settings.fold_sms:
            text = templates.fold_to_gsm(text)
        return Outgoing("sms", alert.address, text, status_callback=f"{base}/twilio/status")
    if alert.channel == "call":
        # Everything the call says rides in its URL, so its TwiML needs no database.
        query = urlencode({"k": alert.kind, "r": fields["reference"], "u": fields["urgency"],
                           "c": int(fields["child"]), "f": fields["function"],
                           "m": fields["minutes"], "o": fields["office"]})
        return Outgoing("call", alert.address, render(alert.kind, "call", fields),
                        call_url=f"{base}/twilio/alert-call/{alert.id}?{query}",
                        status_callback=f"{base}/twilio/status")
    if alert.channel == "email":
        return Outgoing("email", alert.address, render(alert.kind, "email_body", fields),
                        subject=render(alert.kind, "email_subject", fields))
    return Outgoing("webhook", alert.address, render(alert.kind, "email_body", fields),
                    secret=settings.webhook_secrets[alert.person.office.code],
                    payload={"event": f"hotline.{alert.kind}", "alert": alert.id,
                             "dispatch": dispatch.id if dispatch else None,
                             **{k: fields[k] for k in ("reference", "urgency", "child",
                                                       "function", "link")}})


def _reply(alert: Alert, settings: OutboxSettings) -> str:
    """" hoặc nhắn lại OK 4821" where the SMS provider takes replies."""
    if not settings.reply_codes or alert.dispatch_id is None:
        return ""
    prompt = templates.packaged().words["vi"]["reply"]["prompt"]
    code = acklinks.reply_code(settings.secret_key, alert.dispatch_id, alert.person_id)
    return f" {prompt} {code}"


def _fields(alert: Alert, settings: OutboxSettings, now: datetime) -> dict:
    """What an alert may carry: never the story, never the caller."""
    dispatch = alert.dispatch
    link = settings.public_base_url if dispatch is None else acklinks.link(
        settings.public_base_url, settings.secret_key, dispatch.id, alert.person_id)
    since = dispatch.created_at if dispatch is not None else alert.created_at
    return {"reference": alert.reference, "urgency": alert.urgency,
            "child": alert.child_involved, "function": alert.function or "police",
            "office": dispatch.office_name if dispatch is not None else "",
            "link": link, "minutes": max(0, int((now - since).total_seconds() // 60))}


def _finish_failed(sessions, alert_id: int, version: int, reason: str, now: datetime, *,
                   retryable: bool, maybe_sent: bool = False) -> bool:
    with sessions() as db, db.begin():
        alert = db.get(Alert, alert_id)
        if alert.version != version:
            return False
        again = retryable and alert.attempts <= len(RETRY_AFTER)
        alert.status = "pending" if again else "failed"
        alert.next_attempt_at = now + RETRY_AFTER[alert.attempts - 1] if again else None
        alert.last_error = reason[:500]
        alert.status_at, alert.version = now, version + 1
        alert.maybe_sent = alert.maybe_sent or maybe_sent
        if not again:
            _fall_back(db, alert, now)
    return False


def _fall_back(db: Session, alert: Alert, now: datetime) -> None:
    """The recipient's next channel, for the same occasion, once."""
    person = alert.person
    tried = alert.idempotency_key.rsplit(":", 1)[0]
    reachable = [c for c in person.channels
                 if {"sms": person.phone, "call": person.phone, "email": person.email,
                     "webhook": person.office.webhook_url}.get(c)]
    later = reachable[reachable.index(alert.channel) + 1:] if alert.channel in reachable \
        else reachable
    for channel in later:
        fallback = Alert(idempotency_key=f"{tried}:{channel}", dispatch_id=alert.dispatch_id,
                         tip_id=alert.tip_id, kind=alert.kind, step=alert.step,
                         reference=alert.reference, urgency=alert.urgency,
                         child_involved=alert.child_involved, function=alert.function,
                         person_id=person.id, recipient_role=alert.recipient_role,
                         channel=channel,
                         address={"sms": person.phone, "call": person.phone,
                                  "email": person.email,
                                  "webhook": person.office.webhook_url}[channel],
                         status="pending", next_attempt_at=now, created_at=now)
        try:
            with db.begin_nested():
                db.add(fallback)
            return
        except IntegrityError:
            continue  # tried on that channel already


# -- delivery status callbacks -------------------------------------------------------------

# Twilio's statuses as an alert's: None keeps it "sent"; a final one never changes again.
_SMS_STATUSES = {"accepted": None, "scheduled": None, "queued": None, "sending": None,
                 "sent": None, "delivered": "delivered", "read": "delivered",
                 "undelivered": "undelivered", "failed": "failed", "canceled": "undelivered"}
_CALL_STATUSES = {"queued": None, "initiated": None, "ringing": None, "in-progress": None,
                  "answered": None, "completed": "delivered", "busy": "undelivered",
                  "no-answer": "undelivered", "canceled": "undelivered", "failed": "failed"}
_FINAL = ("delivered", "undelivered", "failed")


def delivery_status(db: Session, provider_id: str, kind: str, status: str,
                    now: datetime) -> bool:
    """Record Twilio's word on a sent alert; False when no alert has that id. A final
    status stays; delivery is never acknowledgement. A message that could not be
    delivered (or a call that failed) goes out on the recipient's next channel."""
    statuses = _CALL_STATUSES if kind == "call" else _SMS_STATUSES
    if status not in statuses:
        raise ValueError(f"unknown {kind} status {status!r}")
    alerts = db.scalars(select(Alert).where(Alert.provider_id == provider_id)).all()
    becomes = statuses[status]
    for alert in alerts:  # a bundled SMS is several alerts
        if becomes is None or alert.status in _FINAL:
            continue
        alert.status, alert.status_at, alert.version = becomes, now, alert.version + 1
        if becomes == "failed" or (becomes == "undelivered" and alert.channel == "sms"):
            _fall_back(db, alert, now)
    return bool(alerts)
