"""assess(): text in, TriageResult out.

The steps, each driven by the rule data:
1. tokens of the folded text, and every rule phrase found in them (one pass);
2. context: harmless senses, negation and hypothetical windows, past and returned,
   urgency cues, sentence by sentence;
3. indicators that survive the context give a level, a weight and categories;
   combinations of facts (child, abroad, recent, ...) raise the level;
4. ages, grades and words for minors decide the child flags; places give provinces,
   countries, border gates and the sea;
5. functions follow the guidelines from level, categories, places and child.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from .children import ChildFacts, find_children
from .dates import RECENT_DAYS, received_date
from .document import Document, Timeline, cover, covered, has_cue, hypothetical, negated, read
from .phrases import Match
from .places import NEIGHBOURS, PlaceFacts, resolve
from .result import BANDS, FUNCTIONS, LEVELS, Reason, TriageResult
from .ruleset import Combo, RuleSet, load_rules

IVR_HINTS = frozenset({"danger_now", "report", "support", "operator"})
_RANK = {level: rank for rank, level in enumerate(LEVELS)}  # low 0 ... critical 3
MAX_TEXT = 200_000  # code points read; a longer text is cut (its verdict stays valid)


@dataclass(slots=True)
class _Fired:
    """A rule that fired, with its level after context and where its evidence is."""

    rule: str
    level: str
    weight: int
    start: int  # code points
    end: int
    categories: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    needs_frame: bool = False
    family: str = ""
    undiminished: bool = True  # not lowered by past or returned context
    frames: bool = False  # puts the tip in scope for the needs_frame indicators
    now: bool = False  # its sentence (or the next one) says now, tonight, on the way
    imminent: bool = False  # its sentence says tonight, tomorrow morning, right now
    settled: bool = False  # a deal done: plans for later do not lower it
    recent: bool = False  # its clause dates it in the last 72 hours ("đêm qua")


def assess(text: object, *, sender: object = None, received_at: object = None,
           channel: object = "sms", hints: object = None,
           rules: RuleSet | None = None) -> TriageResult:
    """Judge one tip. Never raises on bad input: what cannot be read counts as absent.

    ``channel`` ("sms" or "voice") is accepted for the record; the rules read an SMS and
    an operator's summary of a call alike.
    """
    rules = rules or load_rules()
    text = text[:MAX_TEXT] if isinstance(text, str) else ""
    hints = hints if isinstance(hints, Mapping) else {}
    ivr = hints.get("ivr")
    ivr = ivr if isinstance(ivr, str) and ivr in IVR_HINTS else None
    return _judge(read(text, rules), rules, sender, received_date(received_at), ivr,
                  hints)


def _judge(doc: Document, rules: RuleSet, sender: object, received: date | None,
           ivr: str | None, hints: Mapping) -> TriageResult:
    timeline = Timeline.of(doc, received)
    fired = _indicators(doc, timeline)
    places = resolve(doc)
    fired += _crossings(doc, timeline, places)
    child = find_children(doc, rules, received, hints)
    foreign_sender = rules.places.country_of_number(sender)
    returned = bool(timeline.returned)

    # Danger and control words (beaten, locked in, a plea) are about trafficking or a
    # child only when something else says so: alone they may be an accident or a
    # quarrel between adults, a matter for other services.
    control = {f.rule for f in fired if f.needs_frame and f.family == "control"
               and f.level in ("high", "critical")}
    in_frame = any(f.frames for f in fired) or child.under_18 or bool(places.countries) \
        or bool(foreign_sender) or places.at_sea or len(control) >= 2 \
        or bool(doc.spans("ctx:caller_victim"))  # "em đang bị ...": the victim speaking
    fired = [f for f in fired if in_frame or not f.needs_frame]

    facts = _facts(doc, fired, places, child, foreign_sender, returned, ivr, timeline)
    fired += _combos(rules.combos, fired, facts)
    level = _level(doc, fired, ivr)
    named = {c for f in fired for c in f.categories}
    categories = [c for c in rules.categories if c in named]
    # A low tip names a child only when a child speaks of their own worries.
    is_child = child.under_18 and (level != "low" or "child_counselling" in categories
                                   or bool(doc.spans("child:self_report")))
    functions = _functions(level, fired, categories, rules, places, is_child, returned, facts)

    countries = list(places.countries)
    for extra in (foreign_sender, *places.gate_countries):
        if extra and extra not in countries:
            countries.append(extra)
    return TriageResult(
        urgency=level,
        score=_score(level, fired),
        child_involved=is_child,
        under_16=is_child and child.under_16,
        ages=child.ages,
        functions=tuple(f for f in FUNCTIONS if f in functions),
        countries=tuple(countries),
        provinces=tuple(places.provinces),
        at_sea=places.at_sea,
        border_gates=tuple(places.gates),
        categories=tuple(categories or ["general_inquiry"]),
        reasons=tuple(Reason(f.rule, f.weight, f.start, f.end)
                      for f in sorted(fired, key=lambda f: (f.start, f.rule))),
        rules_version=rules.version,
    )


def _indicators(doc: Document, timeline: Timeline) -> list[_Fired]:
    """Indicators that survive their context, lowered to medium when past or over."""
    size = len(doc.texts)
    harmless_spans = doc.spans("ctx:harmless") + doc.spans("ctx:family_plea")
    harmless = cover(size, harmless_spans) if harmless_spans else None
    returned_cover = cover(size, timeline.returned_spans) if timeline.returned_spans else None
    fired = []
    for match in _one_per_span(doc.spans("indicator")):
        indicator = match.payload.entry
        if harmless and covered(match, harmless) \
                or returned_cover and max(returned_cover[match.start:match.end]):
            continue
        if match.payload.ambiguous and not has_cue(doc, match, indicator.cues):
            continue
        if match.end < size and doc.texts[match.end] in indicator.not_followed_by:
            continue  # "bị bạn dụ" folds like "bị bán dụ": a friend, not a sale
        if indicator.negatable and negated(doc, match):
            continue
        if not indicator.conditional and hypothetical(doc, match.start):
            continue
        s = doc.sentence[match.start]
        past = s in timeline.past and s not in timeline.now
        over = bool(timeline.returned) and not indicator.after_return \
            and (s in timeline.returned or s not in timeline.now)
        level = _lower(indicator.level, "medium") if past or over else indicator.level
        fired.append(_Fired(
            indicator.id, level, indicator.weight, *doc.char_span(match),
            indicator.categories, indicator.functions, indicator.needs_frame,
            family=indicator.family, undiminished=not (past or over), settled=indicator.settled,
            frames=not indicator.needs_frame and indicator.level != "low",
            now=s in timeline.near_now and s not in timeline.returned,
            imminent=s in timeline.imminent and s not in timeline.returned,
            recent=doc.clause[match.start] in timeline.recent and s not in timeline.returned))
    return fired


def _crossings(doc: Document, timeline: Timeline, places: PlaceFacts) -> list[_Fired]:
    """"sang Lào", "qua cửa khẩu Mộc Bài": a fact for the combos, no level of its own."""
    return [_Fired("heading_across", "low", 5, *doc.char_span(m), needs_frame=True,
                   **_when(doc, m.start, timeline)) for m in places.crossings]


def _when(doc: Document, token: int, timeline: Timeline) -> dict[str, bool]:
    sentence = doc.sentence[token]
    out = sentence not in timeline.returned
    return {"now": out and sentence in timeline.near_now,
            "imminent": out and sentence in timeline.imminent,
            "recent": out and doc.clause[token] in timeline.recent}


def _lower(level: str, to: str) -> str:
    return to if _RANK[level] > _RANK[to] else level


def _start_then_longest(match: Match) -> tuple[int, int]:
    return match.start, -match.end


def _one_per_span(matches: list[Match]) -> list[Match]:
    """Of one indicator's overlapping phrases ("bị nhốt", "nhốt trong"), keep the longest
    (phrases of exactly the same span are all kept); and a phrase inside a longer one of
    another indicator gives way to it ("dọa đánh" is a threat, not a beating)."""
    ordered = sorted(matches, key=_start_then_longest)
    reach = -1
    for match in ordered:
        if match.start < reach:
            break
        reach = match.end
    else:
        return ordered  # nothing overlaps: the usual case
    taken: dict[str, set[int]] = {}  # per indicator, the tokens its kept phrases cover
    spans: set[tuple[str, int, int]] = set()
    longer: list[Match] = []  # phrases kept for their own indicator, longest first
    out = []
    for match in sorted(matches, key=_longest_first):
        rule, start, end = match.payload.entry.id, match.start, match.end
        own = taken.setdefault(rule, set())
        if not own.isdisjoint(range(start, end)) and (rule, start, end) not in spans:
            continue
        own.update(range(start, end))
        spans.add((rule, start, end))
        if not any(o.start <= start and end <= o.end and o.end - o.start > end - start
                   and o.payload.entry.id != rule for o in longer):
            out.append(match)
        longer.append(match)
    out.sort(key=_start_then_longest)
    return out


def _longest_first(match: Match) -> tuple[int, int]:
    return match.start - match.end, match.start


# -- facts and combinations ---------------------------------------------------------


def _facts(doc: Document, fired: list[_Fired], places: PlaceFacts, child: ChildFacts,
           foreign_sender: str | None, returned: bool, ivr: str | None,
           timeline: Timeline) -> set[str]:
    """Fired indicators (undiminished), their categories, and what the engine derives."""
    facts = {f.rule for f in fired if f.undiminished}
    facts.update(f"cat:{c}" for f in fired for c in f.categories)
    derived = {
        "child": child.under_18,
        "under_16": child.under_16,
        "abroad": bool(places.countries),
        "heading_abroad": places.heading_abroad,
        "foreign_sender": bool(foreign_sender),
        "returned": returned,
        "escaped": bool(doc.spans("ctx:escaped")) and not doc.spans("ctx:returned"),
        "border_area": places.border_area,
        "border_gate": bool(places.gates),
        "at_sea": places.at_sea,
        "hint_danger_now": ivr == "danger_now",
        "caller_is_victim": bool(foreign_sender) or bool(doc.spans("ctx:caller_victim")),
        "free_movement": bool(doc.spans("ctx:free_movement")),
    }
    facts.update(name for name, holds in derived.items() if holds)
    facts.update(section for section in ("past", "recent", "long_ago")
                 if doc.spans(f"ctx:{section}"))
    facts.update("recent" if days <= RECENT_DAYS else "long_ago"
                 for _, days in timeline.elapsed)
    return facts


def _combos(combos: tuple[Combo, ...], fired: list[_Fired], facts: set[str]) -> list[_Fired]:
    """Combinations that hold, in file order; each adds its id and categories as facts."""
    timed = {"now": {f.rule for f in fired if f.now},
             "imminent": {f.rule for f in fired if f.imminent},
             "recent_act": {f.rule for f in fired if f.recent}}
    out = []
    for combo in combos:
        if combo.required <= facts and _combo_holds(combo, facts, timed):
            out.append(_combo_fired(combo, fired))
            facts.add(combo.id)
            facts.update(f"cat:{c}" for c in combo.categories)
    return out


def _combo_holds(combo: Combo, facts: set[str], timed: dict[str, set[str]]) -> bool:
    """All of `all`, one of `any`, none of `none`; "now"/"imminent"/"recent_act" only when
    one of the combo's own indicators was said now, or dated recent in its own clause (the
    `any` part, when there is one)."""
    if not combo.required <= facts or not facts.isdisjoint(combo.none):
        return False
    if combo.any and facts.isdisjoint(combo.any_set):
        return False
    for fact in combo.all:
        if fact in timed:
            if timed[fact].isdisjoint(combo.any_set if combo.any else combo.parts):
                return False
        elif fact not in facts:
            return False
    return True


def _combo_fired(combo: Combo, fired: list[_Fired]) -> _Fired:
    """A combination points at the evidence of its parts: the span they cover."""
    categories = combo.part_categories
    parts = [f for f in fired if f.rule in combo.parts or not categories.isdisjoint(f.categories)]
    parts = parts or fired
    start = min((f.start for f in parts), default=0)
    end = max((f.end for f in parts), default=0)
    return _Fired(combo.id, combo.level or "low", combo.weight, start, end,
                  combo.categories, combo.functions)


# -- the verdict --------------------------------------------------------------------


_level_of = attrgetter("level")


def _level(doc: Document, fired: list[_Fired], ivr: str | None) -> str:
    level = max(map(_level_of, fired), key=_RANK.__getitem__, default="low")
    if doc.spans("ctx:prank"):
        level = "low"  # a prank, a child playing with the phone
    if doc.spans("ctx:awareness") and level in ("low", "medium"):
        level = "low"  # a question about awareness work
    if doc.spans("ctx:legal_question") and level in ("medium", "high"):
        offered = any(f.family == "means" for f in fired)  # recruitment, luring, deception
        if level == "high" or not offered:
            level = LEVELS[_RANK[level] - 1]  # asks whether a practice is legal
    clear = {" ".join(doc.texts[m.start:m.end])
             for m in doc.spans("ctx:all_clear")}
    if clear and (level != "critical" or len(clear) >= 2):
        level = "low"  # the report withdrawn (said twice, for a critical one)
    if doc.spans("ctx:wellbeing") and level in ("low", "medium"):
        level = "low"  # the person says they are fine, and nothing says they are held
    held = {"sold", "confinement", "trapped", "guarded"}  # already in their hands
    if level == "high" and (doc.spans("ctx:prospective") or doc.spans("ctx:hearsay")) \
            and not any(f.settled or (f.rule in held and f.undiminished) for f in fired):
        level = "medium"  # not gone yet, or rumours about unnamed people: a risk
    if ivr == "danger_now":
        level = "critical"  # the caller pressed 1: critical until an operator reviews it
    return level


def _functions(level: str, fired: list[_Fired], categories: list[str], rules: RuleSet,
               places: PlaceFacts, is_child: bool, returned: bool, facts: set[str]) -> set[str]:
    """The guidelines' "Functions", from what fired and what the text says."""
    if level == "low":
        return set()  # an operator handles it
    functions = {fn for f in fired for fn in f.functions}
    if any(rules.categories[c].police for c in categories):
        functions.add("police")
    if is_child:
        functions.add("victim_support")
    if returned:
        # out of the trafficker's hands: shelter, care, papers; and the crime to pursue
        functions.update(("victim_support", "police"))
    # A caller abroad about someone at home ("con em ở Hải Dương") needs no consul.
    abroad = bool(places.countries) or ("foreign_sender" in facts and not places.provinces)
    home = returned and "escaped" not in facts  # back in Vietnam, not just out of the compound
    if abroad and not home and (level in ("high", "critical") or "escaped" in facts):
        functions.add("consular")
    if places.border_area or places.at_sea or "crossing" in facts:
        functions.add("border")
    if level == "critical" and set(places.countries) & NEIGHBOURS and "moving_now" in facts:
        functions.add("border")
    if level == "critical" and not functions:
        functions.add("police")  # someone must always be paged
    return functions


def _score(level: str, fired: list[_Fired]) -> int:
    """Within the level's band: its own rules count fully, the others a third."""
    low, high = BANDS[level]
    total = sum(f.weight for f in fired if f.level == level) + \
        sum(f.weight for f in fired if f.level != level) // 3
    return low + min(high - low, total * (high - low) // 100)
