"""Triage's reasons as marked stretches of the text they were found in.

A stored result holds rule ids and code-point offsets into the text it judged, never the
text; the console joins the two again to show an operator why triage decided what it did.
"""

from __future__ import annotations

from collections.abc import Iterable


def pieces(text: str, reasons: Iterable[dict], start: int = 0) -> list[tuple[str, list[str]]]:
    """`text` cut at every reason's edge: (piece, rules that cover it) in order, so that the
    pieces joined are the text again. `start` is where `text` begins in the judged text
    (a thread's later message); reasons elsewhere are ignored, and ones that run over an
    edge are cut to it."""
    end = start + len(text)
    marks = [(max(r["start"], start) - start, min(r["end"], end) - start, r["rule"])
             for r in reasons if r["start"] < end and r["end"] > start and r["end"] > r["start"]]
    edges = sorted({0, len(text), *(a for a, _, _ in marks), *(b for _, b, _ in marks)})
    found = []
    for left, right in zip(edges, edges[1:], strict=False):
        rules = sorted({rule for a, b, rule in marks if a <= left and right <= b})
        found.append((text[left:right], rules))
    return [piece for piece in found if piece[0]]
