"""What a focal point may see of a tip, and on what basis (``routing/data/disclosure.toml``).

A victim's information is shared only as far as needed: without a basis a focal point
sees the tip's reference, urgency, child flag, functions, provinces and categories; the
caller's number and the thread need the caller's consent to share with the dispatch's
function, or a rule of the data file that overrides consent (each citing its legal
exception). The hotline records every disclosure, per recipient, with its basis.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

CONSENT = "consent"
_CONDITIONS = {"child_involved": bool, "urgency": str}


class DisclosureRulesError(ValueError):
    """The rules file cannot be used; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class Rules:
    always: tuple[str, ...]
    protected: tuple[str, ...]
    overrides: tuple[dict, ...]  # {"id", "when", "legal_basis"}


@cache
def packaged() -> Rules:
    text = (resources.files("routing") / "data" / "disclosure.toml").read_text("utf-8")
    return parse(tomllib.loads(text))


def parse(data: Mapping) -> Rules:
    rules = []
    for n, rule in enumerate(data.get("rule", []), 1):
        where = f"rule {rule.get('id', n)!r}"
        if set(rule) != {"id", "when", "legal_basis"}:
            raise DisclosureRulesError(f"{where}: needs exactly id, when and legal_basis")
        if not isinstance(rule["legal_basis"], str) or not rule["legal_basis"].strip():
            raise DisclosureRulesError(f"{where}: legal_basis must cite the exception")
        when = rule["when"]
        if not isinstance(when, Mapping) or not when or any(
                key not in _CONDITIONS or not isinstance(value, _CONDITIONS[key])
                for key, value in when.items()):
            raise DisclosureRulesError(f"{where}: when must test "
                                       f"{' or '.join(_CONDITIONS)}")
        rules.append(dict(rule))
    return Rules(tuple(data.get("always", ())), tuple(data.get("protected", ())),
                 tuple(rules))


def basis(rules: Rules, *, consented: bool, urgency: str, child_involved: bool) -> str | None:
    """"consent", the id of the first rule that applies, or None (no basis)."""
    if consented:
        return CONSENT
    facts = {"urgency": urgency, "child_involved": child_involved}
    for rule in rules.overrides:
        if all(facts[key] == value for key, value in rule["when"].items()):
            return rule["id"]
    return None
