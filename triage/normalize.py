"""Text to tokens: folding, tokenising, teencode expansion and number words.

Every verdict is computed on the folded view (lower case, no diacritics, đ → d), so
a tip typed with or without accents, in upper case or decomposed Unicode gets the same
answer. Each token keeps the code-point span of the original text it came from, so
reasons point into the text as given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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


class _Memo(dict):
    """key → function(key), remembered: tips reuse a small vocabulary, so nearly every
    lookup hits. Long keys are not kept, and it starts afresh past `limit` entries, so
    that no input can make it grow without end."""

    __slots__ = ("function", "limit")

    def __init__(self, function: Callable[[str], str], limit: int = 50_000):
        super().__init__()
        self.function, self.limit = function, limit

    def __missing__(self, key: str) -> str:
        value = self.function(key)
        if len(key) <= _MEMO_KEY_MAX:
            if len(self) >= self.limit:
                self.clear()
            self[key] = value
        return value


_MEMO_KEY_MAX = 40


def fold(text: str) -> str:
    """The folded view of a text: lower case, no diacritics, đ → d, one char per code point."""
    if text.isascii():  # str.translate has a fast path for ASCII
        return text.translate(_TABLE)
    # Folding is per character, so it may go word by word, and words recur.
    return " ".join(map(_FOLDED_WORDS.__getitem__, text.split(" ")))


def _fold_word(word: str) -> str:
    return word.translate(_TABLE)


_FOLDED_WORDS = _Memo(_fold_word)


def _squeeze(word: str) -> str:
    """A word without its typed repeats; "kk", "cccd" (no vowel) are abbreviations."""
    if _TYPO_REPEAT_RE.search(word) and _VOWEL_RE.search(word):
        return _collapse_repeats(word)
    return word


def _collapse_repeats(word: str) -> str:
    """"cuuuu" → "cuu", "nhott" → "nhot", "emmm" → "em": typed repeats, not spelling.

    Vietnamese doubles only u and o ("cuu", "xoong"); every other run is a typo.
    """

    def squeeze(match: re.Match) -> str:
        letter = match.group(1)
        return letter * 2 if letter in "uo" else letter

    return _REPEAT_RE.sub(squeeze, word)


_SQUEEZED_WORDS = _Memo(_squeeze)


class Token(NamedTuple):
    """One folded token and the code-point span of the original text it came from."""

    text: str
    start: int
    end: int
    kind: str
    value: int | None = None  # numbers: the integer value when it is a plain number


_PUNCT_CHARS = frozenset(".!?;\n,")


@dataclass(slots=True)
class Columns:
    """The tokens of a text as parallel lists, one entry per token: what the rules read.

    One Token object per word would cost more than the rest of the tokeniser together,
    so the tokeniser and the rules work on these lists; tokenize() gives Tokens.
    """

    texts: list[str]
    starts: list[int]
    ends: list[int]
    kinds: list[str]
    values: list[int | None]

    @classmethod
    def of(cls, rows: list[tuple]) -> Columns:
        """Columns of rows (text, start, end, kind, value): Tokens or plain tuples."""
        if not rows:
            return cls([], [], [], [], [])
        texts, starts, ends, kinds, values = map(list, zip(*rows, strict=True))
        return cls(texts, starts, ends, kinds, values)

    def __len__(self) -> int:
        return len(self.texts)

    def tokens(self) -> list[Token]:
        return list(map(_make_token, zip(self.texts, self.starts, self.ends, self.kinds,
                                         self.values, strict=True)))

    def splice(self, edits: list[tuple[int, int, list[tuple]]]) -> Columns:
        """A copy where each edit (i, j, rows), in order and not overlapping, replaces
        tokens i to j (exclusive) by its rows."""
        columns = (self.texts, self.starts, self.ends, self.kinds, self.values)
        out: tuple[list, ...] = ([], [], [], [], [])
        done = 0
        for i, j, rows in edits:
            for new, old in zip(out, columns, strict=True):
                new.extend(old[done:i])
            for row in rows:
                for new, field_value in zip(out, row, strict=True):
                    new.append(field_value)
            done = j
        for new, old in zip(out, columns, strict=True):
            new.extend(old[done:])
        return Columns(*out)


def _boundary(surface: str) -> str:
    return "," if surface == "," else ("?" if "?" in surface else ".")


def _careful_tokens(folded: str) -> Columns:
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
        tokens.append((surface, start, end, kind, value))
    return Columns.of(tokens)


def _raw_columns(text: str) -> Columns:
    folded = fold(text)
    columns = _careful_tokens(folded) if _MARK in folded else _plain_tokens(folded)
    if "=" in text or ":" in text or ";" in text or "^" in text:
        laughs = [("haha", m.start(), m.end(), WORD, None) for m in _LAUGH_RE.finditer(text)]
        if laughs:
            rows = list(zip(columns.texts, columns.starts, columns.ends, columns.kinds,
                            columns.values, strict=True))
            columns = Columns.of(sorted(rows + laughs, key=_start_of))
    return columns


def _plain_tokens(folded: str) -> Columns:
    """Tokens of a folded text without combining marks: the usual case, so the lists
    are built by the regex engine and C-level maps rather than a loop per token."""
    # split() keeps each token between the separators: [sep, token, sep, ..., sep]
    parts = (_ASCII_SPLIT_RE if folded.isascii() else _SPLIT_RE).split(folded)
    texts = parts[1::2]
    if not texts:
        return Columns([], [], [], [], [])
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
    texts = list(map(_SQUEEZED_WORDS.__getitem__, texts))  # "cuuuu" → "cuu", "nhott" → "nhot"
    return Columns(texts, starts, ends, kinds, values)


class _KindOfFirst(dict):
    """A token's kind from its first character (the regex has already split them)."""

    def __missing__(self, first: str) -> str:
        self[first] = kind = NUMBER if first.isdigit() else \
            PUNCT if first in _PUNCT_CHARS else WORD
        return kind


