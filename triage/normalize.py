"""Text to tokens: folding, tokenising, teencode expansion and number words.

Every verdict is computed on the folded view (lower case, no diacritics, đ → d), so
a tip typed with or without accents, in upper case or decomposed Unicode gets the same
answer. Each token keeps the code-point span of the original text it came from, so
reasons point into the text as given.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import partial
from itertools import accumulate, compress
from operator import itemgetter
from typing import NamedTuple

WORD, NUMBER, PUNCT = "w", "n", "p"

# Characters kept as sentence or clause boundaries; everything else that is not a
# letter or a digit separates tokens and is dropped.
_BOUNDARY = set(".!?;\n,")
_NUMBER_JOINERS = set(".:/")
_MARK = "\x00"  # stands in for a combining mark so offsets stay one to one


class _FoldTable(dict):
    """str.translate table that folds each code point to exactly one character."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = _fold_char(chr(code))
        return folded


def _fold_char(ch: str) -> str:
    if 0xD800 <= ord(ch) <= 0xDFFF:  # a lone surrogate: nothing to read
        return " "
    category = unicodedata.category(ch)
    if category == "Mn":
        return _MARK
    if category[0] == "L":
        base = unicodedata.normalize("NFD", ch)[0].lower()[0]
        return "d" if base in "đð" else base
    if category == "Nd":
        return ch
    if ch in _BOUNDARY or ch in _NUMBER_JOINERS:
        return ch
    return " "


_TABLE = _FoldTable()
# Laughter typed as faces ("=)))", ":))", ":D", ":v") is read as the word "haha".
_LAUGH_RE = re.compile(r"[=:;]\)\)+|[=:]D+\b|:v\b|\^\^|=\)+", re.IGNORECASE)
# Words first: most tokens are words, and the first alternative that fits is taken.
_TOKEN_RE = re.compile(r"[^\W\d_](?:[^\W\d_]|\x00)*|\d+(?:[.:/]\d+)*|[.!?;\n]+|,")
_REPEAT_RE = re.compile(r"([a-z])\1+")
# Repeats worth squeezing: any doubled letter but u and o, or u and o three times.
_TYPO_REPEAT_RE = re.compile(r"([a-np-tv-z])\1|([ou])\2\2")
_VOWEL_RE = re.compile(r"[aeiouy]")  # "kk", "tt", "cccd" are abbreviations, not typos


def fold(text: str) -> str:
    """The folded view of a text: lower case, no diacritics, đ → d, one char per code point."""
    return text.translate(_TABLE)


def _collapse_repeats(word: str) -> str:
    """"cuuuu" → "cuu", "nhott" → "nhot", "emmm" → "em": typed repeats, not spelling.

    Vietnamese doubles only u and o ("cuu", "xoong"); every other run is a typo.
    """

    def squeeze(match: re.Match) -> str:
        letter = match.group(1)
        return letter * 2 if letter in "uo" else letter

    return _REPEAT_RE.sub(squeeze, word)


class Token(NamedTuple):
    """One folded token and the code-point span of the original text it came from."""

    text: str
    start: int
    end: int
    kind: str
    value: int | None = None  # numbers: the integer value when it is a plain number


_PUNCT_CHARS = frozenset(".!?;\n,")


def _boundary(surface: str) -> str:
    return "," if surface == "," else ("?" if "?" in surface else ".")


def _careful_tokens(folded: str) -> list[Token]:
    """Tokens of a text with combining marks (decomposed input): a mark is part of the
    word before it, and its span."""
    size = len(folded)
    tokens = []
    for match in _TOKEN_RE.finditer(folded):
        surface = match.group()
        start, end = match.span()
        value = None
        if surface[0] in _PUNCT_CHARS:
            kind, surface = PUNCT, _boundary(surface)
        elif surface[0].isdigit():
            kind = NUMBER
            if surface.isdigit() and len(surface) <= 12:
                value = int(surface)
        else:
            kind = WORD
            surface = surface.replace(_MARK, "")
            if not surface:
                continue
            if _TYPO_REPEAT_RE.search(surface) and _VOWEL_RE.search(surface):
                surface = _collapse_repeats(surface)
        while end < size and folded[end] == _MARK:  # the marks after its last letter
            end += 1
        tokens.append(_new_token(Token, (surface, start, end, kind, value)))
    return tokens


def _raw_tokens(text: str) -> list[Token]:
    folded = text.translate(_TABLE)
    tokens = _careful_tokens(folded) if _MARK in folded else _plain_tokens(folded)
    if "=" in text or ":" in text or ";" in text or "^" in text:
        laughs = [_new_token(Token, ("haha", m.start(), m.end(), WORD, None))
                  for m in _LAUGH_RE.finditer(text)]
        if laughs:
            tokens = sorted(tokens + laughs, key=lambda t: t.start)
    return tokens


