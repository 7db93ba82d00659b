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
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from . import ages as age_rules
from .normalize import NUMBER, PUNCT, Token, tokenize
from .phrases import Match, longest_non_overlapping
from .result import BANDS, LEVELS, Reason, TriageResult
from .ruleset import Combo, Indicator, RuleSet, load_rules

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NEIGHBOURS = frozenset({"CN", "LA", "KH"})
NEGATION_WINDOW = 5  # tokens before an indicator, inside its clause
IVR_HINTS = frozenset({"danger_now", "report", "support", "operator"})
MAX_TEXT = 200_000
WISH_WORDS = frozenset({"muon", "xin", "can", "mong", "cho", "doi", "nho"})  # code points read; a longer text is cut (its verdict stays valid)


@dataclass(slots=True)
class _Fired:
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
    now: bool = False  # its sentence says now, tonight, on the way
    imminent: bool = False  # its sentence says tonight, tomorrow morning, right now


_NONE: list[Match] = []  # read-only: what spans() answers for a kind not found


@dataclass(slots=True)
class _Doc:
    """What the rules found in one text, before the verdict."""

    tokens: list[Token]
    sentence: list[int]  # sentence number of each token
    clause: list[int]  # clause number of each token (commas split clauses)
    by_kind: dict[str, list[Match]] = field(default_factory=dict)
    questions: set[int] = field(default_factory=set)  # sentences that ask something

    def spans(self, kind: str) -> list[Match]:
        return self.by_kind.get(kind, _NONE)

    def in_sentences(self, kind: str) -> set[int]:
        return {self.sentence[m.start] for m in self.spans(kind)}


def assess(text: object, *, sender: object = None, received_at: object = None,
           channel: object = "sms", hints: object = None,
           rules: RuleSet | None = None) -> TriageResult:
    """Judge one tip. Never raises on bad input: what cannot be read counts as absent."""
    rules = rules or load_rules()
    text = text if isinstance(text, str) else ""
    text = text[:MAX_TEXT]
    received = _received_date(received_at)
    hints = hints if isinstance(hints, Mapping) else {}
    doc = _read(text, rules)
    return _judge(doc, rules, sender, received, hints)


def _received_date(received_at: object) -> date | None:
    """The day the tip arrived in Vietnam; None when unknown or unreadable."""
    if isinstance(received_at, date) and not isinstance(received_at, datetime):
        return received_at
    if isinstance(received_at, str):
        text = received_at.strip()
        if len(text) == 10:  # a bare date, "2026-05-01"
            try:
                return date.fromisoformat(text)
            except ValueError:
                return None
        try:
            received_at = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(received_at, datetime):
        if received_at.tzinfo is None:
            return None  # a naive time has no known day in Vietnam
        return received_at.astimezone(VIETNAM).date()
    return None


def _read(text: str, rules: RuleSet) -> _Doc:
    tokens = tokenize(text, rules.lexicon)
    sentence, clause = [], []
    s = c = 0
    for token in tokens:
        sentence.append(s)  # a boundary belongs to the sentence it ends
        clause.append(c)
        if token.kind == PUNCT:
            c += 1
            if token.text != ",":
                s += 1
    doc = _Doc(tokens, sentence, clause)
    for match in rules.index.find(tokens):
        doc.by_kind.setdefault(match.payload.kind, []).append(match)
    doc.questions = {sentence[i] for i, t in enumerate(tokens) if t.text == "?"}
    doc.questions |= {sentence[m.start] for m in doc.spans("ctx:question")}
    return doc


# -- context -----------------------------------------------------------------------


def _overlaps(match: Match, others: list[Match]) -> bool:
    return any(o.start < match.end and match.start < o.end for o in others)


def _cover(size: int, spans: list[Match]) -> list[int]:
    """For each token, the length of the longest span covering it (0 if none)."""
    cover = [0] * size
    for span in spans:
        length = span.end - span.start
        for k in range(span.start, span.end):
            if cover[k] < length:
                cover[k] = length
    return cover


def _covered(match: Match, cover: list[int]) -> bool:
    """A harmless sense covers an indicator unless the indicator is the longer phrase
    ("mang thai hộ" is still surrogacy although "mang thai" is harmless)."""
    return max(cover[match.start:match.end]) >= match.end - match.start


def _negated(doc: _Doc, match: Match) -> bool:
    for neg in doc.spans("ctx:negation"):
        if neg.end <= match.start and match.start - neg.end < NEGATION_WINDOW \
                and doc.clause[neg.start] == doc.clause[match.start]:
            return True
    return False