_KIND_OF_FIRST = _KindOfFirst()
_first_char = itemgetter(0)
_start_of = itemgetter(1)
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


_make_token = partial(tuple.__new__, Token)  # a Token from a tuple of its fields
EMPTY_LEXICON = Lexicon({}, {}, {}, {}, {}, frozenset())


def tokenize(text: str, lexicon: Lexicon = EMPTY_LEXICON) -> list[Token]:
    """Folded, rewritten tokens with spans into ``text``."""
    return token_columns(text, lexicon).tokens()


def token_columns(text: str, lexicon: Lexicon = EMPTY_LEXICON) -> Columns:
    """tokenize() as parallel lists."""
    # Number words first, so that "mười sáu t" reads as 16 before "t" is rewritten.
    columns = _read_number_words(_join_phone_numbers(_raw_columns(text)), lexicon)
    return _expand(columns, lexicon)


def _expand(columns: Columns, lexicon: Lexicon) -> Columns:
    texts, rewritable = columns.texts, lexicon.rewritable
    if rewritable.isdisjoint(texts):
        return columns
    edits = []
    for i in compress(range(len(texts)), map(rewritable.__contains__, texts)):
        words = _rewrite(columns, i, lexicon)
        if words is None:
            continue
        if len(words) == 1:
            texts[i] = words[0]  # "ko" → "khong": the columns are this call's own
        else:
            start, end = columns.starts[i], columns.ends[i]
            edits.append((i, i + 1, [(word, start, end, WORD, None) for word in words]))
    return columns.splice(edits) if edits else columns


def _rewrite(columns: Columns, i: int, lexicon: Lexicon) -> tuple[str, ...] | None:
    """The words token i stands for, or None to keep it."""
    text, kinds = columns.texts[i], columns.kinds
    if kinds[i] != WORD:
        return None
    prev_is_number = i > 0 and kinds[i - 1] == NUMBER
    next_is_number = i + 1 < len(kinds) and kinds[i + 1] == NUMBER
    if prev_is_number and text in lexicon.after_number:
        return lexicon.after_number[text]
    if next_is_number and text in lexicon.before_number:
        return lexicon.before_number[text]
    if not prev_is_number and text in lexicon.not_after_number:
        return lexicon.not_after_number[text]
    return lexicon.expand.get(text)


def _join_phone_numbers(columns: Columns) -> Columns:
    """"0912 345 678", "0912.345.678", "+84 912 345 678": one number with no value, so
    that no part of it is read as an age or a count."""
    texts, kinds, starts, ends = columns.texts, columns.kinds, columns.starts, columns.ends
    first_parts = [i for i in compress(range(len(texts)), map(NUMBER.__eq__, kinds))
                   if texts[i].startswith(("0", "84"))]
    edits = []
    done = 0  # tokens before this index are taken
    for i in first_parts:
        if i < done:
            continue  # part of the number before
        # 10 digits (0912 345 678); 11 for 84... and the old 01xx numbers
        length = 11 if texts[i].startswith(("84", "01")) else 10
        j, digits = i + 1, len(texts[i])
        while j < len(texts) and kinds[j] == NUMBER and digits < length \
                and starts[j] - ends[j - 1] <= 1 and texts[j].isdigit():
            digits += len(texts[j])
            j += 1
        if j > i + 1 and digits == length:
            edits.append((i, j, [("".join(texts[i:j]), starts[i], ends[j - 1], NUMBER, None)]))
            done = j
    return columns.splice(edits) if edits else columns


def _read_number_words(columns: Columns, lexicon: Lexicon) -> Columns:
    """Read "mười lăm", "hai mươi mốt" as numbers when they count something.

    Single number words are also everyday words (ba = father, năm = year, bay = fly),
    so a run is read only when it contains "mươi"/"mười"/"trăm" or a unit follows it.
    """
    words, texts, kinds = lexicon.number_words, columns.texts, columns.kinds
    n = len(texts)
    edits = []
    done = 0  # tokens before this index are taken
    for i in compress(range(n), map(words.__contains__, texts)):
        if i < done or kinds[i] != WORD:
            continue
        if texts[i] == "ba" and i > 0 and texts[i - 1] in _KIN_WORDS \
                and i + 1 < n and texts[i + 1] in words:
            continue  # "cháu trai bà mười lăm tuổi": bà is the grandmother
        j = i
        while j < n and kinds[j] == WORD and texts[j] in words:
            j += 1
        run = texts[i:j]
        value, used = _number_value(run, words)
        followed_by_unit = i + used < n and texts[i + used] in lexicon.number_units
        has_tens = "muoi" in run[:used] or "tram" in run[:used]
        if value is not None and used and (has_tens or followed_by_unit):
            edits.append((i, i + used, [(str(value), columns.starts[i],
                                         columns.ends[i + used - 1], NUMBER, value)]))
            done = i + used
    return columns.splice(edits) if edits else columns


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
