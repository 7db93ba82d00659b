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


_new_match = tuple.__new__  # twice as fast as Match(...) in the inner loop


class PhraseIndex:
    """All phrases of a rule set in a token trie, found in one pass over the tokens.

    Each payload has a ``kind`` (indicator, place, ctx:negation, ...) by which matches
    are grouped.
    """

    _END = ""  # key of the payload list in a trie node; no token is empty

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], Any]]):
        self._root: dict = {}
        for phrase, payload in entries:
            node = self._root
            for word in phrase:
                node = node.setdefault(word, {})
            node.setdefault(self._END, []).append(payload)

    def find(self, tokens: Sequence[Token]) -> list[Match]:
        """Every phrase occurrence, overlapping and nested ones included."""
        return [m for group in self.find_by_kind(tokens).values() for m in group]

    def find_by_kind(self, tokens: Sequence[Token]) -> dict[str, list[Match]]:
        """Every phrase occurrence, grouped by the `kind` of its payload."""
        texts = [t.text for t in tokens]
        numbers = [t.kind == NUMBER for t in tokens]
        end_key, root = self._END, self._root
        wild_root = root.get(ANY_NUMBER)
        by_kind: dict[str, list[Match]] = {}
        n = len(tokens)
        for i in range(n):
            stack = []
            node = root.get(texts[i])
            if node is not None:
                stack.append((node, i + 1))
            if numbers[i] and wild_root is not None:
                stack.append((wild_root, i + 1))
            while stack:  # usually one path; "#" may branch
                node, j = stack.pop()
                payloads = node.get(end_key)
                if payloads:
                    for payload in payloads:
                        group = by_kind.get(payload.kind)
                        if group is None:
                            group = by_kind[payload.kind] = []
                        group.append(_new_match(Match, (i, j, payload)))
                if j < n:
                    child = node.get(texts[j])
                    if child is not None:
                        stack.append((child, j + 1))
                    if numbers[j]:
                        wild = node.get(ANY_NUMBER)
                        if wild is not None:
                            stack.append((wild, j + 1))
        return by_kind


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


def contains_any(words: Sequence[str], phrases: Iterable[tuple[str, ...]]) -> bool:
    """True when one of the phrases (tuples of words) occurs in the words."""
    for phrase in phrases:
        size = len(phrase)
        for k in range(len(words) - size + 1):
            if tuple(words[k:k + size]) == phrase:
                return True
    return False