def _plain_tokens(folded: str) -> list[Token]:
    """Tokens of a folded text without combining marks: the usual case, so the lists
    are built by the regex engine and C-level maps rather than a loop per token."""
    # split() keeps each token between the separators: [sep, token, sep, ..., sep]
    parts = (_ASCII_SPLIT_RE if folded.isascii() else _SPLIT_RE).split(folded)
    texts = parts[1::2]
    if not texts:
        return []
    offsets = list(accumulate(map(len, parts)))
    starts, ends = offsets[0:-1:2], offsets[1::2]
    kinds = list(map(_KIND_OF_FIRST.__getitem__, map(_first_char, texts)))
    values: list[int | None] = [None] * len(texts)
    for i in compress(range(len(kinds)), map(WORD.__ne__, kinds)):
        surface = texts[i]
        if kinds[i] == PUNCT:
            texts[i] = _boundary(surface)
        elif surface.isdigit() and len(surface) <= 12:
            values[i] = int(surface)
    # where typed repeats are ("cuuuu", "nhott"): only those words are squeezed
    for at in {bisect_right(starts, m.start()) - 1 for m in _TYPO_REPEAT_RE.finditer(folded)}:
        if _VOWEL_RE.search(texts[at]):
            texts[at] = _collapse_repeats(texts[at])
    return list(map(_make_token, zip(texts, starts, ends, kinds, values, strict=True)))


class _KindOfFirst(dict):
    """A token's kind from its first character (the regex has already split them)."""

    def __missing__(self, first: str) -> str:
        self[first] = kind = NUMBER if first.isdigit() else \
            PUNCT if first in _PUNCT_CHARS else WORD
        return kind


