"""The hotline's tables: users and tokens, callers, tips and their threads, triage runs
and overrides, and the audit log.

Declared on ``routing.db.Base`` so that Alembic and routing see one schema. Victim data
(caller numbers, message bodies, transcripts, recording references) is stored only
encrypted (``*_encrypted`` columns, see ``hotline.crypto``); triage results hold rule
ids and offsets, never the text.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import routing.models  # noqa: F401  (routing's tables are part of the one schema)
from routing.db import Base, UTCDateTime, utcnow

ROLES = ("operator", "supervisor", "focal_point", "admin")
TIP_STATUSES = ("new", "claimed", "in_progress", "closed")
OUTCOMES = ("referred", "rescued_or_supported", "no_action", "duplicate", "prank")
CHANNELS = ("sms", "voice", "walk_in", "email", "other_line")
URGENCIES = ("low", "medium", "high", "critical")
FUNCTIONS = ("police", "consular", "border", "victim_support")
DIRECTIONS = ("in", "out")
# Twilio's CallStatus values, and what a voicemail or recorded conversation can be in.
CALL_STATUSES = ("queued", "initiated", "ringing", "in-progress", "completed", "busy",
                 "failed", "no-answer", "canceled")
RECORDING_KINDS = ("voicemail", "conversation")
RECORDING_STATUSES = ("in-progress", "completed", "absent", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(UserMixin, Base):
    """A console user; the API's tokens act with its role."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower case
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2
    role: Mapped[str] = mapped_column(String(20))
    # Focal points: their office's code, unchecked until routing brings the directory.
    office_code: Mapped[str | None] = mapped_column(String(64))
    # Operators: where calls reach them (a phone number or a Twilio Client identity).
    phone: Mapped[str | None] = mapped_column(String(32))
    client_identity: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Console login: failures in a row lock the account for a while; a TOTP second
    # factor (required for administrators), its secret encrypted like victim data.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login: an inactive user cannot log in
        return self.active


class ApiToken(Base):
    """A bearer token; it acts with its user's role. Only a hash of it is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    prefix: Mapped[str] = mapped_column(String(16))  # shown to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Caller(Base):
    """A number that contacted 111, and its safety record.

    Every safety field defaults to the safe side: not safe to call or text back, the
    phone may be in others' hands (the trafficker's), no consent to share.
    """

    __tablename__ = "caller"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keyed hash of the normalised number (see Vault.lookup_hash); None when withheld.
    number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    number_key: Mapped[str | None] = mapped_column(String(16))  # fingerprint of its key
    number_encrypted: Mapped[str | None] = mapped_column(Text)
    number_valid: Mapped[bool] = mapped_column(Boolean, default=False)
    number_withheld: Mapped[bool] = mapped_column(Boolean, default=False)
    country: Mapped[str | None] = mapped_column(String(2))  # of a foreign number
    safe_to_call: Mapped[bool] = mapped_column(Boolean, default=False)
    safe_to_text: Mapped[bool] = mapped_column(Boolean, default=False)
    safe_hours: Mapped[str | None] = mapped_column(String(64))  # e.g. "08:00-11:00"
    phone_shared: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_police: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_consular: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_border: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_victim_support: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tips: Mapped[list[Tip]] = relationship(back_populates="caller")


class TipCounter(Base):
    """The last reference number given out on a day (Asia/Ho_Chi_Minh)."""

    __tablename__ = "tip_counter"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Tip(Base):
    __tablename__ = "tip"
    __table_args__ = (
        UniqueConstraint("day", "day_number"),
        CheckConstraint(_one_of("status", TIP_STATUSES), name="status"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(f"outcome IS NULL OR {_one_of('outcome', OUTCOMES)}", name="outcome"),
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_has_outcome"),
        CheckConstraint(f"urgency IS NULL OR {_one_of('urgency', URGENCIES)}", name="urgency"),
        Index("ix_tip_open_queue", "status", "urgency", "created_at"),
        Index("ix_tip_caller_activity", "caller_id", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # 111-251123-0042
    day: Mapped[date] = mapped_column(Date)
    day_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="new")
    outcome: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("caller.id"))
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The verdict in force: triage's, or an operator's override of it.
    urgency: Mapped[str | None] = mapped_column(String(16))
    child_involved: Mapped[bool | None] = mapped_column(Boolean)
    functions: Mapped[list[str]] = mapped_column(JSON, default=list)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Triage's latest result as TriageResult.to_dict(): rule ids and offsets, no text.
    triage: Mapped[dict | None] = mapped_column(JSON)
    rules_version: Mapped[str | None] = mapped_column(String(32))
    triage_pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by routing

    caller: Mapped[Caller | None] = relationship(back_populates="tips")
    messages: Mapped[list[Message]] = relationship(back_populates="tip", order_by="Message.id")
    calls: Mapped[list[Call]] = relationship(back_populates="tip", order_by="Call.id")
    triage_runs: Mapped[list[TriageRun]] = relationship(back_populates="tip",
                                                        order_by="TriageRun.id")
    overrides: Mapped[list[TriageOverride]] = relationship(back_populates="tip",
                                                           order_by="TriageOverride.id")


class Message(Base):
    """One SMS in a tip's thread, in or out; a tip's body text lives only here."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("provider", "provider_id"),  # a redelivery stores nothing new
        CheckConstraint(_one_of("direction", DIRECTIONS), name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(64))  # "twilio", "gateway:NAME", "console"
    provider_id: Mapped[str | None] = mapped_column(String(64))  # MessageSid, message_id
    body_encrypted: Mapped[str] = mapped_column(Text)
    body_length: Mapped[int] = mapped_column(Integer)
    too_long: Mapped[bool] = mapped_column(Boolean, default=False)  # over 1,600 characters
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tip: Mapped[Tip] = relationship(back_populates="messages")


