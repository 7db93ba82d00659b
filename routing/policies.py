"""Escalation policies: who is alerted when, per urgency, counted from the dispatch.

A policy is plain data (``routing/data/policies.toml`` seeds the database's editable
copy; each dispatch keeps a snapshot). Step numbers run on forever: the policy's steps
first, then its `repeat` step again and again until the dispatch is acknowledged.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import CHANNELS, PERSON_ROLES, URGENCIES, EscalationPolicy

POLICY_URGENCIES = ("medium", "high", "critical")  # low tips dispatch nothing
TEST = "test"  # the directory test alert's policy (from the file only, not editable)
_POLICY_KEYS = {"steps", "repeat", "legal_source", "outcome_deadline_hours",
                "outcome_reminder_every_hours"}
_STEP_KEYS = {"after_minutes", "roles", "channels"}
_REPEAT_KEYS = {"every_minutes", "roles", "channels"}


class PolicyError(ValueError):
    """A policy that cannot run; the message names the policy and what is wrong."""


def packaged() -> dict[str, dict]:
    """The policies shipped with the package, validated."""
    text = (resources.files("routing") / "data" / "policies.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data.pop("schema", None)
    return {urgency: validate(urgency, body) for urgency, body in data.items()}


def seed_if_empty(db: Session) -> bool:
    if db.scalar(select(EscalationPolicy.id).limit(1)) is not None:
        return False
    for urgency, body in packaged().items():
        if urgency != TEST:
            db.add(EscalationPolicy(urgency=urgency, body=body, updated_by="seed"))
    db.flush()
    return True


def current(db: Session, urgency: str) -> dict:
    """The policy in force for an urgency (seeding the database on first use)."""
    seed_if_empty(db)
    body = db.scalar(select(EscalationPolicy.body).where(EscalationPolicy.urgency == urgency))
    if body is None:
        raise PolicyError(f"no escalation policy for {urgency!r}")
    return body


def validate(urgency: str, body: Mapping) -> dict:
    """The policy as plain JSON-ready data, or a PolicyError naming what is wrong."""
    where = f"policy {urgency!r}"
    if urgency not in (*POLICY_URGENCIES, TEST):
        raise PolicyError(f"{where}: urgency must be one of {', '.join(POLICY_URGENCIES)} "
                          f"(or {TEST})")
    _only(where, body, _POLICY_KEYS)
    steps = body.get("steps")
    if not isinstance(steps, list) or not steps:
        raise PolicyError(f"{where}: steps must be a non-empty list")
    clean = {"steps": [_step(f"{where} step {n + 1}", step, _STEP_KEYS)
                       for n, step in enumerate(steps)]}
    offsets = [step["after_minutes"] for step in clean["steps"]]
    if offsets[0] != 0 or offsets != sorted(set(offsets)):
        raise PolicyError(f"{where}: the first step is at 0 minutes and each later step "
                          "strictly after the one before")
    if "supervisor" not in clean["steps"][-1]["roles"]:
        raise PolicyError(f"{where}: the last step must alert the duty supervisor, so no "
                          "dispatch stalls silently")
    if "repeat" in body:
        clean["repeat"] = _step(f"{where} repeat", body["repeat"], _REPEAT_KEYS)
    for key in ("outcome_deadline_hours", "outcome_reminder_every_hours"):
        if key in body:
            clean[key] = _positive(where, key, body[key])
    if ("outcome_deadline_hours" in clean) != ("outcome_reminder_every_hours" in clean):
        raise PolicyError(f"{where}: outcome_deadline_hours and outcome_reminder_every_hours "
                          "go together")
    if "legal_source" in body:
        if not isinstance(body["legal_source"], str):
            raise PolicyError(f"{where}: legal_source must be text")
        clean["legal_source"] = body["legal_source"]
    return clean


def step_at(policy: Mapping, step: int) -> dict | None:
    """Step number `step` (the policy's steps, then its repeat forever), or None when
    the policy has no more."""
    steps = policy["steps"]
    if step < len(steps):
        return steps[step]
    return policy.get("repeat")


def due_at(policy: Mapping, step: int, dispatched_at: datetime) -> datetime | None:
    """When step number `step` is due, counted from the dispatch."""
    steps = policy["steps"]
    if step < len(steps):
        return dispatched_at + timedelta(minutes=steps[step]["after_minutes"])
    repeat = policy.get("repeat")
    if repeat is None:
        return None
    rounds = step - len(steps) + 1
    return dispatched_at + timedelta(
        minutes=steps[-1]["after_minutes"] + rounds * repeat["every_minutes"])


def stricter(current_urgency: str, new_urgency: str) -> bool:
    return URGENCIES.index(new_urgency) > URGENCIES.index(current_urgency)


def _step(where: str, step, keys: set[str]) -> dict:
    if not isinstance(step, Mapping):
        raise PolicyError(f"{where}: must be a table")
    _only(where, step, keys)
    clean = {}
    timing = "after_minutes" if "after_minutes" in keys else "every_minutes"
    value = step.get(timing)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (
            timing == "every_minutes" and value == 0):
        raise PolicyError(f"{where}: {timing} must be a whole number of minutes"
                          + (" above 0" if timing == "every_minutes" else ""))
    clean[timing] = value
    roles = step.get("roles")
    if not isinstance(roles, list) or not roles or any(r not in PERSON_ROLES for r in roles):
        raise PolicyError(f"{where}: roles must be a non-empty list of "
                          f"{', '.join(PERSON_ROLES)}")
    clean["roles"] = list(roles)
    if "channels" in step:
        channels = step["channels"]
        if not isinstance(channels, list) or not channels or any(
                c not in CHANNELS for c in channels):
            raise PolicyError(f"{where}: channels must be a non-empty list of "
                              f"{', '.join(CHANNELS)}")
        clean["channels"] = list(channels)
    return clean


def _positive(where: str, key: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PolicyError(f"{where}: {key} must be a whole number above 0")
    return value


def _only(where: str, table: Mapping, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)}")
