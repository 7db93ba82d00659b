"""The immutable verdict triage returns for one tip."""

from __future__ import annotations

from dataclasses import asdict, dataclass

LEVELS = ("low", "medium", "high", "critical")
FUNCTIONS = ("police", "consular", "border", "victim_support")
# Score bands from the guidelines: low 0-24, medium 25-49, high 50-74, critical 75-100.
BANDS = {"low": (0, 24), "medium": (25, 49), "high": (50, 74), "critical": (75, 100)}


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired: its id, weight and where in the text (code points, end exclusive).

    A stored reason never copies the text, so it carries no victim words.
    """

    rule: str
    weight: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TriageResult:
    urgency: str
    score: int
    child_involved: bool
    under_16: bool
    ages: tuple[int, ...]
    functions: tuple[str, ...]
    countries: tuple[str, ...]
    provinces: tuple[str, ...]
    at_sea: bool
    border_gates: tuple[str, ...]
    categories: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rules_version: str

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (lists instead of tuples)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data
