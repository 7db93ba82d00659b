"""Phrase matching over folded tokens.

A phrase is a tuple of folded tokens; "#" stands for any number. Matching never
crosses punctuation, so a phrase stays inside one clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from .normalize import NUMBER, Token

ANY_NUMBER = "#"


class Match(NamedTuple):
    start: int  # token index, inclusive
    end: int  # token index, exclusive
    payload: Any


class PhraseIndex:
    """All phrases of a rule set in a token trie, found in one pass over the tokens."""

    _END = ""  # key of the payload list in a trie node; no token is empty

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], Any]]):
        self._root: dict = {}
        for phrase, payload in entries:
            node = self._root
            for word in phrase:
                node = node.setdefault(word, {})
            node.setdefault(self._END, []).append(payload)

    def find(self, tokens: Sequence[Token]) -> list[Match]:
        """Every phrase occurrence, longest last for each start."""
        texts = [t.text for t in tokens]
        numbers = [t.kind == NUMBER for t in tokens]
        matches = []
        n = len(tokens)
        root = self._root
        for i in range(n):
            if texts[i] not in root and not (numbers[i] and ANY_NUMBER in root):
                continue  # most words start no phrase
            frontier = [root]
            j = i
            while frontier and j < n:
                nxt = []
                for node in frontier:
                    child = node.get(texts[j])
                    if child is not None:
                        nxt.append(child)
                    if numbers[j]:
                        wild = node.get(ANY_NUMBER)
                        if wild is not None:
                            nxt.append(wild)
                j += 1
                for node in nxt:
                    for payload in node.get(self._END, ()):
                        matches.append(Match(i, j, payload))
                frontier = nxt
        return matches


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
