"""Phrase matching over folded tokens.

A phrase is a tuple of folded tokens; "#" stands for any number. Matching never
crosses punctuation, so a phrase stays inside one clause.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from itertools import compress
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
        numbers = [t.kind == NUMBER for t in tokens]
        return self.find_in([t.text for t in tokens], numbers if any(numbers) else None)

    def find_in(self, texts: list[str], numbers: list[bool] | None) -> dict[str, list[Match]]:
        """find_by_kind() on the tokens' texts; `numbers` flags the number tokens (None
        when there are none)."""
        end_key, root = self._END, self._root
        by_kind: dict[str, list[Match]] = {}
        n = len(texts)
        if numbers:  # a number may also start "#" phrases
            starts = compress(range(n), map(operator.or_, numbers, map(root.__contains__, texts)))
        else:
            starts = compress(range(n), map(root.__contains__, texts))
        for i in starts:
            if numbers and numbers[i]:  # a number may start "#" phrases as well as literal ones
                self._branching(root, i, i, texts, numbers, by_kind)
                continue
            node = root[texts[i]]
            j = i + 1
            while True:  # one path: words match themselves only
                if end_key in node:  # _record(), inlined: this loop runs for every token
                    for payload in node[end_key]:
                        group = by_kind.get(payload.kind)
                        if group is None:
                            by_kind[payload.kind] = [_new_match(Match, (i, j, payload))]
                        else:
                            group.append(_new_match(Match, (i, j, payload)))
                if j >= n:
                    break
                if numbers and numbers[j] and ANY_NUMBER in node:
                    self._branching(node, i, j, texts, numbers, by_kind)
                    break
                node = node.get(texts[j])
                if node is None:
                    break
                j += 1
        return by_kind

    def _branching(self, start: dict, i: int, j: int, texts: list[str], numbers: list[bool],
                   by_kind: dict[str, list[Match]]) -> None:
        """Walk on from `start` at token j, where a number may match itself or "#"."""
        end_key, n = self._END, len(texts)
        stack = [(start, j)]
        while stack:
            node, j = stack.pop()
            if j >= n:
                continue
            for key in (texts[j], ANY_NUMBER) if numbers[j] else (texts[j],):
                child = node.get(key)
                if child is not None:
                    payloads = child.get(end_key)
                    if payloads:
                        _record(by_kind, i, j + 1, payloads)
                    stack.append((child, j + 1))


def _record(by_kind: dict[str, list[Match]], i: int, j: int, payloads: list) -> None:
    for payload in payloads:
        group = by_kind.get(payload.kind)
        if group is None:
            group = by_kind[payload.kind] = []
        group.append(_new_match(Match, (i, j, payload)))


def longest_non_overlapping(matches: Iterable[Match]) -> list[Match]:
    """Keep the longest match where matches overlap ("Lào Cai" wins over "Lào").

    Matches of exactly the same span are all kept: "Móng Cái" is a city and a gate.
    """
    if not isinstance(matches, list):
        matches = list(matches)
    if len(matches) < 2:
        return matches
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
    present = set(words)
    for phrase in phrases:
        if phrase[0] not in present:
            continue
        size = len(phrase)
        for k in range(len(words) - size + 1):
            if tuple(words[k:k + size]) == phrase:
                return True
    return False
