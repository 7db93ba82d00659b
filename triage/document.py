"""A text read by the rules: tokens, sentences, and every rule phrase found in them.

Also the context questions asked of a phrase found: is it negated, hypothetical,
covered by a harmless sense, cued; and which sentences speak of the past, of now, of
a return.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date
from itertools import compress

from .dates import RECENT_DAYS, elapsed_at
from .normalize import NUMBER, WORD, Columns, Token, token_columns
from .phrases import Match, contains_any
from .ruleset import RuleSet

NEGATION_WINDOW = 5  # tokens before an indicator, inside its clause
NEGATION_BARRIERS = frozenset({"thi", "ma", "nhung", "nen"})  # a new clause starts
WISH_WORDS = frozenset({"muon", "xin", "can", "mong", "cho", "doi", "nho"})
# Words a clause that only tells the time may also have: "khoảng 10 giờ tối qua, ..."
TIME_WORDS = frozenset({"khoang", "tam", "vao", "luc", "tu", "gio", "h"})
_NONE: list[Match] = []  # read-only: what spans() answers for a kind not found


@dataclass(slots=True)
class Document:
    """What the rules found in one text, before the verdict."""

    columns: Columns  # the tokens
    sentence: list[int]  # sentence number of each token
    clause: list[int]  # clause number of each token (commas split clauses)
    by_kind: dict[str, list[Match]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)  # columns.texts: each token's text
    kinds: list[str] = field(default_factory=list)  # columns.kinds
    numbers: list[int] = field(default_factory=list)  # indices of the number tokens
    questions: set[int] = field(default_factory=set)  # sentences that ask something
    # sentence -> first token after which what follows is not a report ("nếu" in a
    # question, "lo con bị", "con mèo"); 0 for a sentence about awareness work
    unreal_from: dict[int, int] = field(default_factory=dict)

    def spans(self, kind: str) -> list[Match]:
        return self.by_kind.get(kind, _NONE)

    def in_sentences(self, kind: str) -> set[int]:
        return {self.sentence[m.start] for m in self.spans(kind)}

    def char_span(self, match: Match) -> tuple[int, int]:
        """Code-point offsets into the original text."""
        return self.columns.starts[match.start], self.columns.ends[match.end - 1]

    @property
    def tokens(self) -> list[Token]:
        """The tokens as objects (built on each call: the rules read the columns)."""
        return self.columns.tokens()


def read(text: str, rules: RuleSet) -> Document:
    columns = token_columns(text, rules.lexicon)
    texts, kinds = columns.texts, columns.kinds
    n = len(texts)
    clause_ends, sentence_ends, numbers = [], [], []
    for i in compress(range(n), map(WORD.__ne__, kinds)):  # the few tokens not words
        if kinds[i] == NUMBER:
            numbers.append(i)
        else:
            clause_ends.append(i)
            if texts[i] != ",":
                sentence_ends.append(i)
    is_number = None
    if numbers:
        is_number = [False] * n
        for i in numbers:
            is_number[i] = True
    sentence = _numbering(n, sentence_ends)
    doc = Document(columns, sentence, _numbering(n, clause_ends),
                   rules.index.find_in(texts, is_number),
                   texts=texts, kinds=kinds, numbers=numbers)
    # a sentence that ends with "?" asks something (boundary k ends sentence k)
    doc.questions = {k for k, i in enumerate(sentence_ends) if texts[i] == "?"}
    doc.questions |= {sentence[m.start] for m in doc.spans("ctx:question")}
    doc.unreal_from = _unreal_from(doc)
    return doc


def _numbering(size: int, boundaries: list[int]) -> list[int]:
    """For each token, the number of its sentence (or clause): the count of boundaries
    before it (a boundary belongs to the sentence it ends)."""
    out: list[int] = []
    previous = 0
    for number, boundary in enumerate(boundaries):
        out += [number] * (boundary + 1 - previous)
        previous = boundary + 1
    out += [len(boundaries)] * (size - previous)
    return out


def _unreal_from(doc: Document) -> dict[int, int]:
    """Where, sentence by sentence, the text stops reporting and starts supposing."""
    first: dict[int, int] = {}

    def mark(sentence: int, start: int) -> None:
        if start < first.get(sentence, start + 1):
            first[sentence] = start

    for m in doc.spans("ctx:awareness"):
        mark(doc.sentence[m.start], -1)  # the whole sentence
    for m in doc.spans("ctx:worry") + doc.spans("ctx:animal"):
        mark(doc.sentence[m.start], m.start)
    for m in doc.spans("ctx:hypothetical"):
        if doc.sentence[m.start] in doc.questions:
            mark(doc.sentence[m.start], m.start)
    return first


@dataclass(slots=True)
class Timeline:
    """Which sentences speak of the past, of now, of the victim being out."""

    past: set[int]
    now: set[int]  # the sentence itself says now
    near_now: set[int]  # now in the sentence, or the one before or after
    imminent: set[int]  # tonight, tomorrow morning, right now
    returned: set[int]  # home again, or escaped
    returned_spans: list[Match]
    recent: set[int] = field(default_factory=set)  # clauses dated in the last 72 hours
    elapsed: list[tuple[int, int]] = field(default_factory=list)  # (number token, days ago)

    @classmethod
    def of(cls, doc: Document, received: date | None = None) -> Timeline:
        # "từ năm ngoái" is since last year: still going on, not past.
        past = {doc.sentence[m.start] for m in doc.spans("ctx:past")
                if m.start == 0 or doc.texts[m.start - 1] != "tu"}
        not_now = doc.spans("ctx:not_now")
        now = {doc.sentence[m.start] for m in doc.spans("ctx:now") if not overlaps(m, not_now)}
        # A report often gives the time in the sentence before or after the act.
        near_now = {s + d for s in now for d in (-1, 0, 1)}
        imminent = {doc.sentence[m.start] for m in doc.spans("ctx:imminent")
                    if not overlaps(m, not_now)}
        # "muốn được cứu" is a wish, not a rescue.
        returned = {doc.sentence[m.start] for m in doc.spans("ctx:returned")
                    if m.start == 0 or doc.texts[m.start - 1] not in WISH_WORDS}
        returned |= doc.in_sentences("ctx:escaped")
        spans = [m for m in doc.spans("ctx:returned") + doc.spans("ctx:escaped")
                 if doc.sentence[m.start] in returned]
        elapsed = elapsed_at(doc.columns, received, doc.numbers) if doc.numbers else []
        return cls(past, now, near_now, imminent, returned, spans,
                   _dated_recent(doc, elapsed), elapsed)


def _dated_recent(doc: Document, elapsed: list[tuple[int, int]]) -> set[int]:
    """The clauses that date what they tell in the last 72 hours ("bị đưa sang Trung
    Quốc đêm qua"); a clause that only tells the time ("Đêm qua, ...") dates the clauses
    beside it in its sentence. "bị lừa sang Lào, hôm qua gọi về" dates the call only."""
    cues = doc.spans("ctx:recent")
    dated = {doc.clause[m.start] for m in cues}
    dated.update(doc.clause[i] for i, days in elapsed if days <= RECENT_DAYS)
    if not dated:
        return dated
    timing = cues + doc.spans("ctx:now") + doc.spans("ctx:imminent")
    clause, texts, kinds = doc.clause, doc.texts, doc.kinds
    for c in list(dated):
        first, last = bisect_left(clause, c), bisect_right(clause, c)
        told = {i for m in timing if first <= m.start < last for i in range(m.start, m.end)}
        if all(i in told or kinds[i] != WORD or texts[i] in TIME_WORDS
               for i in range(first, last)):
            sentence = doc.sentence[first]
            for beside in (bisect_left(clause, c - 1), last):  # first token of each neighbour
                if beside < len(clause) and clause[beside] != c \
                        and doc.sentence[beside] == sentence:
                    dated.add(clause[beside])
    return dated


def overlaps(match: Match, others: list[Match]) -> bool:
    return any(o.start < match.end and match.start < o.end for o in others)


def cover(size: int, spans: list[Match]) -> list[int]:
    """For each token, the length of the longest span covering it (0 if none)."""
    lengths = [0] * size
    for span in spans:
        length = span.end - span.start
        for k in range(span.start, span.end):
            if lengths[k] < length:
                lengths[k] = length
    return lengths


def covered(match: Match, lengths: list[int]) -> bool:
    """A harmless sense covers an indicator unless the indicator is the longer phrase
    ("mang thai hộ" is still surrogacy although "mang thai" is harmless)."""
    return max(lengths[match.start:match.end]) >= match.end - match.start


def negated(doc: Document, match: Match) -> bool:
    """A negation just before, in the same clause, with no "thì"/"mà"/"nhưng" between:
    "không bị nhốt" is negated; "không chịu thì bị đánh" is not."""
    for neg in doc.spans("ctx:negation"):
        if neg.end <= match.start and match.start - neg.end < NEGATION_WINDOW \
                and doc.clause[neg.start] == doc.clause[match.start] \
                and NEGATION_BARRIERS.isdisjoint(doc.texts[neg.end:match.start + 1]):
            return True
    return False


def hypothetical(doc: Document, start: int) -> bool:
    """After "nếu" in a sentence that asks; after a worry ("lo con bị") or an animal
    ("con mèo bị nhốt"); or anywhere in a sentence about awareness work or a film."""
    if start >= len(doc.texts):
        return False
    return doc.unreal_from.get(doc.sentence[start], start) < start


def has_cue(doc: Document, match: Match, cues: tuple[tuple[str, ...], ...]) -> bool:
    """A cue elsewhere in the sentence (the phrase itself is no cue for itself)."""
    s = doc.sentence[match.start]
    first, last = bisect_left(doc.sentence, s), bisect_right(doc.sentence, s)
    return contains_any(doc.texts[first:match.start], cues) \
        or contains_any(doc.texts[match.end:last], cues)
