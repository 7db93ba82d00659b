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

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], Any]]):
        trie: dict = {}
        for phrase, payload in entries:
            node = trie
            for word in phrase:
                node = node.setdefault(word, {})
            node.setdefault(_END, []).append(payload)
        self._root: dict[str, _Node] = _freeze(trie)[0]

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
        root = self._root
        by_kind: dict[str, list[Match]] = {}
        n = len(texts)
        if numbers:  # a number may also start "#" phrases
            starts = compress(range(n), map(operator.or_, numbers, map(root.__contains__, texts)))
        else:
            starts = compress(range(n), map(root.__contains__, texts))
        for i in starts:
            if numbers and numbers[i]:  # a number may start "#" phrases as well as literal ones
                self._branching((root, ()), i, i, texts, numbers, by_kind)
                continue
            children, payloads = root[texts[i]]
            j = i + 1
            while True:  # one path: words match themselves only
                if payloads:  # _record(), inlined: this loop runs for every token
                    for kind, payload in payloads:
                        group = by_kind.get(kind)
                        if group is None:
                            by_kind[kind] = [_new_match(Match, (i, j, payload))]
                        else:
                            group.append(_new_match(Match, (i, j, payload)))
                if j >= n:
                    break
                if numbers and numbers[j] and ANY_NUMBER in children:
                    self._branching((children, payloads), i, j, texts, numbers, by_kind)
                    break
                node = children.get(texts[j])
                if node is None:
                    break
                children, payloads = node
                j += 1
        return by_kind

    def _branching(self, start: _Node, i: int, j: int, texts: list[str], numbers: list[bool],
                   by_kind: dict[str, list[Match]]) -> None:
        """Walk on from `start` at token j, where a number may match itself or "#"."""
        n = len(texts)
        stack = [(start, j)]
        while stack:
            (children, _), j = stack.pop()
            if j >= n:
                continue
            for key in (texts[j], ANY_NUMBER) if numbers[j] else (texts[j],):
                child = children.get(key)
                if child is not None:
                    _record(by_kind, i, j + 1, child[1])
                    stack.append((child, j + 1))


# A trie node: the nodes after it by next word, and the (kind, payload) of each phrase
# that ends at it.
_Node = tuple[dict[str, "_Node"], tuple[tuple[str, Any], ...]]
_END = ""  # while building: the key of a node's payload list (no token is empty)


def _freeze(node: dict) -> _Node:
    payloads = tuple((payload.kind, payload) for payload in node.get(_END, ()))
    return {word: _freeze(child) for word, child in node.items() if word != _END}, payloads


def _record(by_kind: dict[str, list[Match]], i: int, j: int,
            payloads: tuple[tuple[str, Any], ...]) -> None:
    for kind, payload in payloads:
        group = by_kind.get(kind)
        if group is None:
            group = by_kind[kind] = []
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
