"""`hotline keys rotate`: after it, the new key alone opens everything and finds callers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import intake
from hotline.cli import main
from hotline.crypto import Vault, generate_key
from hotline.models import Caller, Message
from hotline.phones import parse_number
from routing.db import make_engine

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def stored(db_url):
    """Two callers and three messages written under an old key."""
    old = generate_key()
    engine = make_engine(db_url)
    with Session(engine) as db, db.begin():
        for sid, number, body in (("SM1", "+84912345678", "em bi nhot"),
                                  ("SM2", "+84912345678", "cuu em"),
                                  ("SM3", "+855123456789", "bi giu ho chieu")):
            intake.receive_sms(db, Vault(old), provider="twilio", provider_id=sid,
                               number=parse_number(number), body=body, received_at=T0,
                               thread_window=timedelta(hours=24))
    yield engine, old
    engine.dispose()


def _rotate(db_url, monkeypatch, data_key):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_DATA_KEY", data_key)
    return CliRunner().invoke(main, ["keys", "rotate"])


def test_rotation_leaves_everything_to_the_new_key(db_url, stored, monkeypatch):
    engine, old = stored
    new = generate_key()
    result = _rotate(db_url, monkeypatch, f"{new},{old}")
    assert result.exit_code == 0, result.output
    assert "message.body_encrypted: 3 re-encrypted" in result.output
    assert "callers re-hashed: 2" in result.output
    alone = Vault(new)
    with Session(engine) as db:
        bodies = {alone.decrypt(t) for t in db.scalars(select(Message.body_encrypted))}
        assert bodies == {"em bi nhot", "cuu em", "bi giu ho chieu"}
        callers = db.scalars(select(Caller).order_by(Caller.id)).all()
        assert [alone.decrypt(c.number_encrypted) for c in callers] == ["+84912345678",
                                                                         "+855123456789"]
        assert callers[0].number_hash == alone.lookup_hash("+84912345678")
        assert {c.number_key for c in callers} == {alone.fingerprint}
    # The new key alone finds the caller again: the next SMS joins the open tip.
    with Session(engine) as db, db.begin():
        got = intake.receive_sms(db, alone, provider="twilio", provider_id="SM4",
                                 number=parse_number("0912345678"), body="alo",
                                 received_at=T0 + timedelta(hours=1),
                                 thread_window=timedelta(hours=24))
        assert not got.new_tip


def test_rotating_twice_changes_nothing_more(db_url, stored, monkeypatch):
    engine, old = stored
    keys = f"{generate_key()},{old}"
    assert _rotate(db_url, monkeypatch, keys).exit_code == 0
    again = _rotate(db_url, monkeypatch, keys)
    assert again.exit_code == 0 and "re-encrypted" not in again.output
    assert "callers re-hashed: 0" in again.output


def test_rotation_without_the_old_key_stops_with_a_clear_error(db_url, stored, monkeypatch):
    engine, old = stored
    with Session(engine) as db:
        before = db.scalars(select(Message.body_encrypted).order_by(Message.id)).all()
    result = _rotate(db_url, monkeypatch, generate_key())
    assert result.exit_code != 0 and "none of the keys" in result.output
    assert old not in result.output
    with Session(engine) as db:
        assert db.scalars(select(Message.body_encrypted).order_by(Message.id)).all() == before


def test_a_malformed_key_is_named_not_printed(db_url, monkeypatch):
    result = _rotate(db_url, monkeypatch, "not-a-key")
    assert result.exit_code != 0 and "HOTLINE_DATA_KEY" in result.output
    assert "not-a-key" not in result.output


def test_keys_generate_prints_a_usable_key():
    result = CliRunner().invoke(main, ["keys", "generate"])
    key = result.output.strip()
    vault = Vault(key)
    assert vault.decrypt(vault.encrypt("thử")) == "thử"