class Call(Base):
    """One call to 111: its IVR choice, how long it queued, who answered, how it ended.

    `status` is Twilio's CallStatus and only moves forward (status callbacks arrive out of
    order or twice); `operator_call_sid` is the operator's own call leg that dequeued it.
    """

    __tablename__ = "call"
    __table_args__ = (CheckConstraint(_one_of("status", CALL_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="ringing")
    ivr_choice: Mapped[str | None] = mapped_column(String(16))
    queue_result: Mapped[str | None] = mapped_column(String(24))  # Twilio's QueueResult
    queue_seconds: Mapped[int | None] = mapped_column(Integer)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    operator_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    transcript_encrypted: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tip: Mapped[Tip] = relationship(back_populates="calls")
    recordings: Mapped[list[Recording]] = relationship(back_populates="call",
                                                       order_by="Recording.id")


class Recording(Base):
    """A voicemail the caller left, or a recorded conversation (when recording is on).
    The reference (Twilio's recording URL) is stored encrypted; the audio stays at Twilio."""

    __tablename__ = "recording"
    __table_args__ = (CheckConstraint(_one_of("kind", RECORDING_KINDS), name="kind"),
                      CheckConstraint(_one_of("status", RECORDING_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in-progress")
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    url_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    call: Mapped[Call] = relationship(back_populates="recordings")


class TriageRun(Base):
    """One judgement of a tip's text by triage, kept as history."""

    __tablename__ = "triage_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rules_version: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict] = mapped_column(JSON)  # offsets into the thread, never text
    # Where each message starts in the judged thread: [[message_id, offset], ...]
    message_offsets: Mapped[list] = mapped_column(JSON, default=list)

    tip: Mapped[Tip] = relationship(back_populates="triage_runs")


class TriageOverride(Base):
    """An operator's correction of triage: who, when, why, and what changed."""

    __tablename__ = "triage_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict] = mapped_column(JSON)  # {field: [before, after]}

    tip: Mapped[Tip] = relationship(back_populates="overrides")


class AuditEvent(Base):
    """Append-only: who did what, when, to which tip, from where. The database refuses
    updates and deletes (triggers in the migration)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: system
    action: Mapped[str] = mapped_column(String(64))  # "tip.read", "tip.list", ...
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # never victim text
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    tip: Mapped[Tip | None] = relationship()
