"""Invariants every triage verdict must satisfy (GUIDELINES.md), shared by several test files."""

from __future__ import annotations

import triage
from triage import FUNCTIONS, LEVELS, TriageResult

# Score bands from the guidelines, written out here rather than imported, so a change
# in the package cannot move the bar the tests hold it to.
BANDS = {"low": (0, 24), "medium": (25, 49), "high": (50, 74), "critical": (75, 100)}


def check_invariants(result: object, text: object) -> None:
    """Assert the guideline invariants on one result for the text it was made from."""
    assert isinstance(result, TriageResult)
    assert result.urgency in LEVELS
    assert set(BANDS) == set(LEVELS)
    assert isinstance(result.score, int) and not isinstance(result.score, bool)
    low, high = BANDS[result.urgency]
    assert low <= result.score <= high, (result.urgency, result.score)
    assert set(result.functions) <= set(FUNCTIONS), result.functions
    assert len(set(result.functions)) == len(result.functions)
    if result.urgency == "low":
        assert result.functions == (), "a low tip goes to an operator, not to a function"
    assert isinstance(result.child_involved, bool)
    assert isinstance(result.under_16, bool)
    if result.under_16:
        assert result.child_involved
    for code in result.countries:
        assert isinstance(code, str) and len(code) == 2 and code.isupper() and code != "VN", code
    length = len(text) if isinstance(text, str) else 0
    for reason in result.reasons:
        assert isinstance(reason.rule, str) and reason.rule
        assert isinstance(reason.weight, int) and not isinstance(reason.weight, bool)
        assert isinstance(reason.start, int) and isinstance(reason.end, int)
        assert 0 <= reason.start < reason.end <= length, (reason, length)
    assert isinstance(result.rules_version, str) and result.rules_version
    assert result.rules_version == triage.load_rules().version
