"""Triage's reasons marked in the text: nothing lost, nothing invented."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hotline.console.highlight import pieces


def test_reasons_mark_their_stretch():
    text = "em 14 tuoi bi nhot o karaoke"
    reasons = [{"rule": "age", "start": 3, "end": 10}, {"rule": "confined", "start": 11,
                                                        "end": 18}]
    assert pieces(text, reasons) == [("em ", []), ("14 tuoi", ["age"]), (" ", []),
                                     ("bi nhot", ["confined"]), (" o karaoke", [])]


def test_overlapping_reasons_and_a_later_message():
    reasons = [{"rule": "a", "start": 0, "end": 6}, {"rule": "b", "start": 4, "end": 12}]
    assert pieces("abcdefgh", reasons) == [("abcd", ["a"]), ("ef", ["a", "b"]),
                                           ("gh", ["b"])]
    # The second message starts at 10 in the judged thread: only "b" reaches into it.
    assert pieces("xyz", reasons, start=10) == [("xy", ["b"]), ("z", [])]


@given(st.text(max_size=40), st.lists(st.tuples(st.integers(0, 45), st.integers(0, 45)),
                                      max_size=6), st.integers(0, 10))
def test_the_pieces_are_the_text(text, spans, start):
    reasons = [{"rule": f"r{n}", "start": a, "end": b} for n, (a, b) in enumerate(spans)]
    found = pieces(text, reasons, start)
    assert "".join(piece for piece, _ in found) == text
    assert all(piece for piece, _ in found)
