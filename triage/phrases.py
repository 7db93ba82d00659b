"""Phrase matching over folded tokens.

A phrase is a tuple of folded tokens; "#" stands for any number. Matching never
crosses punctuation, so a phrase stays inside one clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .normalize import NUMBER, Token

ANY_NUMBER = "#"


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # token index, inclusive
    end: int  # token index, exclusive
    payload: Any


class PhraseIndex:
    """All phrases of a rule set, found in one pass over the tokens."""

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], Any]]):
        by_first: dict[str, list[tuple[tuple[str, ...], Any]]] = {}
        for phrase, payload in entries:
            by_first.setdefault(phrase[0], []).append((phrase, payload))
        for candidates in by_first.values():
            candidates.sort(key=lambda c: -len(c[0]))  # longest first
        self._by_first = by_first

    def find(self, tokens: Sequence[Token]) -> list[Match]:
        keys = [ANY_NUMBER if t.kind == NUMBER else t.text for t in tokens]
        texts = [t.text for t in tokens]
        matches = []
        n = len(tokens)
        for i in range(n):
            candidates = self._by_first.get(keys[i])
            if candidates is None and keys[i] == ANY_NUMBER:
                candidates = self._by_first.get(texts[i])
            if not candidates:
                continue
            for phrase, payload in candidates:
                end = i + len(phrase)
                if end <= n and _same(phrase, keys, texts, i):
                    matches.append(Match(i, end, payload))
        return matches


def _same(phrase: tuple[str, ...], keys: list[str], texts: list[str], at: int) -> bool:
    for k, word in enumerate(phrase):
        if word != keys[at + k] and word != texts[at + k]:
            return False
    return True


def longest_non_overlapping(matches: Iterable[Match]) -> list[Match]:
    """Keep the longest match where matches overlap ("Lào Cai" wins over "Lào").

    Matches of exactly the same span are all kept: "Móng Cái" is a city and a gate.
    """
    chosen: list[Match] = []
    taken: set[int] = set()
    spans: set[tuple[int, int]] = set()
    for match in sorted(matches, key=lambda m: (-(m.end - m.start), m.start)):
        span = range(match.start, match.end)
        if taken.isdisjoint(span) or (match.start, match.end) in spans:
            chosen.append(match)
            taken.update(span)
            spans.add((match.start, match.end))
    return sorted(chosen, key=lambda m: m.start)
