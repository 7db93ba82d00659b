"""Is a child the person at risk? Ages, birth dates, grades and words for minors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from . import ages
from .document import Document, hypothetical, overlaps
from .ruleset import RuleSet


@dataclass(slots=True)
class ChildFacts:
    current_ages: list[ages.Age]
    under_18: bool  # an age or a word says so
    under_16: bool

    @property
    def ages(self) -> tuple[int, ...]:
        return tuple(sorted({a.years for a in self.current_ages}))


def find_children(doc: Document, rules: RuleSet, received: date | None,
                  hints: Mapping) -> ChildFacts:
    words = rules.children
    past_age = words["past_age_words"]
    found = ages.find_ages(doc.columns, words["age_unit_words"], past_age, words["birth"],
                           received, doc.numbers)
    found += ages.find_grades(doc.columns, words["not_subject"], past_age)
    caller_age = hints.get("caller_age")
    if isinstance(caller_age, int) and not isinstance(caller_age, bool) and 0 <= caller_age < 120:
        found.append(ages.Age(caller_age, 0, 0, "hint"))
    current = [a for a in found
               if not a.past and (a.source == "hint" or not hypothetical(doc, a.start))]
    explicit = [a for a in current if a.source != "grade"]
    under_18 = any(a.years < 18 for a in current)
    under_16 = any(a.years < 16 for a in current)

    not_minor = doc.spans("child:not_minor")
    markers = [m for m in doc.spans("child:minor") + doc.spans("child:minor_under_16")
               + doc.spans("child:school")
               if not overlaps(m, not_minor) and not hypothetical(doc, m.start)]
    # An explicit adult age outweighs a loose word like "em": "em trai 18 tuổi".
    if markers and explicit and all(a.years >= 18 for a in explicit) and not under_18:
        markers = [m for m in markers if m.payload.kind == "child:minor_under_16"]
    if any(m.payload.kind == "child:minor_under_16" for m in markers):
        under_16 = True
    return ChildFacts(current, under_18 or bool(markers), under_16)
