"""The directory of focal points: agencies, offices and the functions they hold, the
people in them, absences and the hotline's duty rota.

Everything is effective-dated with half-open ``[valid_from, valid_to)`` dates in
Asia/Ho_Chi_Minh, so a reorganisation is data: an office that stops holding a function
gets a ``valid_to``, never a deletion, and a dispatch keeps pointing at the office that
held the function when it was sent. The seed is ``routing/data/directory.toml``; the
database holds the live copy, and each import is recorded as a ``DirectoryVersion``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow

FUNCTIONS = ("police", "consular", "border", "victim_support")
# What an office covers: the whole country, a province (triage's province codes), a
# commune, a foreign country (ISO 3166 alpha-2: an embassy or consulate) or the sea.
SCOPES = ("national", "province", "commune", "country", "sea")
PERSON_ROLES = ("primary", "backup", "head", "supervisor")
CHANNELS = ("sms", "call", "email", "webhook")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _dates_in_order() -> CheckConstraint:
    return CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="dates")


class Agency(Base):
    """A ministry or other state body."""

    __tablename__ = "agency"
    __table_args__ = (_dates_in_order(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))  # Vietnamese
    name_en: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    offices: Mapped[list[Office]] = relationship(back_populates="agency")


class Office(Base):
    """A focal-point unit, or a contact-only office (commune police, a People's
    Committee) that holds no function and is shown for an emergency handoff."""

    __tablename__ = "office"
    __table_args__ = (
        CheckConstraint(_one_of("scope", SCOPES), name="scope"),
        CheckConstraint("(scope IN ('national', 'sea')) = (area IS NULL)", name="area"),
        _dates_in_order(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(16))
    area: Mapped[str | None] = mapped_column(String(64))  # province, commune or country code
    phone: Mapped[str | None] = mapped_column(String(32))  # the office's own line
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # an agency system's
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)  # contacts unverified
    note: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    agency: Mapped[Agency] = relationship(back_populates="offices")
    functions: Mapped[list[OfficeFunction]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="OfficeFunction.id")
    people: Mapped[list[Person]] = relationship(back_populates="office",
                                                order_by="Person.id")


class OfficeFunction(Base):
    """An office holds a function for a period; `children_only` offices are added for
    tips where a child is involved (child protection beside victim support)."""

    __tablename__ = "office_function"
    __table_args__ = (
        CheckConstraint(_one_of("function", FUNCTIONS), name="function"),
        UniqueConstraint("office_id", "function", "valid_from"),
        _dates_in_order(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    function: Mapped[str] = mapped_column(String(16))
    children_only: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    office: Mapped[Office] = relationship(back_populates="functions")


class Person(Base):
    """Someone alerts go to. `channels` lists the ways to reach them in order of
    preference; `user_email` links a console user (focal points, duty supervisors)."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint(_one_of("role", PERSON_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_email: Mapped[str | None] = mapped_column(String(254), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)  # not a real contact

    office: Mapped[Office] = relationship(back_populates="people")
    absences: Mapped[list[Absence]] = relationship(
        back_populates="person", foreign_keys="Absence.person_id",
        cascade="all, delete-orphan", order_by="Absence.starts_at")


class Absence(Base):
    """A person away; their alerts go to the delegate meanwhile."""

    __tablename__ = "absence"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="times"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delegate_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    person: Mapped[Person] = relationship(back_populates="absences",
                                          foreign_keys=[person_id])
    delegate: Mapped[Person | None] = relationship(foreign_keys=[delegate_id])


class DutyShift(Base):
    """The hotline's duty rota: which supervisor is on duty when."""

    __tablename__ = "duty_shift"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="times"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()