_KIND_OF_FIRST = _KindOfFirst()
_first_char = _text_of = itemgetter(0)
_kind_of = itemgetter(3)
_SPLIT_RE = re.compile(r"([^\W\d_]+|\d+(?:[.:/]\d+)*|[.!?;\n]+|,)")
_ASCII_SPLIT_RE = re.compile(r"([a-z]+|[0-9]+(?:[.:/][0-9]+)*|[.!?;\n]+|,)")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Token rewrites: teencode, abbreviations, dialect, number words."""

    expand: dict[str, tuple[str, ...]]
    after_number: dict[str, tuple[str, ...]]
    before_number: dict[str, tuple[str, ...]]
    not_after_number: dict[str, tuple[str, ...]]
    number_words: dict[str, int]
    number_units: frozenset[str]
    rewritable: frozenset[str] = frozenset()  # every token some rewrite applies to

    def __post_init__(self) -> None:
        keys = frozenset().union(self.expand, self.after_number, self.before_number,
                                 self.not_after_number)
        object.__setattr__(self, "rewritable", keys)


_new_token = tuple.__new__  # twice as fast as Token(...) in the tokeniser's inner loop
_make_token = partial(tuple.__new__, Token)  # a Token from a tuple of its fields
EMPTY_LEXICON = Lexicon({}, {}, {}, {}, {}, frozenset())


def tokenize(text: str, lexicon: Lexicon = EMPTY_LEXICON) -> list[Token]:
    """Folded, rewritten tokens with spans into ``text``."""
    # Number words first, so that "mười sáu t" reads as 16 before "t" is rewritten.
    tokens = _read_number_words(_join_phone_numbers(_raw_tokens(text)), lexicon)
    return _expand(tokens, lexicon)


def _expand(tokens: list[Token], lexicon: Lexicon) -> list[Token]:
    rewritable = lexicon.rewritable
    texts = list(map(_text_of, tokens))
    if rewritable.isdisjoint(texts):
        return tokens
    out: list[Token] = []
    done = 0  # tokens before this index are in `out`
    for i in compress(range(len(texts)), map(rewritable.__contains__, texts)):
        words = _rewrite(tokens, i, lexicon)
        if words is not None:
            token = tokens[i]
            out.extend(tokens[done:i])
            out.extend(Token(word, token.start, token.end, WORD) for word in words)
            done = i + 1
    out.extend(tokens[done:])
    return out


def _rewrite(tokens: list[Token], i: int, lexicon: Lexicon) -> tuple[str, ...] | None:
    """The words token i stands for, or None to keep it."""
    token = tokens[i]
    if token.kind != WORD:
        return None
    prev_is_number = i > 0 and tokens[i - 1].kind == NUMBER
    next_is_number = i + 1 < len(tokens) and tokens[i + 1].kind == NUMBER
    if prev_is_number and token.text in lexicon.after_number:
        return lexicon.after_number[token.text]
    if next_is_number and token.text in lexicon.before_number:
        return lexicon.before_number[token.text]
    if not prev_is_number and token.text in lexicon.not_after_number:
        return lexicon.not_after_number[token.text]
    return lexicon.expand.get(token.text)


def _join_phone_numbers(tokens: list[Token]) -> list[Token]:
    """"0912 345 678", "0912.345.678", "+84 912 345 678": one number with no value, so
    that no part of it is read as an age or a count."""
    starts = [i for i in compress(range(len(tokens)), map(NUMBER.__eq__, map(_kind_of, tokens)))
              if tokens[i].text.startswith(("0", "84"))]
    if not starts:
        return tokens
    out: list[Token] = []
    done = 0  # tokens before this index are in `out`
    for i in starts:
        if i < done:
            continue  # part of the number before
        token = tokens[i]
        # 10 digits (0912 345 678); 11 for 84... and the old 01xx numbers
        length = 11 if token.text.startswith(("84", "01")) else 10
        j, digits = i + 1, len(token.text)
        while j < len(tokens) and tokens[j].kind == NUMBER and digits < length \
                and tokens[j].start - tokens[j - 1].end <= 1 and tokens[j].text.isdigit():
            digits += len(tokens[j].text)
            j += 1
        if j > i + 1 and digits == length:
            out.extend(tokens[done:i])
            out.append(_new_token(Token, ("".join(t.text for t in tokens[i:j]), token.start,
                                          tokens[j - 1].end, NUMBER, None)))
            done = j
    out.extend(tokens[done:])
    return out


def _read_number_words(tokens: list[Token], lexicon: Lexicon) -> list[Token]:
    """Read "mười lăm", "hai mươi mốt" as numbers when they count something.

    Single number words are also everyday words (ba = father, năm = year, bay = fly),
    so a run is read only when it contains "mươi"/"mười"/"trăm" or a unit follows it.
    """
    words = lexicon.number_words
    texts = map(_text_of, tokens)
    starts = [i for i in compress(range(len(tokens)), map(words.__contains__, texts))
              if tokens[i].kind == WORD]
    if not starts:
        return tokens
    out: list[Token] = []
    done = 0  # tokens before this index are in `out`
    for i in starts:
        if i < done:
            continue
        out.extend(tokens[done:i])
        done = i
        if tokens[i].text == "ba" and i > 0 and tokens[i - 1].text in _KIN_WORDS \
                and i + 1 < len(tokens) and tokens[i + 1].text in words:
            continue  # "cháu trai bà mười lăm tuổi": bà is the grandmother
        j = i
        while j < len(tokens) and tokens[j].kind == WORD and tokens[j].text in words:
            j += 1
        run = tokens[i:j]
        value, used = _number_value([t.text for t in run], words)
        followed_by_unit = i + used < len(tokens) and tokens[i + used].text in lexicon.number_units
        has_tens = any(t.text in ("muoi", "tram") for t in run[:used])
        if value is not None and used and (has_tens or followed_by_unit):
            out.append(Token(str(value), run[0].start, run[used - 1].end, NUMBER, value))
            done = i + used
    out.extend(tokens[done:])
    return out


_ONLY_AFTER_TENS = frozenset({"tu", "lam", "nham"})
_KIN_WORDS = frozenset({"chau", "trai", "gai", "con", "cua", "nha", "em", "ong"})


def _number_value(run: list[str], words: dict[str, int]) -> tuple[int | None, int]:
    """Value of the longest readable prefix of a run of number words, and its length."""
    total, current, used = 0, None, 0
    for k, word in enumerate(run):
        value = words[word]
        if word == "muoi":
            current = 10 if current is None else current * 10
        elif word == "tram":
            current = (current or 1) * 100
            total, current = total + current, None
        elif value in (1000, 1_000_000):
            total = (total + (current or 0) or 1) * value
            current = None
        elif word in _ONLY_AFTER_TENS and (current is None or current % 10 or current < 10):
            break  # "tư", "lăm" are digits only after a ten; alone "tu" is "from"
        elif current is not None and current % 10 == 0 and current >= 10:
            # "mười lăm" = 15, "hai mươi mốt" = 21, "hai mươi tư" = 24
            current += value
        elif current is None:
            current = value
        else:
            break
        used = k + 1
    if not used:
        return None, 0
    return total + (current or 0), used
