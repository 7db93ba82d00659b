"""Call events (hotline.calls): repeated, late or out of order, each is applied once in
effect, a call's status only moves forward, and racing events make one call."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_helpers import count_rows, run_together
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import calls
from hotline.models import Call, Recording, Tip, TriageRun

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CALLER = "+84912345678"


def _apply(engine, vault, name, at=T0, **fields):
    calls.store(engine, vault, calls.event(name, at, **fields))


def _call(engine) -> Call:
    with Session(engine) as db:
        call = db.scalar(select(Call))
        call.tip, call.recordings  # noqa: B018  (loaded before the session closes)
        return call


def test_events_survive_the_round_trip_through_json(engine, vault):
    recorded = calls.event("chose", T0, call_sid="CA1", caller=CALLER, choice="danger_now",
                           speech="")
    assert recorded == {"event": "chose", "at": "2026-11-23T03:00:00+00:00", "call_sid": "CA1",
                        "caller": CALLER, "choice": "danger_now", "speech": ""}
    calls.store(engine, vault, recorded)
    assert _call(engine).tip.urgency == "critical"


def test_an_unknown_event_is_refused(engine, vault):
    with pytest.raises(ValueError, match="unknown call event"):
        calls.event("teleported", T0, call_sid="CA1")
    with pytest.raises(ValueError, match="unknown call event"):
        calls.store(engine, vault, {"event": "teleported", "at": T0.isoformat()})
    assert count_rows(engine, Call) == 0


def test_a_choice_applied_twice_is_judged_once(engine, vault):
    for _ in range(2):
        _apply(engine, vault, "chose", call_sid="CA1", caller=CALLER, choice="report",
               speech="em bị nhốt ở quán karaoke")
    assert count_rows(engine, Call) == 1 and count_rows(engine, Tip) == 1
    # One run when the call arrived (nothing said yet), one for the choice.
    assert count_rows(engine, TriageRun) == 2


def test_a_choice_keeps_what_was_said_before(engine, vault):
    _apply(engine, vault, "chose", call_sid="CA1", caller=CALLER, choice="report",
           speech="con gái tôi 13 tuổi bị bán sang Trung Quốc")
    _apply(engine, vault, "chose", call_sid="CA1", caller=CALLER, choice="danger_now",
           speech="")
    call = _call(engine)
    assert call.ivr_choice == "danger_now" and call.tip.child_involved
    assert vault.decrypt(call.transcript_encrypted).startswith("con gái")


def test_the_first_answer_stays(engine, vault):
    _apply(engine, vault, "answered", call_sid="CA1", operator_id=None,
           operator_call_sid="CA9")
    _apply(engine, vault, "answered", T0 + timedelta(minutes=1), call_sid="CA1",
           operator_id=None, operator_call_sid="CA8")
    call = _call(engine)
    assert (call.operator_call_sid, call.answered_at) == ("CA9", T0)
    assert call.tip.status == "new"  # nobody known answered: nobody holds it


def test_an_answer_by_a_user_who_no_longer_exists_is_kept_without_them(engine, vault):
    _apply(engine, vault, "answered", call_sid="CA1", operator_id=4242, operator_call_sid="CA9")
    call = _call(engine)
    assert call.answered_at == T0 and call.answered_by_id is None


def test_a_recording_moves_only_forward_and_keeps_its_reference(engine, vault):
    for status, url in [("completed", "https://api.twilio.com/RE1"), ("in-progress", None),
                        ("absent", None)]:
        _apply(engine, vault, "recording", call_sid="CA1", recording_sid="RE1",
               kind="voicemail", status=status, url=url, seconds=20)
    (recording,) = _call(engine).recordings
    assert recording.status == "completed"
    assert vault.decrypt(recording.url_encrypted) == "https://api.twilio.com/RE1"


def test_a_conversation_before_its_answer_waits(engine, vault):
    with pytest.raises(calls.NotKnownYet):
        _apply(engine, vault, "recording", call_sid="CA9", recording_sid="RE2",
               kind="conversation", status="completed", url=None, seconds=5)
    assert count_rows(engine, Call) == 0 and count_rows(engine, Recording) == 0


def test_the_start_of_a_call_is_its_earliest_event(engine, vault):
    _apply(engine, vault, "status", T0 + timedelta(minutes=3), call_sid="CA1", caller=CALLER,
           status="completed", seconds=170)
    _apply(engine, vault, "arrived", call_sid="CA1", caller=CALLER)
    call = _call(engine)
    assert call.started_at == T0 and call.ended_at == T0 + timedelta(minutes=3)


STATUSES = list(calls.STATUS_RANK)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(statuses=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=8))
def test_a_status_never_moves_backwards_whatever_the_order(engine, vault, statuses):
    sid = f"CA-{uuid.uuid4().hex}"  # a call of its own for each example
    for index, status in enumerate(statuses):
        _apply(engine, vault, "status", T0 + timedelta(seconds=index), call_sid=sid,
               caller=CALLER, status=status, seconds=index)
    with Session(engine) as db:
        call = db.scalar(select(Call).where(Call.call_sid == sid))
    top = max(calls.STATUS_RANK[status] for status in statuses)
    first_top = next(i for i, s in enumerate(statuses) if calls.STATUS_RANK[s] == top)
    assert calls.STATUS_RANK[call.status] == max(top, calls.STATUS_RANK["ringing"])
    if statuses[first_top] in calls.FINAL_STATUSES:
        assert call.status == statuses[first_top]  # the first final status stays
        assert call.duration_seconds == first_top
        assert call.ended_at == T0 + timedelta(seconds=first_top)
    else:
        assert call.ended_at is None and call.duration_seconds is None


def test_racing_events_of_a_new_call_make_one_call(postgres_url, engine, vault):
    """Twilio's webhook, a status callback and a replay of the same new call at once."""
    events = [("arrived", {"caller": CALLER}), ("status", {"caller": CALLER,
                                                          "status": "ringing", "seconds": None}),
              ("chose", {"caller": CALLER, "choice": "danger_now", "speech": ""}),
              ("left_queue", {"result": "hangup", "seconds": 3}),
              ("arrived", {"caller": CALLER}), ("status", {"caller": CALLER,
                                                          "status": "completed", "seconds": 9})]
    assert run_together(*[functools.partial(_apply, engine, vault, name, call_sid="CA1",
                                            **fields) for name, fields in events]) == []
    assert count_rows(engine, Call) == 1 and count_rows(engine, Tip) == 1
    call = _call(engine)
    assert call.status == "completed" and call.ivr_choice == "danger_now"
    assert call.queue_result == "hangup"