class DirectoryVersion(Base):
    """One import of the directory: when, by whom, from what, and what changed."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the file
    summary: Mapped[dict] = mapped_column(JSON, default=dict)  # counts added/changed/ended


# -- dispatch, alerts and escalation ------------------------------------------------------

URGENCIES = ("low", "medium", "high", "critical")
DISPATCH_STATES = ("pending", "acknowledged", "closed", "cancelled")
ACK_METHODS = ("link", "call", "console", "reply", "supervisor", "api")
ALERT_KINDS = ("alert", "escalation", "supervisor_unclaimed", "test_alert", "reminder_outcome")
ALERT_STATUSES = ("pending", "sending", "sent", "delivered", "failed", "undelivered",
                  "cancelled")


class Dispatch(Base):
    """A tip sent to one office for one function. It runs a snapshot of its escalation
    policy: `step` is the next step to run, due at `next_due_at` (the database is the
    timer); `version` makes each change a compare-and-set, so two workers, a retried job
    and a sweep still advance a step once. `office_name` keeps who held the function when
    it was sent."""

    __tablename__ = "dispatch"
    __table_args__ = (
        CheckConstraint(_one_of("state", DISPATCH_STATES), name="state"),
        CheckConstraint(_one_of("function", FUNCTIONS), name="function"),
        CheckConstraint(_one_of("urgency", URGENCIES), name="urgency"),
        UniqueConstraint("tip_id", "function", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"), index=True)  # None: test
    test: Mapped[bool] = mapped_column(Boolean, default=False)  # a directory test alert
    reference: Mapped[str] = mapped_column(String(24))
    function: Mapped[str] = mapped_column(String(16))
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    office_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    urgency: Mapped[str] = mapped_column(String(16))  # the policy it runs
    child_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[dict] = mapped_column(JSON)  # snapshot of the policy when (re)set
    step: Mapped[int] = mapped_column(default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reminders: Mapped[int] = mapped_column(default=0)  # outcome reminders sent
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="routing")
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(254))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    declined: Mapped[bool] = mapped_column(Boolean, default=False)  # "not our office"

    office: Mapped[Office] = relationship()
    alerts: Mapped[list[Alert]] = relationship(back_populates="dispatch", order_by="Alert.id")


class Alert(Base):
    """The outbox: one message to one recipient on one channel. `idempotency_key` makes
    creating it twice impossible; a worker claims it (pending -> sending) before it
    sends, so only a worker killed between Twilio's answer and the commit can send twice."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", ALERT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch.id"), index=True)
    tip_id: Mapped[int | None] = mapped_column(ForeignKey("tip.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    step: Mapped[int | None] = mapped_column()
    # What the alert says, fixed when it is written: never more than this.
    reference: Mapped[str] = mapped_column(String(24))
    urgency: Mapped[str] = mapped_column(String(16))
    child_involved: Mapped[bool] = mapped_column(Boolean, default=False)
    function: Mapped[str | None] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    recipient_role: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))  # an official's phone, email or URL
    status: Mapped[str] = mapped_column(String(16), default="pending")
    provider_id: Mapped[str | None] = mapped_column(String(200), index=True)  # SID, Message-ID
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resent: Mapped[int] = mapped_column(default=0)  # sent again after a worker stopped
    maybe_sent: Mapped[bool] = mapped_column(Boolean, default=False)  # no answer came back
    version: Mapped[int] = mapped_column(default=1)

    dispatch: Mapped[Dispatch | None] = relationship(back_populates="alerts")
    person: Mapped[Person] = relationship()


class EscalationPolicy(Base):
    """The live, editable copy of one urgency's policy (seeded from
    ``routing/data/policies.toml``); each dispatch keeps a snapshot of the one it runs."""

    __tablename__ = "escalation_policy"
    __table_args__ = (CheckConstraint(_one_of("urgency", URGENCIES), name="urgency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    urgency: Mapped[str] = mapped_column(String(16), unique=True)
    body: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(254))


class Disclosure(Base):
    """Who received which fields of which tip, when, and on what basis ("consent", a
    disclosure rule's id, or "alert" for what an alert itself carries)."""

    __tablename__ = "disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tip.id"), index=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch.id"))
    recipient: Mapped[str] = mapped_column(String(254))  # an email or a person's code
    fields: Mapped[list[str]] = mapped_column(JSON)
    basis: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
