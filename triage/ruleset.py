"""Loading, validating and compiling the rule data in ``triage/rules/``.

Every rule is data: TOML files read with ``tomllib``. Loading checks each entry and
fails with a ``RuleError`` naming the file and the entry. Phrases are written as
people write them (with diacritics, or in teencode); at load time each is folded and
rewritten through the teencode lexicon, so the one entry also matches its folded and
teencode variants.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .normalize import PUNCT, Lexicon, tokenize
from .phrases import ANY_NUMBER, PhraseIndex
from .result import FUNCTIONS, LEVELS

RULES_DIR = Path(__file__).parent / "rules"
RULE_FILES = ("teencode", "numbers", "categories", "indicators", "combos", "context",
              "children", "places")


class RuleError(ValueError):
    """Rule data that cannot be used, with the file and entry at fault."""


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    level: str
    weight: int
    family: str
    categories: tuple[str, ...]
    functions: tuple[str, ...]
    negatable: bool
    needs_frame: bool  # counts only when the tip is about trafficking, a child or abroad
    after_return: bool  # still danger after the victim got away: threats, pursuit
    conditional: bool  # counts inside "nếu ... thì": a threat is a condition
    cues: tuple[tuple[str, ...], ...]
    not_followed_by: frozenset[str] = frozenset()  # next words that make it another word
    settled: bool = False  # a deal done: plans for later do not lower it


@dataclass(frozen=True, slots=True)
class Combo:
    id: str
    all: tuple[str, ...]
    any: tuple[str, ...]
    none: tuple[str, ...]
    level: str | None
    weight: int
    categories: tuple[str, ...]
    functions: tuple[str, ...]
    parts: frozenset[str] = frozenset()  # all + any
    any_set: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()  # the `all` facts that are not times
    part_categories: frozenset[str] = frozenset()  # X for each part "cat:X"

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", frozenset(self.all + self.any))
        object.__setattr__(self, "any_set", frozenset(self.any))
        object.__setattr__(self, "required",
                           frozenset(f for f in self.all if f not in TIMED_FACTS))
        object.__setattr__(self, "part_categories",
                           frozenset(p[4:] for p in self.parts if p.startswith("cat:")))


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    label_vi: str
    label_en: str
    police: bool


@dataclass(frozen=True, slots=True)
class Hit:
    """What a phrase means when found: its kind, the entry, and whether it needs a cue."""

    kind: str
    entry: object
    ambiguous: bool = False


@dataclass(slots=True)
class RuleSet:
    version: str
    lexicon: Lexicon
    index: PhraseIndex
    indicators: dict[str, Indicator]
    combos: tuple[Combo, ...]
    categories: dict[str, Category]
    context: dict[str, object]
    children: dict[str, object]
    places: object  # triage.places.Gazetteer
    phrases: list[tuple[tuple[str, ...], Hit]] = field(repr=False, default_factory=list)

    def all_phrases(self) -> list[str]:
        """Every folded phrase the rules match (for the benchmark's regex baseline)."""
        return sorted({" ".join(p) for p, _ in self.phrases if ANY_NUMBER not in p})


def phrase_key(text: str, lexicon: Lexicon) -> tuple[str, ...]:
    """A rule phrase as folded, rewritten tokens: the form it is matched in."""
    words = []
    # "#" stands for any number; it is not a word, so it is carried through as one.
    for token in tokenize(text.replace(ANY_NUMBER, f" {_NUMBER_MARK} "), lexicon):
        if token.kind == PUNCT:
            continue
        words.append(ANY_NUMBER if token.text == _NUMBER_MARK else token.text)
    return tuple(words)


_NUMBER_MARK = "anynumberxz"  # a word no text has, with no repeated letters


# -- reading and checking ----------------------------------------------------------


def _read(directory: Path, name: str) -> tuple[dict, bytes]:
    path = directory / f"{name}.toml"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleError(f"{path.name}: cannot read: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path.name}: not valid TOML: {exc}") from None


class _Checker:
    """Typed access to one entry that reports errors as 'file: entry: problem'."""

    def __init__(self, where: str, data: dict):
        self.where = where
        self.data = data

    def fail(self, problem: str) -> RuleError:
        return RuleError(f"{self.where}: {problem}")

    def str(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be a non-empty string")
        return value

    def int(self, key: str, default: int | None = None, lo: int = 0, hi: int = 100) -> int:
        value = self.data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise self.fail(f"'{key}' must be an integer from {lo} to {hi}")
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false")
        return value

    def strs(self, key: str, required: bool = False) -> list[str]:
        value = self.data.get(key, [] if not required else None)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"'{key}' must be a list of non-empty strings")
        if required and not value:
            raise self.fail(f"'{key}' must not be empty")
        return value

    def choice(self, key: str, allowed: Iterable[str], default: str | None = None) -> str:
        value = self.data.get(key, default)
        allowed = tuple(allowed)
        if value not in allowed:
            raise self.fail(f"'{key}' must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def subset(self, key: str, allowed: Iterable[str]) -> tuple[str, ...]:
        values = self.strs(key)
        allowed = set(allowed)
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise self.fail(f"'{key}' has unknown value(s): {', '.join(unknown)}")
        return tuple(values)


def _entries(doc: dict, file: str, table: str) -> list[_Checker]:
    items = doc.get(table)
    if not isinstance(items, list) or not items:
        raise RuleError(f"{file}: needs at least one [[{table}]] entry")
    out, seen = [], set()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise RuleError(f"{file}: [[{table}]] #{n} is not a table")
        ident = item.get("id") or item.get("code") or item.get("name")
        check = _Checker(f"{file}: [[{table}]] #{n} ({ident})", item)
        if "id" in item:
            if item["id"] in seen:
                raise check.fail(f"duplicate id {item['id']!r}")
            seen.add(item["id"])
        out.append(check)
    return out


def _load_lexicon(teencode: dict, numbers: dict) -> Lexicon:
    def words(value: object, where: str) -> tuple[str, ...]:
        if not isinstance(value, str) or not value.split():
            raise RuleError(f"{where}: expansion must be a non-empty string")
        return tuple(value.split())

    expand = {}
    for key, value in (teencode.get("expand") or {}).items():
        expand[key] = words(value, f"teencode.toml: [expand] {key}")
    conditional: dict[str, dict[str, tuple[str, ...]]] = {
        "after_number": {}, "before_number": {}, "not_after_number": {}}
    for n, item in enumerate(teencode.get("contextual") or [], 1):
        check = _Checker(f"teencode.toml: [[contextual]] #{n} ({item.get('token')})", item)
        token = check.str("token")
        flags = [name for name in conditional if item.get(name) is True]
        if len(flags) != 1:
            raise check.fail("needs exactly one of after_number, before_number, not_after_number")
        conditional[flags[0]][token] = words(item.get("expand"), check.where)
    number_words = numbers.get("words") or {}
    for key, value in number_words.items():
        if not isinstance(value, int):
            raise RuleError(f"numbers.toml: [words] {key} must be an integer")
    units = (numbers.get("units") or {}).get("words") or []
    return Lexicon(expand, conditional["after_number"], conditional["before_number"],
                   conditional["not_after_number"], dict(number_words), frozenset(units))


def _phrase_list(check: _Checker, key: str, lexicon: Lexicon,
                 required: bool = False) -> list[tuple[str, ...]]:
    out = []
    for text in check.strs(key, required=required):
        tokens = phrase_key(text, lexicon)
        if not tokens:
            raise check.fail(f"phrase {text!r} in '{key}' has no words")
        out.append(tokens)
    return out


def _sections(doc: dict, file: str, prefix: str, required: frozenset[str],
              lexicon: Lexicon) -> dict[str, list[tuple[str, ...]]]:
    """A file of [section] tables, each a list of phrases; every required one present."""
    sections = {}
    for section, table in doc.items():
        if section == "schema":
            continue
        check = _Checker(f"{file}: [{section}]", table if isinstance(table, dict) else {})
        sections[section] = _phrase_list(check, "phrases", lexicon, required=True)
    missing = required - set(sections)
    if missing:
        raise RuleError(f"{file}: missing section(s): {', '.join(sorted(missing))}")
    return sections


def load_rules(directory: str | Path | None = None) -> RuleSet:
    """Read, validate and compile the rule files (cached for the package's own rules)."""
    if directory is None:
        return _default_rules()
    return _compile(Path(directory))


@lru_cache(maxsize=1)
def _default_rules() -> RuleSet:
    return _compile(RULES_DIR)


def _compile(directory: Path) -> RuleSet:
    from . import places  # the gazetteer compiles itself from places.toml

    docs, digest = {}, hashlib.sha256()
    for name in RULE_FILES:
        docs[name], raw = _read(directory, name)
        digest.update(name.encode() + b"\0" + raw + b"\0")
    lexicon = _load_lexicon(docs["teencode"], docs["numbers"])
    # Phrases themselves are rewritten through the lexicon, except the number words.
    phrases: list[tuple[tuple[str, ...], Hit]] = []

    categories = {}
    for check in _entries(docs["categories"], "categories.toml", "category"):
        cat = Category(check.str("id"), check.str("label_vi"), check.str("label_en"),
                       check.bool("police", True))
        categories[cat.id] = cat

    indicators = {}
    for check in _entries(docs["indicators"], "indicators.toml", "indicator"):
        ind = Indicator(
            id=check.str("id"),
            level=check.choice("level", LEVELS),
            weight=check.int("weight", 10),
            family=check.str("family", "other"),
            categories=check.subset("categories", categories),
            functions=check.subset("functions", FUNCTIONS),
            negatable=check.bool("negatable", True),
            needs_frame=check.bool("needs_frame", False),
            after_return=check.bool("after_return", False),
            conditional=check.bool("conditional", False),
            cues=tuple(_phrase_list(check, "cues", lexicon)),
            not_followed_by=frozenset(w for p in _phrase_list(check, "not_followed_by", lexicon)
                                      for w in p[:1]),
            settled=check.bool("settled", False),
        )
        plain = _phrase_list(check, "phrases", lexicon)
        ambiguous = _phrase_list(check, "ambiguous", lexicon)
        if not plain and not ambiguous:
            raise check.fail("needs 'phrases' or 'ambiguous'")
        if ambiguous and not ind.cues:
            raise check.fail("'ambiguous' phrases need 'cues'")
        phrases += [(p, Hit("indicator", ind)) for p in plain]
        phrases += [(p, Hit("indicator", ind, ambiguous=True)) for p in ambiguous]
        indicators[ind.id] = ind

    fact_names = set(indicators) | {f"cat:{c}" for c in categories} | FACTS
    combos = []
    for check in _entries(docs["combos"], "combos.toml", "combo"):
        all_of = tuple(check.strs("all", required=True))
        any_of = tuple(check.strs("any"))
        none_of = tuple(check.strs("none"))
        unknown = [f for f in all_of + any_of + none_of if f not in fact_names]
        if unknown:
            raise check.fail(f"unknown fact(s): {', '.join(unknown)}")
        level = check.data.get("level")
        if level is not None:
            check.choice("level", LEVELS)
        combos.append(Combo(check.str("id"), all_of, any_of, none_of, level,
                            check.int("weight", 10), check.subset("categories", categories),
                            check.subset("functions", FUNCTIONS)))
        fact_names.add(combos[-1].id)  # a later combination may build on this one

    context = _sections(docs["context"], "context.toml", "ctx", CONTEXT_SECTIONS, lexicon)
    children = _sections(docs["children"], "children.toml", "child", CHILD_SECTIONS, lexicon)
    for prefix, sections in (("ctx", context), ("child", children)):
        for section, keys in sections.items():
            phrases += [(p, Hit(f"{prefix}:{section}", section)) for p in keys]
    # one-word lists, looked up token by token
    children["past_age_words"] = frozenset(" ".join(p) for p in children["past_age"])
    children["age_unit_words"] = frozenset(" ".join(p) for p in children["age_unit"])

    gazetteer = places.Gazetteer.from_doc(docs["places"], lexicon)
    phrases += gazetteer.phrases

    return RuleSet(
        version=digest.hexdigest()[:16],
        lexicon=lexicon,
        index=PhraseIndex(phrases),
        indicators=indicators,
        combos=tuple(combos),
        categories=categories,
        context=context,
        children=children,
        places=gazetteer,
        phrases=phrases,
    )


# Facts the engine derives from the text, usable in combos.
FACTS = frozenset({
    "child", "under_16", "abroad", "foreign_sender", "returned", "past", "now", "recent",
    "long_ago", "border_area", "at_sea", "border_gate", "hint_danger_now", "heading_across",
    "imminent", "escaped", "caller_is_victim", "free_movement", "recent_act", "heading_abroad",
})
# Facts that hold for a combo only when one of its own indicators carries them.
TIMED_FACTS = frozenset({"now", "imminent", "recent_act"})
CONTEXT_SECTIONS = frozenset({
    "negation", "hypothetical", "past", "returned", "now", "harmless", "recent", "long_ago",
    "place_cue", "awareness", "prank", "question", "all_clear",
    "not_now", "family_plea", "imminent", "sea", "prospective", "hearsay", "escaped",
    "legal_question", "worry", "caller_victim", "free_movement", "animal", "wellbeing",
})
CHILD_SECTIONS = frozenset({
    "minor", "minor_under_16", "not_minor", "school", "age_unit", "past_age", "not_subject",
    "birth", "self_report",
})
