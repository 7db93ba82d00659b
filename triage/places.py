"""The gazetteer: provinces, border gates, sea and islands, countries, calling codes.

Compiled from ``rules/places.toml``, the one file of provinces that routing also reads.
Names that are also common words or other places are marked ambiguous there and count
only with a cue (see ``resolve``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .normalize import Lexicon
from .phrases import Match, longest_non_overlapping
from .ruleset import Hit, RuleError, _Checker, _entries, phrase_key

if TYPE_CHECKING:
    from .document import Document


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    borders: tuple[str, ...]
    coastal: bool


@dataclass(frozen=True, slots=True)
class PlaceName:
    """One name in the gazetteer and what it points to."""

    kind: str  # province | gate | sea | country | region
    code: str  # province code, gate code, ISO country code; "" for a region word
    province: str = ""  # the province a gate, sea place or legacy place lies in
    country: str = ""  # the country across a gate
    border_area: bool = False  # a land-border district or town
    island: bool = False
    needs_gate_cue: bool = False


@dataclass(slots=True)
class Gazetteer:
    provinces: dict[str, Province]
    calling_codes: dict[str, str]  # "855" -> "KH"
    phrases: list[tuple[tuple[str, ...], Hit]] = field(default_factory=list)

    @classmethod
    def from_doc(cls, doc: dict, lexicon: Lexicon) -> Gazetteer:
        provinces: dict[str, Province] = {}
        phrases: list[tuple[tuple[str, ...], Hit]] = []

        def add(check: _Checker, names: list[str], place: PlaceName, ambiguous: set[str]):
            for name in names:
                key = phrase_key(name, lexicon)
                if not key:
                    raise check.fail(f"name {name!r} has no words")
                phrases.append((key, Hit("place", place, ambiguous=name in ambiguous)))

        for check in _entries(doc, "places.toml", "province"):
            code = check.str("code")
            if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
                raise check.fail(f"code {code!r} must be a snake_case slug")
            if code in provinces:
                raise check.fail(f"duplicate code {code!r}")
            borders = tuple(check.strs("borders"))
            provinces[code] = Province(code, check.str("name"), borders,
                                       check.bool("coastal", False))
            ambiguous = set(check.strs("ambiguous"))
            border_places = set(check.strs("border_places"))
            island_places = set(check.strs("island_places"))
            names = [check.str("name"), *check.strs("aliases"), *check.strs("former")]
            add(check, names, PlaceName("province", code), ambiguous)
            for name in check.strs("places"):
                place = PlaceName("province", code, border_area=name in border_places,
                                  island=name in island_places)
                add(check, [name], place, ambiguous)
            listed = set(names) | set(check.strs("places"))
            stray = (ambiguous | border_places | island_places) - listed
            if stray:
                raise check.fail(f"marks names it does not list: {', '.join(sorted(stray))}")
        if len(provinces) != 34:
            raise RuleError("places.toml: expected the 34 provincial units, "
                            f"found {len(provinces)}")

        calling_codes: dict[str, str] = {}
        for check in _entries(doc, "places.toml", "country"):
            code = check.str("code")
            if not re.fullmatch(r"[A-Z]{2}", code) or code == "VN":
                raise check.fail(f"code {code!r} must be a foreign ISO 3166 alpha-2 code")
            calling = check.data.get("calling_code")
            if calling is not None:
                if not (isinstance(calling, str) and calling.isdigit()):
                    raise check.fail("'calling_code' must be a string of digits")
                calling_codes.setdefault(calling, code)
            place = PlaceName("country", code)
            add(check, check.strs("names", required=True), place, set())
            add(check, check.strs("ambiguous"), place, set(check.strs("ambiguous")))
            add(check, check.strs("cities"), place, set())
            add(check, check.strs("cities_ambiguous"), place, set(check.strs("cities_ambiguous")))

        for check in _entries(doc, "places.toml", "border_gate"):
            province = check.choice("province", provinces)
            ambiguous = check.bool("ambiguous", False)
            place = PlaceName("gate", check.str("code"), province=province,
                              country=check.str("country"), border_area=True,
                              needs_gate_cue=ambiguous)
            add(check, [check.str("name"), *check.strs("aliases")], place, set())

        for check in _entries(doc, "places.toml", "sea_place"):
            province = check.data.get("province")
            if province is not None:
                check.choice("province", provinces)
            place = PlaceName("sea", check.str("name"), province=province or "", island=True)
            add(check, [check.str("name")], place, set())

        for check in _entries(doc, "places.toml", "region_word"):
            add(check, [check.str("name")], PlaceName("region", ""), set())

        return cls(provinces, calling_codes, phrases)

    def country_of_number(self, sender: object) -> str | None:
        """The foreign country of a sender's number, from its calling code; None if domestic."""
        if not isinstance(sender, str):
            return None
        raw = sender.strip()
        if raw.startswith("+84"):
            return None  # the usual case: a Vietnamese number
        digits = _NUMBER_PUNCTUATION_RE.sub("", raw)
        if digits.startswith("+"):
            digits = digits[1:]
        elif digits.startswith("00"):
            digits = digits[2:]
        else:
            return None  # a national number: Vietnamese
        if not digits.isdigit() or not 7 <= len(digits) <= 15 or digits.startswith("84"):
            return None
        for length in (4, 3, 2, 1):
            country = self.calling_codes.get(digits[:length])
            if country:
                return country
        return None