def _hypothetical(doc: _Doc, match: Match) -> bool:
    """After "nếu", in the same sentence; or anywhere in a sentence about awareness work."""
    s = doc.sentence[match.start]
    if any(doc.sentence[a.start] == s for a in doc.spans("ctx:awareness")):
        return True
    if any(w.start < match.start and doc.sentence[w.start] == s for w in doc.spans("ctx:worry")):
        return True
    return s in doc.questions and any(h.start < match.start and doc.sentence[h.start] == s
                                      for h in doc.spans("ctx:hypothetical"))


def _has_cue(doc: _Doc, match: Match, cues: tuple[tuple[str, ...], ...]) -> bool:
    """A cue elsewhere in the sentence (the phrase itself is no cue for itself)."""
    s = doc.sentence[match.start]
    before = [t.text for i, t in enumerate(doc.tokens[:match.start]) if doc.sentence[i] == s]
    after = [t.text for i, t in enumerate(doc.tokens[match.end:], match.end)
             if doc.sentence[i] == s]
    return age_rules._has_any(before, list(cues)) or age_rules._has_any(after, list(cues))


def _lower(level: str, to: str) -> str:
    return to if LEVELS.index(level) > LEVELS.index(to) else level


# -- the verdict -------------------------------------------------------------------


def _judge(doc: _Doc, rules: RuleSet, sender: object, received: date | None,
           hints: Mapping) -> TriageResult:
    harmless = doc.spans("ctx:harmless")
    # "từ năm ngoái" is since last year: still going on, not past.
    past_sentences = {doc.sentence[m.start] for m in doc.spans("ctx:past")
                      if m.start == 0 or doc.tokens[m.start - 1].text != "tu"}
    not_now = doc.spans("ctx:not_now")
    now_strict = {doc.sentence[m.start] for m in doc.spans("ctx:now") if not _overlaps(m, not_now)}
    # A report often gives the time in the sentence before or after the act.
    now_sentences = {s + d for s in now_strict for d in (-1, 0, 1)}
    imminent_sentences = {doc.sentence[m.start] for m in doc.spans("ctx:imminent")
                          if not _overlaps(m, not_now)}
    # "muốn được cứu" is a wish, not a rescue.
    returned_sentences = {doc.sentence[m.start] for m in doc.spans("ctx:returned")
                          if m.start == 0 or doc.tokens[m.start - 1].text not in WISH_WORDS}
    escaped_sentences = doc.in_sentences("ctx:escaped")
    returned_sentences |= escaped_sentences
    returned = bool(returned_sentences)
    returned_spans = [m for m in doc.spans("ctx:returned") + doc.spans("ctx:escaped")
                      if doc.sentence[m.start] in returned_sentences]

    fired: list[_Fired] = []
    facts: set[str] = set()
    size = len(doc.tokens)
    harmless_cover = _cover(size, harmless + doc.spans("ctx:family_plea"))
    returned_cover = _cover(size, returned_spans)
    for match in _one_per_span(doc.spans("indicator")):
        indicator: Indicator = match.payload.entry
        if _covered(match, harmless_cover) or max(returned_cover[match.start:match.end]):
            continue
        if match.payload.ambiguous and not _has_cue(doc, match, indicator.cues):
            continue
        if indicator.negatable and _negated(doc, match):
            continue
        if not indicator.conditional and _hypothetical(doc, match):
            continue
        level = indicator.level
        s = doc.sentence[match.start]
        past = s in past_sentences and s not in now_strict
        after_return = returned and not indicator.after_return \
            and (s in returned_sentences or s not in now_strict)
        if past or after_return:
            level = _lower(level, "medium")  # past harm, or out of the trafficker's hands
        fired.append(_Fired(indicator.id, level, indicator.weight,
                            doc.tokens[match.start].start, doc.tokens[match.end - 1].end,
                            indicator.categories, indicator.functions, indicator.needs_frame,
                            family=indicator.family,
                            undiminished=not (past or after_return),
                            frames=not indicator.needs_frame and indicator.level != "low",
                            now=s in now_sentences and s not in returned_sentences,
                            imminent=s in imminent_sentences and s not in returned_sentences))

    places = _places(doc, rules)
    for match in places.crossings:  # "sang Lào", "qua cửa khẩu Mộc Bài"
        s = doc.sentence[match.start]
        fired.append(_Fired("heading_across", "low", 5, doc.tokens[match.start].start,
                            doc.tokens[match.end - 1].end, needs_frame=True,
                            now=s in now_sentences and s not in returned_sentences,
                            imminent=s in imminent_sentences and s not in returned_sentences))
    child = _child(doc, rules, received, hints)
    foreign_sender = rules.places.country_of_number(sender)
    # Danger and control words (beaten, locked in, a plea) are about trafficking or a
    # child only when something else says so: alone they may be an accident or a
    # quarrel between adults, a matter for other services.
    control = {f.rule for f in fired if f.needs_frame and f.family == "control"
               and f.level in ("high", "critical")}
    in_frame = any(f.frames for f in fired) or bool(child.ages_under_18 or child.markers) \
        or bool(places.countries) or bool(foreign_sender) or places.at_sea or len(control) >= 2
    fired = [f for f in fired if in_frame or not f.needs_frame]
    for f in fired:
        if f.undiminished:
            facts.add(f.rule)
        facts.update(f"cat:{c}" for c in f.categories)

    facts.update(_derived_facts(doc, places, child, foreign_sender, returned, hints, received))
    timed = {"now": {f.rule for f in fired if f.now},
             "imminent": {f.rule for f in fired if f.imminent}}
    for combo in rules.combos:
        if _combo_holds(combo, facts, timed):
            fired.append(_combo_fired(combo, doc, fired))
            facts.add(combo.id)
            facts.update(f"cat:{c}" for c in combo.categories)

    level = max((f.level for f in fired), key=LEVELS.index, default="low")
    if doc.spans("ctx:prank"):
        level = "low"  # a prank, a child playing with the phone
    if doc.spans("ctx:awareness") and level in ("low", "medium"):
        level = "low"  # a question about awareness work
    if doc.spans("ctx:legal_question") and level in ("medium", "high"):
        level = LEVELS[LEVELS.index(level) - 1]  # asks whether a practice is legal
    if doc.spans("ctx:all_clear") and level != "critical":
        level = "low"  # the person is safe, the report withdrawn
    if level == "high" and (doc.spans("ctx:prospective") or doc.spans("ctx:hearsay")):
        level = "medium"  # not gone yet, or rumours about unnamed people: a risk
    if hints.get("ivr") == "danger_now":
        level = "critical"
    categories = _ordered({c for f in fired for c in f.categories}, rules.categories)
    is_child = bool(child.ages_under_18 or child.markers)
    if level == "low" and "child_counselling" not in categories:
        is_child = False  # children mentioned, but nobody at risk
    under_16 = is_child and child.under_16

    countries = list(places.countries)
    for extra in (foreign_sender, *places.gate_countries):
        if extra and extra not in countries:
            countries.append(extra)
    functions = _functions(level, fired, categories, rules, places, is_child, returned,
                           foreign_sender, facts)
    if level == "critical" and not functions:
        functions = ["police"]  # someone must always be paged
    if not categories:
        categories = ["general_inquiry"]

    reasons = tuple(Reason(f.rule, f.weight, f.start, f.end)
                    for f in sorted(fired, key=lambda f: (f.start, f.rule)))
    return TriageResult(
        urgency=level,
        score=_score(level, fired),
        child_involved=is_child,
        under_16=under_16,
        ages=tuple(sorted({a.years for a in child.current_ages})),
        functions=tuple(f for f in ("police", "consular", "border", "victim_support")
                        if f in functions),
        countries=tuple(countries),
        provinces=tuple(places.provinces),
        at_sea=places.at_sea,
        border_gates=tuple(places.gates),
        categories=tuple(categories),
        reasons=reasons,
        rules_version=rules.version,
    )


