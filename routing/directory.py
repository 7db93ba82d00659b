"""The directory file: check it, import it into the database, export it again.

The file is TOML and is the whole directory: importing it makes the database say what
the file says (nothing is ever deleted that a dispatch may point at; see
``import_directory``). Dates are Asia/Ho_Chi_Minh calendar dates, periods half-open
``[valid_from, valid_to)``. Codes are letters, digits and ``_ . : -``. Format::

    schema = 1

    [[agency]]                  # a ministry or other state body
    code = "bca"
    name = "Bộ Công an"                         # Vietnamese
    name_en = "Ministry of Public Security"     # optional
    valid_from = 2022-07-18                     # a TOML date
    valid_to = 2030-01-01                       # optional: its first day gone

    [[office]]                  # a focal-point unit, or a contact-only office
    code = "bca-c02"
    agency = "bca"                              # an agency's code
    name = "Cục Cảnh sát hình sự (C02)"
    name_en = "Criminal Police Department (C02)"    # optional
    scope = "national"          # national | province | commune | country | sea
    # area: absent for national and sea; for province a province code of triage's
    # places.toml ("lang_son"); for commune "<province code>:<commune>"
    # ("tay_ninh:tan_lap"); for country an ISO 3166 alpha-2 code ("KH").
    phone = "+84 24 2000 0010"  # optional, the office's own line; stored as E.164
    webhook_url = "https://..." # optional: the agency system that takes webhook alerts
    placeholder = true          # optional (false): contacts not verified
    note = "..."                # optional
    valid_from = 2022-07-18
    valid_to = 2030-01-01       # optional
    # The functions it holds (police | consular | border | victim_support), each for a
    # period inside the office's own; empty or absent for a contact-only office.
    # children_only (false): added for tips where a child is involved.
    functions = [{ function = "police", valid_from = 2025-03-01 }]

    [[person]]                  # someone alerts go to
    code = "bca-c02.primary"
    office = "bca-c02"
    name = "..."
    role = "primary"            # primary | backup | head | supervisor
    phone = "+84 24 2000 0011"  # optional; sms and call need it
    email = "a@example.vn"      # optional; email needs it
    channels = ["sms", "call", "email"]     # in order of preference; webhook needs
                                            # the office's webhook_url
    user_email = "a@example.vn" # optional: the console user who is this person
    active = true               # optional (true)
    placeholder = true          # optional (false)

    [[absence]]                 # alerts go to the delegate meanwhile
    person = "bca-c02.primary"
    starts_at = 2026-12-01T08:00:00+07:00       # TOML offset date-times
    ends_at = 2026-12-05T17:00:00+07:00
    delegate = "bca-c02.backup" # optional; another, active person

    [[duty]]                    # the duty rota: a supervisor on duty
    person = "tongdai-111.supervisor1"
    starts_at = 2026-12-01T07:00:00+07:00
    ends_at = 2026-12-01T19:00:00+07:00

``check`` reports every problem at once, each naming its entry, as one
``DirectoryError``. Two offices may not hold the same function for the same scope and
area in overlapping periods (routing would not know which to use), unless one of them
holds it for children only.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .db import utcnow
from .models import (
    CHANNELS,
    FUNCTIONS,
    PERSON_ROLES,
    SCOPES,
    Absence,
    Agency,
    DirectoryVersion,
    DutyShift,
    Office,
    OfficeFunction,
    Person,
)

SCHEMA = 1
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ("agency", "office", "person", "absence", "duty")
SEED_SOURCE = "routing/data/directory.toml"
EXPORT_HEADER = ("# The directory of focal points, exported from the database by `hotline "
                 "directory export`.\n# Format: routing/directory.py. Import it with "
                 "`hotline directory import FILE`.\n\n")


class DirectoryError(ValueError):
    """A directory file that cannot be imported; `errors` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__(f"the directory file has {len(errors)} error(s):\n"
                         + "\n".join(f"- {error}" for error in errors))


@dataclass(frozen=True)
class Directory:
    """A checked directory file: entries as dicts of model fields, references by code."""

    agencies: tuple[dict, ...]
    offices: tuple[dict, ...]
    people: tuple[dict, ...]
    absences: tuple[dict, ...]
    duty: tuple[dict, ...]


# -- fields ---------------------------------------------------------------------------