_NUMBER_PUNCTUATION_RE = re.compile(r"[\s\-().]")


# -- places named in a text --------------------------------------------------------

NEIGHBOURS = frozenset({"CN", "LA", "KH"})  # Vietnam's land borders
MOTION_WORDS = frozenset({"sang", "qua", "vuot", "phia", "den", "toi"})


@dataclass(slots=True)
class PlaceFacts:
    provinces: list[str] = field(default_factory=list)  # where the victim is now first
    countries: list[str] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)
    gate_countries: list[str] = field(default_factory=list)  # across the gates named
    crossings: list[Match] = field(default_factory=list)  # towards a land border
    heading_abroad: bool = False  # a country right after "sang", "qua", ...: going there
    at_sea: bool = False
    border_area: bool = False


def resolve(doc: Document) -> PlaceFacts:
    """The places a text names, longest names first, ambiguous ones only with a cue."""
    out = PlaceFacts()
    cue_ends = {m.end for m in doc.spans("ctx:place_cue")}
    found = longest_non_overlapping(doc.spans("place"))
    countries_named = {m.payload.entry.code for m in found
                       if m.payload.entry.kind == "country" and not m.payload.ambiguous}
    now_first: list[str] = []
    for match in found:
        place: PlaceName = match.payload.entry
        if place.kind == "region":
            continue
        if match.payload.ambiguous and match.start not in cue_ends \
                and not (place.kind == "country" and place.code in countries_named):
            continue
        if place.needs_gate_cue and not _near_gate_word(doc, match):
            continue
        if place.kind == "gate" or (place.kind == "country" and place.code in NEIGHBOURS
                                    and _after(doc, match, MOTION_WORDS)):
            out.crossings.append(match)
        if place.kind == "country":
            _add(out.countries, place.code)
            out.heading_abroad = out.heading_abroad or _towards(doc, match)
            continue
        if place.kind == "gate":
            _add(out.gates, place.code)
            _add(out.gate_countries, place.country)
        out.at_sea = out.at_sea or place.kind == "sea" or place.island
        out.border_area = out.border_area or place.border_area
        code = place.province if place.kind in ("sea", "gate") else place.code
        if code:
            if match.start in cue_ends and _after(doc, match, {"dang", "hien"}, within=3):
                _add(now_first, code)  # "đang ở Bắc Ninh": where the victim is now
            _add(out.provinces, code)
    out.provinces = now_first + [p for p in out.provinces if p not in now_first]
    if doc.spans("ctx:sea") and not out.countries:
        out.at_sea = True  # at sea, and no foreign country's waters named
    return out


_GATE_WORDS = frozenset({"khau", "ck", "phong"})


def _near_gate_word(doc: Document, match: Match) -> bool:
    """"cửa khẩu X", "CK X", "đồn biên phòng X", or a name that says it itself."""
    return not _GATE_WORDS.isdisjoint(doc.texts[max(0, match.start - 3):match.start + 2])


def _towards(doc: Document, match: Match) -> bool:
    """"sang Malaysia", "qua bên Đài Loan": the country is where someone goes."""
    before = doc.texts[max(0, match.start - 2):match.start]
    return bool(before) and (before[-1] in MOTION_WORDS
                             or before == ["sang", "ben"] or before == ["qua", "ben"])


def _after(doc: Document, match: Match, words: set[str] | frozenset[str], within: int = 1) -> bool:
    return not words.isdisjoint(doc.texts[max(0, match.start - within):match.start])


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