def _combo_holds(combo: Combo, facts: set[str], timed: dict[str, set[str]]) -> bool:
    """All of `all`, one of `any`, none of `none`; "now"/"imminent" only when one of the
    combo's own indicators was said now (the `any` part, when there is one)."""
    if not facts.isdisjoint(combo.none):
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


def _one_per_span(matches: list[Match]) -> list[Match]:
    """Of one indicator's overlapping phrases ("bị nhốt", "nhốt trong"), keep the longest;
    and a phrase inside a longer one of another indicator gives way to it ("dọa đánh" is a
    threat, not a beating)."""
    by_rule: dict[str, list[Match]] = {}
    for match in matches:
        by_rule.setdefault(match.payload.entry.id, []).append(match)
    kept = [m for group in by_rule.values() for m in longest_non_overlapping(group)]
    kept = [m for m in kept
            if not any(o.start <= m.start and m.end <= o.end and o.end - o.start > m.end - m.start
                       and o.payload.entry.id != m.payload.entry.id for o in kept)]
    return sorted(kept, key=lambda m: m.start)


def _combo_fired(combo: Combo, doc: _Doc, fired: list[_Fired]) -> _Fired:
    """A combination points at the evidence of its parts: the span they cover."""
    names = set(combo.all + combo.any)
    parts = [f for f in fired if f.rule in names or set(f.categories) & {
        n[4:] for n in names if n.startswith("cat:")}] or fired
    start = min((f.start for f in parts), default=0)
    end = max((f.end for f in parts), default=0)
    return _Fired(combo.id, combo.level or "low", combo.weight, start, end,
                  combo.categories, combo.functions)


