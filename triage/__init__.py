"""Explainable, rule-based triage of hotline 111 tips.

    >>> import triage
    >>> result = triage.assess("con toi 14 tuoi bi nhot o nha nghi")
    >>> result.urgency, result.child_involved
    ('critical', True)

Pure: no network, no database, no web framework. The only files it reads are its own
rule data in ``triage/rules/``, once per process.
"""

from .engine import assess
from .result import FUNCTIONS, LEVELS, Reason, TriageResult
from .ruleset import RuleError, RuleSet, load_rules

__all__ = ["assess", "load_rules", "TriageResult", "Reason", "RuleSet", "RuleError",
           "LEVELS", "FUNCTIONS"]
