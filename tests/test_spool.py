"""The voice spool: events the database could not take in time are kept on disk,
encrypted, and replayed in order; nothing is dropped, nothing replayed by two processes at
once. And end to end: a call taken while the database was down becomes its tip later."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading

import pytest
from service_helpers import call_form, closed_port, count_rows, twilio_post, twiml
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import calls
from hotline.crypto import Vault, generate_key
from hotline.models import Call, Tip
from hotline.spool import Replayer, Spool


@pytest.fixture
def spool(tmp_path, vault):
    return Spool(tmp_path / "spool", vault)


class Recorder:
    """An `apply` that keeps what it is given and fails on the events it is told to."""

    def __init__(self, failing=()):
        self.applied, self.failing = [], set(failing)

    def __call__(self, event: dict) -> None:
        if event["n"] in self.failing:
            raise ConnectionError("database down")
        self.applied.append(event["n"])


def test_events_are_replayed_in_order_and_then_gone(spool):
    for n in range(5):
        spool.add({"n": n, "text": "em bị nhốt"})
    assert spool.pending() == 5
    recorder = Recorder()
    replayed = spool.replay(recorder)
    assert recorder.applied == [0, 1, 2, 3, 4]
    assert (replayed.applied, replayed.kept) == (5, 0)
    assert spool.pending() == 0 and spool.replay(Recorder()).applied == 0
    assert not list(spool.directory.glob("*.claimed"))


def test_the_spool_is_encrypted(spool):
    spool.add({"n": 0, "caller": "+84912345678", "speech": "em bị nhốt ở quán karaoke"})
    (path,) = spool.directory.glob("*.spool")
    data = path.read_bytes()
    assert b"84912345678" not in data and b"karaoke" not in data


def test_after_a_failure_the_rest_is_kept_for_the_next_round(spool):
    for n in range(4):
        spool.add({"n": n})
    first = Recorder(failing={1})
    replayed = spool.replay(first)
    assert first.applied == [0] and (replayed.applied, replayed.kept) == (1, 3)
    spool.add({"n": 4})  # arrives meanwhile
    second = Recorder()
    spool.replay(second)
    assert sorted(second.applied) == [1, 2, 3, 4] and spool.pending() == 0


def test_a_line_no_key_opens_is_kept_not_dropped(spool):
    Spool(spool.directory, Vault(generate_key())).add({"n": 0})  # under another key
    recorder = Recorder()
    assert spool.replay(recorder).kept == 1 and recorder.applied == []
    assert spool.pending() == 1


def test_a_file_another_process_is_replaying_is_left_to_it(spool):
    spool.add({"n": 0})
    spool.replay(Recorder(failing={0}))  # now claimed, kept
    (claimed,) = spool.directory.glob("*.claimed")
    with open(claimed, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another replayer at work
        recorder = Recorder()
        assert spool.replay(recorder).applied == 0 and recorder.applied == []
    assert spool.replay(Recorder()).applied == 1


def test_spools_of_other_processes_are_replayed_and_dead_ones_cleared(spool):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = spool.directory / f"voice-{finished.stdout.strip()}.spool"
    spool.add({"n": 0})
    (own,) = spool.directory.glob("*.spool")
    own.rename(dead)  # as if that process had written it before it ended
    recorder = Recorder()
    spool.replay(recorder)
    assert recorder.applied == [0] and dead.exists()  # emptied first, removed next round
    spool.replay(Recorder())
    assert not dead.exists()


def test_the_replayer_replays_at_once_and_stops(spool):
    spool.add({"n": 0})
    done = threading.Event()

    def apply(event):
        done.set()

    replayer = Replayer(spool, apply, interval=3600)
    replayer.start()
    assert done.wait(timeout=10)
    replayer.stop()
    replayer.join(timeout=10)
    assert not replayer.is_alive() and spool.pending() == 0


def test_a_call_taken_with_the_database_down_becomes_its_tip_later(make_app):
    down = make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x",
                    VOICE_STORE_SECONDS=2)
    assert twiml(twilio_post(down, "/twilio/voice", call_form())).find("Gather") is not None
    twiml(twilio_post(down, "/twilio/voice/menu", call_form(Digits="1", SpeechResult="cứu")))
    assert twilio_post(down, "/twilio/voice/status",
                       call_form(CallStatus="completed", CallDuration="61")).status_code == 204
    assert down.extensions["hotline.spool"].pending() == 3

    up = make_app()  # the same machine (data directory and key), the database back
    engine, vault = up.extensions["hotline.engine"], up.extensions["hotline.vault"]
    replayed = up.extensions["hotline.spool"].replay(
        lambda event: calls.store(engine, vault, event))
    assert (replayed.applied, replayed.kept) == (3, 0)
    assert count_rows(engine, Tip) == 1
    with Session(engine) as db:
        call = db.scalar(select(Call))
        assert call.ivr_choice == "danger_now" and call.tip.urgency == "critical"
        assert (call.status, call.duration_seconds) == ("completed", 61)
        assert vault.decrypt(call.transcript_encrypted) == "cứu"
        assert call.tip.caller.number_valid


def test_a_conversation_recorded_before_its_answer_is_stored_waits_in_the_spool(make_app):
    app = make_app()
    form = {"CallSid": "CA0900", "RecordingSid": "RE0002", "RecordingStatus": "completed",
            "RecordingUrl": "https://api.twilio.com/RE0002", "RecordingDuration": "30"}
    assert twilio_post(app, "/twilio/voice/recording?kind=conversation",
                       form).status_code == 204
    spool = app.extensions["hotline.spool"]
    assert spool.pending() == 1 and count_rows(app.extensions["hotline.engine"], Call) == 0
    twilio_post(app, "/twilio/voice/bridged?operator=", call_form(DequeingCallSid="CA0900"))
    engine, vault = app.extensions["hotline.engine"], app.extensions["hotline.vault"]
    assert spool.replay(lambda event: calls.store(engine, vault, event)).applied == 1
    with Session(engine) as db:
        assert [r.kind for r in db.scalar(select(Call)).recordings] == ["conversation"]
