"""A small directory for routing tests, built directly (the seed directory has tests of
its own), and tips for dispatches to belong to."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from hotline import intake
from routing.models import Agency, DutyShift, Office, OfficeFunction, Person
from routing.route import TipFacts

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
OLD = date(2022, 7, 18)
REORGANISED = date(2025, 3, 1)

# code: (scope, area, [(function, valid_from, valid_to, children_only)])
OFFICES = {
    "c02": ("national", None, [("police", REORGANISED, None, False)]),
    "bca-office": ("national", None, [("police", OLD, REORGANISED, False)]),
    "police-lang-son": ("province", "lang_son", [("police", OLD, None, False)]),
    "consular": ("national", None, [("consular", OLD, None, False)]),
    "embassy-kh": ("country", "KH", [("consular", OLD, None, False)]),
    "border": ("national", None, [("border", OLD, None, False)]),
    "border-lang-son": ("province", "lang_son", [("border", OLD, None, False)]),
    "coast-guard": ("sea", None, [("border", OLD, None, False)]),
    "molisa": ("national", None, [("victim_support", OLD, REORGANISED, False)]),
    "moh-social": ("national", None, [("victim_support", REORGANISED, None, False)]),
    "moh-children": ("national", None, [("victim_support", REORGANISED, None, True)]),
    "hotline": ("national", None, []),
    "commune-police": ("commune", "lang_son:dong_dang", []),
}


def build_directory(db: Session) -> dict[str, Office]:
    """Each office with a primary, a backup and a head (sms and call, then email); the
    hotline office with two supervisors, one of them on duty around T0."""
    agency = Agency(code="STATE", name="Nhà nước", valid_from=date(1945, 9, 2))
    offices = {}
    for index, (code, (scope, area, functions)) in enumerate(OFFICES.items()):
        office = Office(code=code, agency=agency, name=f"Văn phòng {code}", scope=scope,
                        area=area, valid_from=OLD)
        for function, valid_from, valid_to, children_only in functions:
            office.functions.append(OfficeFunction(function=function, valid_from=valid_from,
                                                   valid_to=valid_to,
                                                   children_only=children_only))
        if functions:
            for n, role in enumerate(("primary", "backup", "head")):
                office.people.append(_person(f"{code}-{role}", role, 10 * index + n))
        offices[code] = office
        db.add(office)
    for n in (1, 2):
        offices["hotline"].people.append(_person(f"supervisor-{n}", "supervisor", 900 + n))
    db.flush()
    on_duty = next(p for p in offices["hotline"].people if p.code == "supervisor-1")
    db.add(DutyShift(person=on_duty, starts_at=datetime(2026, 11, 22, tzinfo=UTC),
                     ends_at=datetime(2026, 11, 30, tzinfo=UTC)))
    db.flush()
    return offices


def _person(code: str, role: str, n: int) -> Person:
    return Person(code=code, name=f"Cán bộ {code}", role=role,  # each a number of its own
                  phone=f"+84912000{n:03d}", email=f"{code}@example.vn",
                  channels=["sms", "call", "email"])


def make_tip(db: Session, at: datetime = T0):
    """A tip row for dispatches to belong to (its text does not matter here)."""
    tip = intake.new_tip(db, channel="walk_in", caller=None, at=at)
    db.flush()
    return tip


def facts(tip, urgency="high", functions=("police",), provinces=("lang_son",),
          countries=(), at_sea=False, child=False) -> TipFacts:
    return TipFacts(tip_id=tip.id, reference=tip.reference, urgency=urgency,
                    child_involved=child, functions=tuple(functions),
                    provinces=tuple(provinces), countries=tuple(countries), at_sea=at_sea)