def _ordered(categories: set[str], known: dict) -> list[str]:
    return [c for c in known if c in categories]


def _score(level: str, fired: list[_Fired]) -> int:
    low, high = BANDS[level]
    total = sum(f.weight for f in fired if f.level == level) + \
        sum(f.weight for f in fired if f.level != level) // 3
    return low + min(high - low, total * (high - low) // 100)


# -- children ----------------------------------------------------------------------


@dataclass(slots=True)
class _Child:
    current_ages: list[age_rules.Age]
    ages_under_18: bool
    under_16: bool
    markers: bool


def _child(doc: _Doc, rules: RuleSet, received: date | None, hints: Mapping) -> _Child:
    children = rules.children
    past_age = children["past_age_words"]
    found = age_rules.find_ages(doc.tokens, children["age_unit_words"], past_age,
                                children["birth"], received)
    found += age_rules.find_grades(doc.tokens, children["not_subject"], past_age)
    caller_age = hints.get("caller_age")
    if isinstance(caller_age, int) and not isinstance(caller_age, bool) and 0 <= caller_age < 120:
        found.append(age_rules.Age(caller_age, 0, 0, "hint"))
    current = [a for a in found if not a.past
               and (a.source == "hint" or not _hypothetical_at(doc, a.start))]
    explicit = [a for a in current if a.source != "grade"]
    under_18 = any(a.years < 18 for a in current)
    under_16 = any(a.years < 16 for a in current)

    not_minor = doc.spans("child:not_minor")
    markers = [m for m in doc.spans("child:minor") + doc.spans("child:minor_under_16")
               + doc.spans("child:school")
               if not _overlaps(m, not_minor) and not _hypothetical_at(doc, m.start)]
    # An explicit adult age outweighs a loose word like "em": "em trai 18 tuổi".
    if markers and explicit and all(a.years >= 18 for a in explicit) and not under_18:
        markers = [m for m in markers if m.payload.kind == "child:minor_under_16"]
    if any(m.payload.kind == "child:minor_under_16" for m in markers):
        under_16 = True
    return _Child(current, under_18, under_16, bool(markers))


def _hypothetical_at(doc: _Doc, start: int) -> bool:
    if start >= len(doc.tokens):
        return False
    return _hypothetical(doc, Match(start, start + 1, None))


# -- places ------------------------------------------------------------------------


@dataclass(slots=True)
class _Places:
    provinces: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    gates: list[str] = field(default_factory=list)
    gate_countries: list[str] = field(default_factory=list)  # across the gates named
    crossings: list[Match] = field(default_factory=list)  # towards a land border
    at_sea: bool = False
    border_area: bool = False
    spans: list[Match] = field(default_factory=list)


def _places(doc: _Doc, rules: RuleSet) -> _Places:
    out = _Places()
    cue_words = doc.spans("ctx:place_cue")
    cue_ends = {m.end for m in cue_words}
    found = longest_non_overlapping(doc.spans("place"))
    countries_named = {m.payload.entry.code for m in found
                       if m.payload.entry.kind == "country" and not m.payload.ambiguous}
    now_first: list[str] = []
    for match in found:
        place = match.payload.entry
        if place.kind == "region":
            continue
        if match.payload.ambiguous and match.start not in cue_ends \
                and not (place.kind == "country" and place.code in countries_named):
            continue
        if place.needs_gate_cue and not _after_gate_word(doc, match):
            continue
        out.spans.append(match)
        if place.kind == "gate" or (place.kind == "country" and place.code in NEIGHBOURS
                                    and _after_motion_word(doc, match)):
            out.crossings.append(match)
        if place.kind == "country":
            _add(out.countries, place.code)
            continue
        if place.kind == "gate":
            _add(out.gates, place.code)
            out.border_area = True
        if place.kind == "sea" or place.island:
            out.at_sea = True
        if place.border_area:
            out.border_area = True
        code = place.province if place.kind in ("sea", "gate") else place.code
        if place.kind == "gate":
            _add(out.gate_countries, place.country)
        if code:
            if match.start in cue_ends and _cue_is_now(doc, match):
                _add(now_first, code)
            _add(out.provinces, code)
    out.provinces = now_first + [p for p in out.provinces if p not in now_first]
    if doc.spans("ctx:sea") and not out.countries:
        out.at_sea = True  # at sea, and no foreign country's waters named
    return out


def _after_gate_word(doc: _Doc, match: Match) -> bool:
    """"cửa khẩu X", "CK X", "đồn biên phòng X", or a name that says it itself."""
    around = [t.text for t in doc.tokens[max(0, match.start - 3):match.start + 2]]
    return "khau" in around or "ck" in around or "phong" in around


MOTION_WORDS = frozenset({"sang", "qua", "vuot", "phia", "den", "toi"})


def _after_motion_word(doc: _Doc, match: Match) -> bool:
    return match.start > 0 and doc.tokens[match.start - 1].text in MOTION_WORDS


def _cue_is_now(doc: _Doc, match: Match) -> bool:
    before = [t.text for t in doc.tokens[max(0, match.start - 3):match.start]]
    return "dang" in before or "hien" in before


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


# -- facts and functions -----------------------------------------------------------


DAYS_PER_UNIT = {"ngay": 1, "hom": 1, "dem": 1, "tuan": 7, "thang": 30, "nam": 365}
RECENT_DAYS = 3  # the guidelines' 72 hours


def _elapsed_days(tokens: list[Token], received: date | None) -> list[int]:
    """How long ago things started: "7 ngày nay", "2 tuần rồi", "từ ngày 26/10"."""
    out: list[int] = []
    for i, token in enumerate(tokens):
        if token.kind != NUMBER:
            continue
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if token.value is not None and nxt in DAYS_PER_UNIT and 0 < token.value < 100:
            after = tokens[i + 2].text if i + 2 < len(tokens) else ""
            before = tokens[i - 1].text if i else ""
            if after in ("nay", "roi", "qua", "truoc") or before in ("tu", "duoc", "da", "hon"):
                out.append(token.value * DAYS_PER_UNIT[nxt])
        elif received is not None and "/" in token.text:
            when = _day_month(token.text, received)
            before = tokens[i - 1].text if i else ""
            if when is not None and before not in ("sinh", "sn"):
                out.append((received - when).days)
    return out


def _day_month(text: str, received: date) -> date | None:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    year = int(parts[2]) if len(parts) == 3 else received.year
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    if len(parts) == 2 and when > received:
        when = when.replace(year=year - 1) if not (month == 2 and day == 29) else None
    if when is None or when > received or (received - when).days > 3650:
        return None
    return when


def _derived_facts(doc: _Doc, places: _Places, child: _Child, foreign_sender: str | None,
                   returned: bool, hints: Mapping, received: date | None) -> set[str]:
    facts = set()
    if child.ages_under_18 or child.markers:
        facts.add("child")
    if child.under_16:
        facts.add("under_16")
    if places.countries:
        facts.add("abroad")
    if foreign_sender:
        facts.add("foreign_sender")
    if returned:
        facts.add("returned")
    if doc.spans("ctx:escaped") and not doc.spans("ctx:returned"):
        facts.add("escaped")
    for section in ("past", "recent", "long_ago"):
        if doc.spans(f"ctx:{section}"):
            facts.add(section)
    for days in _elapsed_days(doc.tokens, received):
        facts.add("recent" if days <= RECENT_DAYS else "long_ago")
    if places.border_area:
        facts.add("border_area")
    if places.gates:
        facts.add("border_gate")
    if places.at_sea:
        facts.add("at_sea")
    if hints.get("ivr") == "danger_now":
        facts.add("hint_danger_now")
    return facts


def _functions(level: str, fired: list[_Fired], categories: list[str], rules: RuleSet,
               places: _Places, is_child: bool, returned: bool, foreign_sender: str | None,
               facts: set[str]) -> list[str]:
    if level == "low":
        return []
    functions: set[str] = {fn for f in fired for fn in f.functions}
    cats = [rules.categories[c] for c in categories]
    if any(c.police for c in cats):
        functions.add("police")
    if is_child or any(c.child_harm for c in cats) and is_child:
        functions.add("victim_support")
    if returned:
        # out of the trafficker's hands: shelter, care, papers; and the crime to pursue
        functions.update(("victim_support", "police"))
    abroad = bool(places.countries) or bool(foreign_sender)
    home = returned and "escaped" not in facts  # back in Vietnam, not just out of the compound
    if abroad and not home and (LEVELS.index(level) >= LEVELS.index("high") or "escaped" in facts):
        functions.add("consular")
    if places.border_area or places.at_sea or "crossing" in facts:
        functions.add("border")
    if level == "critical" and set(places.countries) & NEIGHBOURS and "moving_now" in facts:
        functions.add("border")
    return sorted(functions)
