"""Storing inbound SMS: references, callers, threading, idempotency, encryption at rest."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from service_helpers import count_rows
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from hotline import calls, intake
from hotline.crypto import Vault, generate_key
from hotline.models import Caller, Message, Tip, TriageRun
from hotline.phones import parse_number
from routing.db import make_engine

WINDOW = timedelta(hours=24)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
NUMBER = "+84912345678"
DANGER = "cuu em voi, em 15 tuoi bi nhot o quan karaoke o Lang Son"


def _receive(engine, vault, sid, body=DANGER, number=NUMBER, at=T0):
    with Session(engine) as db, db.begin():
        got = intake.receive_sms(db, vault, provider="twilio", provider_id=sid,
                                 number=parse_number(number), body=body, received_at=at,
                                 thread_window=WINDOW)
        return got.tip.reference, got.new_tip, got.duplicate


# -- references --------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "reference"),
                         [(1, "111-251123-0001"), (42, "111-251123-0042"),
                          (9999, "111-251123-9999"), (10000, "111-251123-10000")])
def test_reference_reads_day_and_counter(number, reference):
    assert intake.reference_for(date(2025, 11, 23), number) == reference


def test_references_count_per_day_in_vietnam(engine):
    late_utc = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 on the 23rd in Vietnam
    with Session(engine) as db, db.begin():
        refs = [intake.allocate_reference(db, at)[2]
                for at in (T0, T0, late_utc, T0 + timedelta(days=1))]
    assert refs == ["111-261123-0001", "111-261123-0002", "111-261123-0003",
                    "111-261124-0001"]


def test_a_rolled_back_tip_gives_its_number_back(engine):
    with Session(engine) as db:
        with db.begin():
            intake.allocate_reference(db, T0)
        db.begin()
        intake.allocate_reference(db, T0)
        db.rollback()
        with db.begin():
            assert intake.allocate_reference(db, T0)[2] == "111-261123-0002"


def test_concurrent_tips_get_distinct_references(postgres_url):
    engine = make_engine(postgres_url, pool_size=8)
    refs, errors = [], []
    start = threading.Barrier(8)

    def take() -> None:
        try:
            start.wait()
            with Session(engine) as db, db.begin():
                refs.append(intake.allocate_reference(db, T0)[2])
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    assert sorted(refs) == [f"111-261123-{n:04d}" for n in range(1, 9)]


# -- a new tip, judged in the same transaction -----------------------------------------


def test_an_sms_becomes_a_tip_judged_by_triage(engine, vault):
    reference, new, duplicate = _receive(engine, vault, "SM1")
    assert (reference, new, duplicate) == ("111-261123-0001", True, False)
    with Session(engine) as db:
        tip = db.scalar(select(Tip))
        assert tip.channel == "sms" and tip.status == "new" and tip.routed_at is None
        assert tip.urgency == "critical" and tip.child_involved
        assert tip.triage["urgency"] == "critical" and tip.rules_version
        assert all(set(r) == {"rule", "weight", "start", "end"} for r in tip.triage["reasons"])
        (run,) = db.scalars(select(TriageRun)).all()
        assert run.message_offsets == [[tip.messages[0].id, 0]]
        assert vault.decrypt(tip.messages[0].body_encrypted) == DANGER
        assert vault.decrypt(tip.caller.number_encrypted) == NUMBER
        assert not tip.caller.safe_to_text and not tip.caller.safe_to_call
        assert tip.caller.phone_shared and not tip.caller.consent_police


def test_nothing_readable_is_stored(engine, vault):
    """No plain caller number, body, transcript or recording reference anywhere in the
    database, nor the triage text."""
    _receive(engine, vault, "SM1")
    for name, fields in [
            ("chose", {"caller": "+84987654321", "choice": "report",
                       "speech": "chau bi ban sang Trung Quoc"}),
            ("recording", {"recording_sid": "RE1", "kind": "voicemail", "status": "completed",
                           "url": "https://api.twilio.com/Recordings/REsecret", "seconds": 9})]:
        calls.store(engine, vault, calls.event(name, T0, call_sid="CA1", **fields))
    stored = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                stored.extend(str(value) for value in row)
    everything = " ".join(stored)
    for secret in ("912345678", "karaoke", "nhot", "Lang Son", "987654321", "Trung Quoc",
                   "REsecret"):
        assert secret not in everything


def test_a_redelivered_sms_stores_nothing_new(engine, vault):
    first = _receive(engine, vault, "SM1")
    again = _receive(engine, vault, "SM1")
    assert again == (first[0], False, True)
    assert count_rows(engine, Message) == 1 and count_rows(engine, Tip) == 1


def test_an_sms_within_the_window_joins_the_open_tip(engine, vault):
    reference = _receive(engine, vault, "SM1")[0]
    later = T0 + timedelta(hours=23)
    assert _receive(engine, vault, "SM2", body="ho dang toi", at=later) == (reference, False, False)
    with Session(engine) as db:
        tip = db.scalar(select(Tip))
        assert len(tip.messages) == 2 and tip.last_activity_at == later
        assert tip.triage_pending_since == later  # re-triaged later, as a job


def test_an_sms_after_the_window_starts_a_new_tip(engine, vault):
    first = _receive(engine, vault, "SM1")[0]
    second = _receive(engine, vault, "SM2", at=T0 + WINDOW + timedelta(minutes=1))[0]
    assert second != first
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(Caller)) == 1


def test_a_closed_tip_takes_no_more_messages(engine, vault):
    first = _receive(engine, vault, "SM1")[0]
    with Session(engine) as db, db.begin():
        tip = db.scalar(select(Tip))
        tip.status, tip.outcome = "closed", "referred"
    assert _receive(engine, vault, "SM2", at=T0 + timedelta(minutes=5))[0] != first


def test_different_numbers_make_different_tips(engine, vault):
    assert _receive(engine, vault, "SM1")[0] != _receive(engine, vault, "SM2",
                                                         number="+84987654321")[0]


def test_withheld_senders_are_never_merged(engine, vault):
    first = _receive(engine, vault, "SM1", number="anonymous")
    second = _receive(engine, vault, "SM2", number="")
    assert first[0] != second[0]
    with Session(engine) as db:
        assert db.scalars(select(Caller.number_withheld)).all() == [True, True]


def test_an_old_eleven_digit_number_is_the_same_caller(engine, vault):
    first = _receive(engine, vault, "SM1", number="01203456789")[0]
    assert _receive(engine, vault, "SM2", number="+84703456789")[0] == first


def test_a_caller_is_found_again_after_a_key_rotation(engine):
    old = generate_key()
    first = _receive(engine, Vault(old), "SM1")[0]
    rotated = Vault(f"{generate_key()},{old}")
    assert _receive(engine, rotated, "SM2", at=T0 + timedelta(hours=1))[0] == first
    with Session(engine) as db:
        caller = db.scalar(select(Caller))
        assert caller.number_key == rotated.fingerprint  # re-hashed under the new key
        assert caller.number_hash == rotated.lookup_hash(NUMBER)


def test_a_body_over_1600_characters_is_kept_whole_and_flagged(engine, vault):
    body = "em bi lua " * 200
    _receive(engine, vault, "SM1", body=body)
    with Session(engine) as db:
        message = db.scalar(select(Message))
        assert message.too_long and message.body_length == len(body)
        assert vault.decrypt(message.body_encrypted) == body