class _Bad(Exception):
    """A value is wrong; the message completes "<field> ..."."""


class _Invalid:
    """Stands for a field that failed its check, so later checks do not repeat it."""


BAD = _Invalid()
REQUIRED = object()
Check = Callable[[Any], Any]
_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "a number", float: "a number",
               list: "a list", dict: "a table", date: "a date", datetime: "a date-time"}


def _kind(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _text(limit: int, pattern: str | None = None) -> Check:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise _Bad(f"must be a string, not {_kind(value)}")
        value = value.strip()
        if not value:
            raise _Bad("must not be empty")
        if len(value) > limit:
            raise _Bad(f"must be at most {limit} characters")
        if pattern and not re.fullmatch(pattern, value):
            raise _Bad(f'"{value}" may hold only letters, digits and _ . : -')
        return value
    return check


def _code(limit: int) -> Check:
    return _text(limit, r"[A-Za-z0-9][A-Za-z0-9_.:-]*")


def _day(value: object) -> date:
    if type(value) is not date:  # a datetime is a date too, and not what is meant
        raise _Bad(f"must be a date (YYYY-MM-DD), not {_kind(value)}")
    return value


def _moment(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise _Bad(f"must be a date-time with an offset, not {_kind(value)}")
    if value.tzinfo is None:  # 7 hours off in one direction or the other
        raise _Bad("needs an offset, e.g. 2026-12-01T08:00:00+07:00")
    return value.astimezone(UTC)


def _flag(value: object) -> bool:
    if type(value) is not bool:
        raise _Bad(f"must be true or false, not {_kind(value)}")
    return value


def _choice(values: tuple[str, ...]) -> Check:
    def check(value: object) -> str:
        value = _text(32)(value)
        if value not in values:
            raise _Bad(f'"{value}" is not one of {", ".join(values)}')
        return value
    return check


def _phone(value: object) -> str:
    text = _text(32)(value)
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise _Bad(f'"{text}" is not a valid phone number')
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: object) -> str:
    text = _text(254)(value).lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", text):
        raise _Bad(f'"{text}" is not an email address')
    return text


def _url(value: object) -> str:
    text = _text(500)(value)
    parts = urlsplit(text)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    # Alerts carry a tip's reference: never in the clear, except to a test receiver.
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise _Bad(f'"{text}" must be an https:// address')
    return text


def _channels(value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"must list at least one of {', '.join(CHANNELS)}")
    unknown = [c for c in value if c not in CHANNELS]
    if unknown:
        raise _Bad(f"{unknown[0]!r} is not one of {', '.join(CHANNELS)}")
    if len(set(value)) != len(value):
        raise _Bad("lists a channel twice")
    return list(value)


def _tables(value: object) -> list:
    if not isinstance(value, list):
        raise _Bad(f"must be a list of tables, not {_kind(value)}")
    return value


AGENCY = {"code": (_code(32), REQUIRED), "name": (_text(200), REQUIRED),
          "name_en": (_text(200), None), "valid_from": (_day, REQUIRED),
          "valid_to": (_day, None)}
OFFICE = {"code": (_code(64), REQUIRED), "agency": (_code(32), REQUIRED),
          "name": (_text(200), REQUIRED), "name_en": (_text(200), None),
          "scope": (_choice(SCOPES), REQUIRED), "area": (_text(64), None),
          "phone": (_phone, None), "webhook_url": (_url, None),
          "placeholder": (_flag, False), "note": (_text(2000), None),
          "valid_from": (_day, REQUIRED), "valid_to": (_day, None),
          "functions": (_tables, [])}
FUNCTION = {"function": (_choice(FUNCTIONS), REQUIRED), "valid_from": (_day, REQUIRED),
            "valid_to": (_day, None), "children_only": (_flag, False)}
PERSON = {"code": (_code(64), REQUIRED), "office": (_code(64), REQUIRED),
          "name": (_text(200), REQUIRED), "role": (_choice(PERSON_ROLES), REQUIRED),
          "phone": (_phone, None), "email": (_email, None),
          "channels": (_channels, REQUIRED), "user_email": (_email, None),
          "active": (_flag, True), "placeholder": (_flag, False)}
ABSENCE = {"person": (_code(64), REQUIRED), "starts_at": (_moment, REQUIRED),
           "ends_at": (_moment, REQUIRED), "delegate": (_code(64), None)}
DUTY = {"person": (_code(64), REQUIRED), "starts_at": (_moment, REQUIRED),
        "ends_at": (_moment, REQUIRED)}
SPECS = {"agency": AGENCY, "office": OFFICE, "person": PERSON, "absence": ABSENCE,
         "duty": DUTY}


def _fields(label: str, entry: object, spec: dict, errors: list[str]) -> dict | None:
    """The entry's fields checked and defaulted; a field that fails holds BAD."""
    if not isinstance(entry, dict):
        errors.append(f"{label}: must be a table, not {_kind(entry)}")
        return None
    errors += [f'{label}: unknown key "{key}"' for key in entry if key not in spec]
    out = {}
    for key, (checker, default) in spec.items():
        if key not in entry:
            if default is REQUIRED:
                errors.append(f"{label}: {key} is missing")
            out[key] = BAD if default is REQUIRED else copy(default)
            continue
        try:
            out[key] = checker(entry[key])
        except _Bad as bad:
            errors.append(f"{label}: {key} {bad}")
            out[key] = BAD
    return out


def _ok(*values: object) -> bool:
    return all(value is not None and value is not BAD for value in values)


# -- checking a file ------------------------------------------------------------------


@cache
def province_codes() -> frozenset[str]:
    """The 34 provincial units' codes, from the file triage reads them from."""
    places = resources.files("triage") / "rules" / "places.toml"
    return frozenset(p["code"] for p in tomllib.loads(places.read_text("utf-8"))["province"])


def parse(text_or_data: str | Mapping) -> tuple[str, Directory]:
    """The file's text (for its digest) and its checked contents."""
    if isinstance(text_or_data, str):
        try:
            data = tomllib.loads(text_or_data)
        except tomllib.TOMLDecodeError as error:
            raise DirectoryError([f"not a TOML file: {error}"]) from None
        return text_or_data, check(data)
    directory = check(text_or_data)
    return tomli_w.dumps(dict(text_or_data)), directory


def check(data: Mapping) -> Directory:
    """The directory in a parsed file, or a DirectoryError listing every problem."""
    errors: list[str] = []
    errors += [f'unknown key "{key}" at the top level' for key in data
               if key not in ("schema", *KINDS)]
    if type(data.get("schema")) is not int or data["schema"] != SCHEMA:  # true == 1
        errors.append(f"schema must be {SCHEMA}, not {data.get('schema')!r}")
    found = {kind: _entries(kind, data, errors) for kind in KINDS}
    for kind in ("agency", "office"):
        if not found[kind]:
            errors.append(f"the file lists no {kind}: it must hold the whole directory")
    for kind in ("agency", "office", "person"):
        _check_unique_codes(found[kind], errors)
    agencies = {e["code"]: e for _, e in found["agency"]}
    offices = {e["code"]: e for _, e in found["office"]}
    people = {e["code"]: e for _, e in found["person"]}
    for label, agency in found["agency"]:
        _check_period(label, agency, errors)
    for label, office in found["office"]:
        _check_office(label, office, agencies, errors)
    _check_holders(found["office"], errors)
    for label, person in found["person"]:
        _check_person(label, person, offices, errors)
    for label, absence in found["absence"]:
        _check_absence(label, absence, people, errors)
    for label, shift in found["duty"]:
        _check_duty(label, shift, people, errors)
    for kind in ("absence", "duty"):
        _check_unique_times(found[kind], errors)
    if errors:
        raise DirectoryError(errors)
    return Directory(*(tuple(e for _, e in found[kind]) for kind in KINDS))


def _entries(kind: str, data: Mapping, errors: list[str]) -> list[tuple[str, dict]]:
    section = data.get(kind, [])
    if not isinstance(section, list):
        errors.append(f"{kind} must be an array of tables ([[{kind}]]), not {_kind(section)}")
        return []
    found = []
    for number, entry in enumerate(section, 1):
        label = _label(kind, number, entry)
        fields = _fields(label, entry, SPECS[kind], errors)
        if fields is not None:
            found.append((label, fields))
    return found


def _label(kind: str, number: int, entry: object) -> str:
    key = "person" if kind in ("absence", "duty") else "code"
    name = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(name, str) or not name.strip():
        return f"{kind} #{number}"
    return f'{kind} #{number} (person "{name}")' if key == "person" else f'{kind} "{name}"'


def _check_unique_codes(entries: list[tuple[str, dict]], errors: list[str]) -> None:
    seen: set[str] = set()
    for label, entry in entries:
        if _ok(entry["code"]) and entry["code"] in seen:
            errors.append(f"{label}: the code is used by an earlier entry too")
        seen.add(entry["code"])


def _check_period(label: str, entry: dict, errors: list[str], start: str = "valid_from",
                  end: str = "valid_to") -> None:
    if _ok(entry[start], entry[end]) and entry[end] <= entry[start]:
        errors.append(f"{label}: {end} must be after {start}")


def _within(inner: dict, outer: dict) -> bool:
    """Whether inner's period lies inside outer's (both checked)."""
    if not _ok(inner["valid_from"], outer["valid_from"]) or inner["valid_to"] is BAD:
        return True  # already reported
    if inner["valid_from"] < outer["valid_from"]:
        return False
    return outer["valid_to"] in (None, BAD) or (
        inner["valid_to"] is not None and inner["valid_to"] <= outer["valid_to"])


def _check_office(label: str, office: dict, agencies: dict, errors: list[str]) -> None:
    _check_period(label, office, errors)
    agency = agencies.get(office["agency"])
    if _ok(office["agency"]) and agency is None:
        errors.append(f'{label}: agency "{office["agency"]}" is not in the file')
    elif agency is not None and not _within(office, agency):
        errors.append(f'{label}: its dates must lie within agency "{agency["code"]}"\'s')
    _check_area(label, office["scope"], office["area"], errors)
    if office["functions"] is BAD:
        return
    functions = []
    for number, entry in enumerate(office["functions"], 1):
        where = f"{label}: functions[{number}]"
        function = _fields(where, entry, FUNCTION, errors)
        if function is None:
            continue
        _check_period(where, function, errors)
        if not _within(function, office):
            errors.append(f"{where}: its dates must lie within the office's")
        functions.append(function)
    office["functions"] = functions
    dated = [function for function in functions if _dated(function)]
    for n, function in enumerate(dated):
        if any(_overlap(earlier, function) for earlier in dated[:n]
               if earlier["function"] == function["function"]):
            errors.append(f"{label}: holds {function['function']} twice in overlapping "
                          "periods")


AREAS = {"province": "a province code of triage's places.toml, e.g. lang_son",
         "commune": '"<province code>:<commune>", e.g. tay_ninh:tan_lap',
         "country": "an ISO 3166 alpha-2 code (two upper-case letters), e.g. KH"}


def _check_area(label: str, scope: object, area: object, errors: list[str]) -> None:
    if not _ok(scope) or area is BAD:
        return
    if scope in ("national", "sea"):
        if area is not None:
            errors.append(f"{label}: area must be absent for scope {scope}")
    elif area is None:
        errors.append(f"{label}: area is missing: scope {scope} needs {AREAS[scope]}")
    elif not _is_area(str(scope), str(area)):
        errors.append(f'{label}: area "{area}" is not {AREAS[scope]}')


def _is_area(scope: str, area: str) -> bool:
    if scope == "country":
        return re.fullmatch(r"[A-Z]{2}", area) is not None
    if scope == "province":
        return area in province_codes()
    province, _, commune = area.partition(":")
    return province in province_codes() and re.fullmatch(r"[a-z0-9_]+", commune) is not None


def _check_holders(offices: list[tuple[str, dict]], errors: list[str]) -> None:
    """One holder per function, scope and area at a time (children-only apart)."""
    holders: dict[tuple, list[tuple[dict, str, dict]]] = defaultdict(list)
    for label, office in offices:
        for function in office["functions"] if isinstance(office["functions"], list) else ():
            if _dated(function) and _ok(office["scope"]) and office["area"] is not BAD:
                key = (function["function"], function["children_only"], office["scope"],
                       office["area"])
                holders[key].append((office, label, function))
    for (name, children_only, scope, area), held in holders.items():
        held.sort(key=lambda h: h[2]["valid_from"])
        for n, (office, label, function) in enumerate(held):
            for other, _, earlier in held[:n]:
                if other is not office and _overlap(earlier, function):
                    whom = " for children" if children_only else ""
                    place = scope if area is None else f"{scope} {area}"
                    errors.append(
                        f'{label}: holds {name}{whom} for {place} from '
                        f'{function["valid_from"]} while office "{other["code"]}" holds it '
                        "too: overlapping holders make routing ambiguous")


def _dated(function: dict) -> bool:
    return _ok(function["function"], function["valid_from"]) and function["valid_to"] is not BAD


def _overlap(a: dict, b: dict) -> bool:
    a_end, b_end = a["valid_to"] or date.max, b["valid_to"] or date.max
    return a["valid_from"] < b_end and b["valid_from"] < a_end


def _check_person(label: str, person: dict, offices: dict, errors: list[str]) -> None:
    office = offices.get(person["office"])
    if _ok(person["office"]) and office is None:
        errors.append(f'{label}: office "{person["office"]}" is not in the file')
    channels = person["channels"] if isinstance(person["channels"], list) else []
    for channel, address in (("sms", "phone"), ("call", "phone"), ("email", "email")):
        if channel in channels and person[address] is None:
            errors.append(f"{label}: channel {channel} needs the person's {address}")
    if "webhook" in channels and office is not None and office["webhook_url"] is None:
        errors.append(f'{label}: channel webhook needs office "{office["code"]}" to have a '
                      "webhook_url")


def _check_absence(label: str, absence: dict, people: dict, errors: list[str]) -> None:
    _check_period(label, absence, errors, "starts_at", "ends_at")
    _resolve(label, "person", absence["person"], people, errors)
    delegate = _resolve(label, "delegate", absence["delegate"], people, errors)
    if delegate is not None and absence["delegate"] == absence["person"]:
        errors.append(f"{label}: the delegate must be someone else")
    elif delegate is not None and delegate["active"] is False:
        errors.append(f'{label}: delegate "{delegate["code"]}" is not active')


def _check_duty(label: str, shift: dict, people: dict, errors: list[str]) -> None:
    _check_period(label, shift, errors, "starts_at", "ends_at")
    person = _resolve(label, "person", shift["person"], people, errors)
    if person is not None and _ok(person["role"]) and person["role"] != "supervisor":
        errors.append(f'{label}: "{person["code"]}" is a {person["role"]}, and only '
                      "supervisors go on the duty rota")
    elif person is not None and person["active"] is False:
        errors.append(f'{label}: "{person["code"]}" is not active')


def _resolve(label: str, field: str, code: object, people: dict,
             errors: list[str]) -> dict | None:
    if not _ok(code):
        return None
    if code not in people:
        errors.append(f'{label}: {field} "{code}" is not in the file')
    return people.get(code)


def _check_unique_times(entries: list[tuple[str, dict]], errors: list[str]) -> None:
    seen: set[tuple] = set()
    for label, entry in entries:
        key = tuple(entry.values())
        if key in seen:
            errors.append(f"{label}: the same entry appears earlier too")
        seen.add(key)


# -- import ---------------------------------------------------------------------------


def import_directory(db: Session, text_or_data: str | Mapping, source: str,
                     imported_by: str | None = None, *,
                     now: datetime | None = None) -> DirectoryVersion:
    """Make the database's directory what the file says, in the caller's transaction
    (nothing is written unless the whole file checks out), and record the version.

    Agencies, offices and people are matched by code; an office's functions become the
    file's. Agencies and offices the file no longer lists are end-dated (today in
    Vietnam), never deleted: dispatches point at them. People it no longer lists become
    inactive. Absences and duty shifts become the file's."""
    text, directory = parse(text_or_data)
    now = now or utcnow()
    today = now.astimezone(VIETNAM).date()
    summary = {kind: {"added": 0, "changed": 0, "ended": 0} for kind in KINDS}
    agencies = _sync_agencies(db, directory.agencies, today, summary["agency"])
    offices = _sync_offices(db, directory.offices, agencies, today, summary["office"])
    people = _sync_people(db, directory.people, offices, summary["person"])
    codes = dict(db.execute(select(Person.id, Person.code)).all())
    _sync_times(db, Absence, [(e["person"], e["starts_at"], e["ends_at"], e["delegate"])
                              for e in directory.absences],
                lambda row: (codes[row.person_id], row.starts_at, row.ends_at,
                             codes.get(row.delegate_id)),
                lambda p, start, end, delegate: Absence(
                    person_id=people[p].id, starts_at=start, ends_at=end,
                    delegate_id=people[delegate].id if delegate else None),
                summary["absence"])
    _sync_times(db, DutyShift, [(e["person"], e["starts_at"], e["ends_at"])
                                for e in directory.duty],
                lambda row: (codes[row.person_id], row.starts_at, row.ends_at),
                lambda p, start, end: DutyShift(person_id=people[p].id, starts_at=start,
                                                ends_at=end),
                summary["duty"])
    version = DirectoryVersion(imported_at=now, imported_by=imported_by, source=source[:500],
                               digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                               summary=summary)
    db.add(version)
    db.flush()
    return version


def _sync_agencies(db: Session, entries: Iterable[dict], today: date,
                   tally: dict) -> dict[str, Agency]:
    rows = {row.code: row for row in db.scalars(select(Agency))}
    listed, added, changed = _upsert(db, Agency, rows, entries, dict)
    ended = [row for code, row in rows.items() if code not in listed and _end(row, today)]
    _tally(tally, added, changed, ended)
    return listed


def _sync_offices(db: Session, entries: Iterable[dict], agencies: dict[str, Agency],
                  today: date, tally: dict) -> dict[str, Office]:
    rows = {row.code: row for row in db.scalars(
        select(Office).options(selectinload(Office.functions)))}

    def values(entry: dict) -> dict:
        fields = {k: v for k, v in entry.items() if k not in ("agency", "functions")}
        return {**fields, "agency_id": agencies[entry["agency"]].id}

    entries = list(entries)
    listed, added, changed = _upsert(db, Office, rows, entries, values)
    for entry in entries:
        if _sync_functions(listed[entry["code"]], entry["functions"]) \
                and entry["code"] not in added:
            changed.add(entry["code"])
    ended = [row for code, row in rows.items() if code not in listed and _end(row, today)]
    for row in ended:
        _end_functions(row, today)
    _tally(tally, added, changed, ended)
    db.flush()
    return listed


def _sync_people(db: Session, entries: Iterable[dict], offices: dict[str, Office],
                 tally: dict) -> dict[str, Person]:
    rows = {row.code: row for row in db.scalars(select(Person))}

    def values(entry: dict) -> dict:
        fields = {k: v for k, v in entry.items() if k != "office"}
        return {**fields, "office_id": offices[entry["office"]].id}

    listed, added, changed = _upsert(db, Person, rows, entries, values)
    # People leave; their rows stay, since alerts and acknowledgements name them.
    ended = [row for code, row in rows.items() if code not in listed and row.active]
    for row in ended:
        row.active = False
    _tally(tally, added, changed, ended)
    db.flush()
    return listed


def _upsert(db: Session, model: type, rows: dict, entries: Iterable[dict],
            values_of: Callable[[dict], dict]) -> tuple[dict, set[str], set[str]]:
    """Rows by code as the entries say, and the codes added and changed."""
    listed, added, changed = {}, set(), set()
    for entry in entries:
        code, values = entry["code"], values_of(entry)
        row = rows.get(code)
        if row is None:
            row = model(**values)
            db.add(row)
            added.add(code)
        elif _assign(row, values):
            changed.add(code)
        listed[code] = row
    db.flush()  # ids for the rows that refer to these
    return listed, added, changed


def _tally(tally: dict, added: set, changed: set, ended: list) -> None:
    tally.update(added=len(added), changed=len(changed), ended=len(ended))


def _assign(row: object, values: dict) -> bool:
    """Set the values that differ; whether any did."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _sync_functions(office: Office, entries: list[dict]) -> bool:
    """Make the office's functions the file's; whether anything changed. Rows are
    matched by (function, valid_from), which the schema keeps unique per office."""
    have = {(row.function, row.valid_from): row for row in office.functions}
    want = {(e["function"], e["valid_from"]): e for e in entries}
    changed = False
    for key in have.keys() - want.keys():
        office.functions.remove(have[key])
        changed = True
    for key, entry in want.items():
        values = {"valid_to": entry["valid_to"], "children_only": entry["children_only"]}
        if key not in have:
            office.functions.append(OfficeFunction(function=key[0], valid_from=key[1],
                                                   **values))
            changed = True
        elif _assign(have[key], values):
            changed = True
    return changed


def _end(row: Agency | Office, today: date) -> bool:
    """End-date a row the file no longer lists; whether that changed it. A row that has
    not started yet keeps one day, the shortest period the schema allows."""
    end = max(today, row.valid_from + timedelta(days=1))
    if row.valid_to is not None and row.valid_to <= end:
        return False
    row.valid_to = end
    return True


def _end_functions(office: Office, today: date) -> None:
    """An ended office holds nothing from today; what has not started yet is dropped (a
    period must not be empty), so routing stops at once."""
    for function in list(office.functions):
        if function.valid_from >= today:
            office.functions.remove(function)
        elif function.valid_to is None or function.valid_to > today:
            function.valid_to = today


def _sync_times(db: Session, model: type, wanted: list[tuple], key_of: Callable,
                make: Callable, tally: dict) -> None:
    """Make the absences (or duty shifts) the file's: rows are their values."""
    want = set(wanted)
    have = {}
    for row in db.scalars(select(model)):
        key = key_of(row)
        if key in want and key not in have:
            have[key] = row
        else:
            db.delete(row)
            tally["ended"] += 1
    for key in sorted(want - have.keys(), key=wanted.index):
        db.add(make(*key))
        tally["added"] += 1
    db.flush()


# -- export and seed ------------------------------------------------------------------


def export_directory(db: Session) -> str:
    """The database's directory as a directory file, in a fixed order, so that export,
    import and export again give the same text."""
    agency_codes = dict(db.execute(select(Agency.id, Agency.code)).all())
    office_codes = dict(db.execute(select(Office.id, Office.code)).all())
    person_codes = dict(db.execute(select(Person.id, Person.code)).all())
    agencies = sorted(db.scalars(select(Agency)), key=lambda a: a.code)
    offices = sorted(db.scalars(select(Office).options(selectinload(Office.functions))),
                     key=lambda o: (agency_codes[o.agency_id], SCOPES.index(o.scope),
                                    o.area or "", o.code))
    people = sorted(db.scalars(select(Person)),
                    key=lambda p: (office_codes[p.office_id], PERSON_ROLES.index(p.role),
                                   p.code))
    absences = sorted(((person_codes[a.person_id], a.starts_at, a.ends_at,
                        person_codes.get(a.delegate_id)) for a in db.scalars(select(Absence))),
                      key=lambda a: (a[1], a[0], a[2], a[3] or ""))
    duty = sorted(((person_codes[d.person_id], d.starts_at, d.ends_at)
                   for d in db.scalars(select(DutyShift))), key=lambda d: (d[1], d[0], d[2]))
    data: dict[str, Any] = {"schema": SCHEMA}
    data["agency"] = [_entry(AGENCY, a) for a in agencies]
    data["office"] = [_entry(OFFICE, o, agency=agency_codes[o.agency_id],
                             functions=[_entry(FUNCTION, f) for f in sorted(
                                 o.functions, key=lambda f: (f.function, f.valid_from))])
                      for o in offices]
    data["person"] = [_entry(PERSON, p, office=office_codes[p.office_id]) for p in people]
    data["absence"] = [_entry(ABSENCE, None, **dict(zip(ABSENCE, a, strict=True)))
                       for a in absences]
    data["duty"] = [_entry(DUTY, None, **dict(zip(DUTY, d, strict=True))) for d in duty]
    return EXPORT_HEADER + tomli_w.dumps({k: v for k, v in data.items() if v != []})


def _entry(spec: dict, row: object, **given: object) -> dict:
    """An entry in the spec's order, from the given values or else the row's attributes,
    leaving out what is absent or at its default (an office's functions stay, even
    empty: a contact-only office says so)."""
    out = {}
    for key, (_, default) in spec.items():
        value = given[key] if key in given else getattr(row, key)
        if value is None or (value == default and key != "functions"):
            continue
        out[key] = value.astimezone(VIETNAM) if isinstance(value, datetime) else value
    return out


def packaged_seed() -> str:
    """The seed directory shipped with the package (routing/data/directory.toml)."""
    return (resources.files("routing") / "data" / "directory.toml").read_text("utf-8")


def seed_if_empty(db: Session, *, now: datetime | None = None) -> DirectoryVersion | None:
    """Import the packaged seed when the directory has no agency yet."""
    if db.scalar(select(Agency.id).limit(1)) is not None:
        return None
    return import_directory(db, packaged_seed(), SEED_SOURCE, "seed", now=now)
