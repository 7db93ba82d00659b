"""The directory file: the seed, checks that name the entry and change nothing, import
(upsert, end-dating, deactivation, re-import as a no-op), export and the command line."""

from __future__ import annotations

import copy
import re
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import tomli_w
from click.testing import CliRunner
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.cli import main
from routing import acklinks, escalation
from routing.directory import (
    DirectoryError,
    export_directory,
    import_directory,
    packaged_seed,
    parse,
    province_codes,
    seed_if_empty,
)
from routing.models import (
    Absence,
    Agency,
    Alert,
    DirectoryVersion,
    Dispatch,
    DutyShift,
    Office,
    OfficeFunction,
    Person,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
VN = timezone(timedelta(hours=7))
TABLES = (Agency, Office, OfficeFunction, Person, Absence, DutyShift, DirectoryVersion)
REGULATION, REORGANISED, MAP34 = date(2022, 7, 18), date(2025, 3, 1), date(2025, 7, 1)


@pytest.fixture
def db(engine):
    with Session(engine) as session, session.begin():
        yield session


def counts(db: Session) -> dict[str, int]:
    return {model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in TABLES}


def holders(db: Session, function: str, on: date, scope: str = "national") -> set:
    """(office code, children only) of the offices holding a function on a day."""
    rows = db.execute(
        select(Office.code, OfficeFunction.children_only).join(OfficeFunction)
        .where(OfficeFunction.function == function, Office.scope == scope,
               OfficeFunction.valid_from <= on,
               or_(OfficeFunction.valid_to.is_(None), OfficeFunction.valid_to > on),
               Office.valid_from <= on, or_(Office.valid_to.is_(None), Office.valid_to > on)))
    return {tuple(row) for row in rows}


def small() -> dict:
    """A small, valid directory file (as parsed TOML)."""
    return {
        "schema": 1,
        "agency": [
            {"code": "bca", "name": "Bộ Công an", "valid_from": REGULATION},
            {"code": "bng", "name": "Bộ Ngoại giao", "valid_from": REGULATION},
            {"code": "byt", "name": "Bộ Y tế", "valid_from": REGULATION},
        ],
        "office": [
            {"code": "bca-c02", "agency": "bca", "name": "Cục Cảnh sát hình sự",
             "scope": "national", "valid_from": REGULATION,
             "functions": [{"function": "police", "valid_from": REORGANISED}]},
            {"code": "ca-lang_son", "agency": "bca", "name": "Công an tỉnh Lạng Sơn",
             "scope": "province", "area": "lang_son", "valid_from": MAP34,
             "functions": [{"function": "police", "valid_from": MAP34}]},
            {"code": "dsq-kh", "agency": "bng", "name": "Đại sứ quán tại Campuchia",
             "scope": "country", "area": "KH", "webhook_url": "https://kh.example.vn/alerts",
             "valid_from": REORGANISED,
             "functions": [{"function": "consular", "valid_from": REORGANISED}]},
            {"code": "tongdai-111", "agency": "byt", "name": "Tổng đài 111",
             "scope": "national", "valid_from": REORGANISED},
        ],
        "person": [
            {"code": "c02.primary", "office": "bca-c02", "name": "Cán bộ A",
             "role": "primary", "phone": "024 2000 0011", "email": "A@Example.VN",
             "channels": ["sms", "email"]},
            {"code": "c02.backup", "office": "bca-c02", "name": "Cán bộ B", "role": "backup",
             "phone": "+84 24 2000 0012", "channels": ["call"]},
            {"code": "kh.primary", "office": "dsq-kh", "name": "Cán bộ C", "role": "primary",
             "channels": ["webhook"]},
            {"code": "sup1", "office": "tongdai-111", "name": "Giám sát 1",
             "role": "supervisor", "phone": "+842420000014", "channels": ["sms"],
             "user_email": "sup1@example.vn"},
            {"code": "sup2", "office": "tongdai-111", "name": "Giám sát 2",
             "role": "supervisor", "phone": "+842420000015", "channels": ["call"]},
        ],
        "absence": [{"person": "sup1", "starts_at": datetime(2026, 12, 1, 8, tzinfo=VN),
                     "ends_at": datetime(2026, 12, 5, 17, tzinfo=VN), "delegate": "sup2"}],
        "duty": [{"person": "sup1", "starts_at": datetime(2026, 11, 23, 7, tzinfo=VN),
                  "ends_at": datetime(2026, 11, 23, 19, tzinfo=VN)}],
    }


def entry(data: dict, kind: str, code: str) -> dict:
    return next(e for e in data[kind] if e["code"] == code)


# -- the seed -------------------------------------------------------------------------


def test_the_seed_checks_out_and_imports(db):
    version = seed_if_empty(db, now=NOW)
    assert version is not None and version.imported_by == "seed"
    assert version.summary["agency"]["added"] == 6
    assert version.summary["office"]["added"] == db.scalar(select(func.count(Office.id)))
    assert all(n == 0 for kind in version.summary.values()
               for key, n in kind.items() if key != "added")
    assert seed_if_empty(db, now=NOW) is None
    assert db.scalar(select(func.count(DirectoryVersion.id))) == 1


def test_the_seed_covers_every_province_border_unit_the_sea_and_the_embassies(db):
    seed_if_empty(db, now=NOW)
    on = date(2026, 1, 1)
    police = {area for code, _ in holders(db, "police", on, "province")
              for area in [db.scalar(select(Office.area).where(Office.code == code))]}
    assert police == province_codes() and len(police) == 34
    places = tomllib.loads(open_places())["province"]
    border_units = {p["code"] for p in places if p["borders"] or p["coastal"]}
    border = {db.scalar(select(Office.area).where(Office.code == code))
              for code, _ in holders(db, "border", on, "province")}
    assert border == border_units and len(border) == 30
    assert holders(db, "border", on, "sea") == {("csb", False)}
    embassies = {db.scalar(select(Office.area).where(Office.code == code))
                 for code, _ in holders(db, "consular", on, "country")}
    assert {"CN", "KH", "LA", "MM", "TH", "MY"} <= embassies and len(embassies) == 18
    assert holders(db, "consular", on) == {("bng-cls", False)}
    assert holders(db, "border", on) == {("bdbp-pcmt", False)}


def open_places() -> str:
    from importlib import resources

    return (resources.files("triage") / "rules" / "places.toml").read_text("utf-8")


def test_every_seed_contact_is_a_marked_placeholder(db):
    seed_if_empty(db, now=NOW)
    offices = db.scalars(select(Office)).all()
    people = db.scalars(select(Person)).all()
    assert all(o.placeholder for o in offices) and all(p.placeholder for p in people)
    for number in [o.phone for o in offices] + [p.phone for p in people]:
        assert re.fullmatch(r"\+84242000\d{4}", number), number
    assert all(p.email.endswith("@example.vn") for p in people)
    assert all("chưa xác minh" in p.name for p in people)
    for office in offices:
        if office.functions:
            assert {"primary", "backup", "head"} <= {p.role for p in office.people}, office.code
    supervisors = {p.code for p in people if p.role == "supervisor"}
    assert len(supervisors) == 2
    assert {shift.person.code for shift in db.scalars(select(DutyShift))} == supervisors


def test_the_seed_keeps_the_2022_focal_points_as_history(db):
    seed_if_empty(db, now=NOW)
    before, after = date(2024, 6, 1), date(2026, 1, 1)
    assert holders(db, "victim_support", before) == {("bldtbxh-tnxh", False)}
    assert holders(db, "victim_support", after) == {("byt-btxh", False), ("byt-bmte", True)}
    assert holders(db, "police", before) == {("bca-vp", False)}
    assert holders(db, "police", after) == {("bca-c02", False)}
    assert holders(db, "police", REORGANISED) == {("bca-c02", False)}  # half-open periods
    assert holders(db, "police", date(2025, 6, 30), "province") == set()
    assert holders(db, "consular", before) == {("bng-cls", False)}
    assert holders(db, "border", before) == {("bdbp-pcmt", False)}
    labour = db.scalar(select(Agency).where(Agency.code == "bldtbxh"))
    assert labour.valid_to == REORGANISED


# -- bad input ------------------------------------------------------------------------


def _add_holder(data: dict) -> None:
    data["office"].append({"code": "c02-bis", "agency": "bca", "name": "Cục khác",
                           "scope": "national", "valid_from": REGULATION,
                           "functions": [{"function": "police",
                                          "valid_from": date(2026, 1, 1)}]})


def _clear(data: dict) -> None:
    data.clear()
    data["schema"] = 1


BAD = [
    (lambda d: entry(d, "office", "bca-c02").update(fax="024"),
     'office "bca-c02": unknown key "fax"'),
    (lambda d: d.update(offices=[]), 'unknown key "offices" at the top level'),
    (lambda d: d.update(schema=2), "schema must be 1, not 2"),
    (lambda d: d.update(person={"code": "x"}), "person must be an array of tables"),
    (lambda d: entry(d, "office", "bca-c02").pop("scope"), 'office "bca-c02": scope is missing'),
    (lambda d: entry(d, "office", "bca-c02")["functions"][0].pop("valid_from"),
     'office "bca-c02": functions[1]: valid_from is missing'),
    (lambda d: d["person"][0].pop("code"), "person #1: code is missing"),
    (lambda d: entry(d, "agency", "bca").update(valid_from="2022-07-18"),
     'agency "bca": valid_from must be a date (YYYY-MM-DD), not a string'),
    (lambda d: entry(d, "agency", "bca").update(valid_from=datetime(2022, 7, 18, tzinfo=UTC)),
     'agency "bca": valid_from must be a date (YYYY-MM-DD), not a date-time'),
    (lambda d: entry(d, "person", "sup1").update(active="yes"),
     'person "sup1": active must be true or false, not a string'),
    (lambda d: entry(d, "office", "bca-c02").update(name=""),
     'office "bca-c02": name must not be empty'),
    (lambda d: entry(d, "office", "bca-c02").update(code="bca c02"),
     'office "bca c02": code "bca c02" may hold only letters, digits'),
    (lambda d: d["office"].append(copy.deepcopy(entry(d, "office", "tongdai-111"))),
     'office "tongdai-111": the code is used by an earlier entry too'),
    (lambda d: entry(d, "office", "dsq-kh").update(agency="mofa"),
     'office "dsq-kh": agency "mofa" is not in the file'),
    (lambda d: entry(d, "person", "sup2").update(office="hotline"),
     'person "sup2": office "hotline" is not in the file'),
    (lambda d: d["absence"][0].update(person="nobody"),
     'absence #1 (person "nobody"): person "nobody" is not in the file'),
    (lambda d: d["absence"][0].update(delegate="nobody"),
     'absence #1 (person "sup1"): delegate "nobody" is not in the file'),
    (lambda d: d["duty"][0].update(person="nobody"),
     'duty #1 (person "nobody"): person "nobody" is not in the file'),
    (lambda d: entry(d, "agency", "byt").update(valid_to=date(2022, 1, 1)),
     'agency "byt": valid_to must be after valid_from'),
    (lambda d: entry(d, "office", "ca-lang_son")["functions"][0].update(
        valid_from=date(2025, 1, 1)),
     'office "ca-lang_son": functions[1]: its dates must lie within the office\'s'),
    (lambda d: entry(d, "office", "bca-c02").update(valid_from=date(2020, 1, 1)),
     'office "bca-c02": its dates must lie within agency "bca"\'s'),
    (lambda d: d["absence"][0].update(ends_at=datetime(2026, 11, 30, tzinfo=VN)),
     'absence #1 (person "sup1"): ends_at must be after starts_at'),
    (lambda d: d["duty"][0].update(starts_at=datetime(2026, 11, 23, 7)),
     'duty #1 (person "sup1"): starts_at needs an offset'),
    (lambda d: entry(d, "office", "bca-c02").update(area="ha_noi"),
     'office "bca-c02": area must be absent for scope national'),
    (lambda d: entry(d, "office", "ca-lang_son").update(area="lang_son_cu"),
     'office "ca-lang_son": area "lang_son_cu" is not a province code of triage'),
    (lambda d: entry(d, "office", "ca-lang_son").pop("area"),
     'office "ca-lang_son": area is missing: scope province needs a province code'),
    (lambda d: entry(d, "office", "dsq-kh").update(area="kh"),
     'office "dsq-kh": area "kh" is not an ISO 3166 alpha-2 code'),
    (lambda d: entry(d, "office", "ca-lang_son").update(scope="commune", area="dong_dang"),
     'office "ca-lang_son": area "dong_dang" is not "<province code>:<commune>"'),
    (lambda d: entry(d, "office", "ca-lang_son").update(scope="sea"),
     'office "ca-lang_son": area must be absent for scope sea'),
    (lambda d: entry(d, "office", "ca-lang_son").update(scope="district"),
     'office "ca-lang_son": scope "district" is not one of national, province'),
    (lambda d: entry(d, "person", "c02.backup").update(phone="+84 24 0000 1234"),
     'person "c02.backup": phone "+84 24 0000 1234" is not a valid phone number'),
    (lambda d: entry(d, "office", "bca-c02").update(phone="111"),
     'office "bca-c02": phone "111" is not a valid phone number'),
    (lambda d: entry(d, "person", "c02.primary").update(email="a at example.vn"),
     'person "c02.primary": email "a at example.vn" is not an email address'),
    (lambda d: entry(d, "person", "sup1").update(user_email="sup1@localhost"),
     'person "sup1": user_email "sup1@localhost" is not an email address'),
    (lambda d: entry(d, "person", "c02.primary").update(channels=["sms", "pager"]),
     "person \"c02.primary\": channels 'pager' is not one of sms, call, email, webhook"),
    (lambda d: entry(d, "person", "c02.primary").update(channels=[]),
     'person "c02.primary": channels must list at least one of'),
    (lambda d: entry(d, "person", "c02.primary").update(channels=["sms", "sms"]),
     'person "c02.primary": channels lists a channel twice'),
    (lambda d: entry(d, "person", "c02.primary").pop("phone"),
     "person \"c02.primary\": channel sms needs the person's phone"),
    (lambda d: entry(d, "person", "c02.primary").pop("email"),
     "person \"c02.primary\": channel email needs the person's email"),
    (lambda d: entry(d, "office", "dsq-kh").pop("webhook_url"),
     'person "kh.primary": channel webhook needs office "dsq-kh" to have a webhook_url'),
    (lambda d: entry(d, "office", "dsq-kh").update(webhook_url="http://kh.example.vn/a"),
     'office "dsq-kh": webhook_url "http://kh.example.vn/a" must be an https:// address'),
    (lambda d: entry(d, "person", "c02.backup").update(role="deputy"),
     'person "c02.backup": role "deputy" is not one of primary, backup, head, supervisor'),
    (lambda d: entry(d, "office", "bca-c02")["functions"][0].update(function="army"),
     'office "bca-c02": functions[1]: function "army" is not one of police, consular'),
    (lambda d: entry(d, "office", "bca-c02").update(functions="police"),
     'office "bca-c02": functions must be a list of tables, not a string'),
    (_add_holder,
     'office "c02-bis": holds police for national from 2026-01-01 while office "bca-c02" '
     "holds it too: overlapping holders make routing ambiguous"),
    (lambda d: entry(d, "office", "bca-c02")["functions"].append(
        {"function": "police", "valid_from": date(2026, 1, 1), "children_only": True}),
     'office "bca-c02": holds police twice in overlapping periods'),
    (lambda d: d["duty"][0].update(person="c02.primary"),
     'duty #1 (person "c02.primary"): "c02.primary" is a primary, and only supervisors'),
    (lambda d: d["absence"][0].update(delegate="sup1"),
     'absence #1 (person "sup1"): the delegate must be someone else'),
    (lambda d: entry(d, "person", "sup2").update(active=False),
     'absence #1 (person "sup1"): delegate "sup2" is not active'),
    (lambda d: d["duty"].append(dict(d["duty"][0])),
     'duty #2 (person "sup1"): the same entry appears earlier too'),
    (_clear, "the file lists no office: it must hold the whole directory"),
]


@pytest.mark.parametrize(("spoil", "complaint"), BAD, ids=[c for _, c in BAD])
def test_a_bad_file_is_refused_naming_the_entry_and_changes_nothing(db, spoil, complaint):
    data = small()
    spoil(data)
    with pytest.raises(DirectoryError) as refused:
        import_directory(db, data, "bad.toml", now=NOW)
    assert any(complaint in error for error in refused.value.errors), refused.value.errors
    assert complaint in str(refused.value)
    assert set(counts(db).values()) == {0}


def test_every_problem_is_reported_at_once(db):
    data = small()
    entry(data, "office", "bca-c02").update(area="ha_noi", fax="024")
    entry(data, "person", "c02.backup")["phone"] = "12"
    data["duty"][0]["person"] = "c02.primary"
    with pytest.raises(DirectoryError) as refused:
        import_directory(db, data, "bad.toml", now=NOW)
    assert len(refused.value.errors) == 4, refused.value.errors


@pytest.mark.parametrize(("text", "complaint"), [
    ("schema = 1\n[[agency]\n", "not a TOML file"),
    ("schema = 1\n[[duty]]\nperson = 'sup1'\nstarts_at = 2026-11-23T07:00:00\n"
     "ends_at = 2026-11-23T19:00:00+07:00\n", 'duty #1 (person "sup1"): starts_at needs an '
     "offset"),
])
def test_a_file_that_is_not_a_directory_changes_nothing(db, text, complaint):
    with pytest.raises(DirectoryError, match=re.escape(complaint)):
        import_directory(db, text, "bad.toml", now=NOW)
    assert set(counts(db).values()) == {0}


def test_a_bad_file_leaves_an_imported_directory_as_it_was(db):
    import_directory(db, small(), "good.toml", now=NOW)
    before = export_directory(db), counts(db)
    data = small()
    data["office"].pop()  # the hotline office, which two supervisors still name
    with pytest.raises(DirectoryError, match='office "tongdai-111" is not in the file'):
        import_directory(db, data, "bad.toml", now=NOW)
    assert (export_directory(db), counts(db)) == before


def test_a_child_protection_office_beside_the_victim_support_office_is_no_conflict(db):
    data = small()
    for code, children_only in (("byt-btxh", False), ("byt-bmte", True)):
        data["office"].append({"code": code, "agency": "byt", "name": code,
                               "scope": "national", "valid_from": REORGANISED,
                               "functions": [{"function": "victim_support",
                                              "valid_from": REORGANISED,
                                              "children_only": children_only}]})
    import_directory(db, data, "good.toml", now=NOW)
    assert holders(db, "victim_support", date(2026, 1, 1)) == {("byt-btxh", False),
                                                               ("byt-bmte", True)}


# -- import ---------------------------------------------------------------------------


def test_import_stores_normalised_contacts(db):
    version = import_directory(db, small(), "small.toml", "admin@example.vn", now=NOW)
    assert version.source == "small.toml" and version.imported_by == "admin@example.vn"
    assert len(version.digest) == 64
    assert version.summary["office"] == {"added": 4, "changed": 0, "ended": 0}
    primary = db.scalar(select(Person).where(Person.code == "c02.primary"))
    assert primary.phone == "+842420000011" and primary.email == "a@example.vn"
    assert primary.channels == ["sms", "email"] and primary.active
    absence = db.scalar(select(Absence))
    assert absence.starts_at == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert absence.delegate.code == "sup2"


def test_importing_the_same_file_again_changes_nothing(db):
    seed = packaged_seed()
    import_directory(db, seed, "seed", now=NOW)
    before = export_directory(db), counts(db)
    again = import_directory(db, seed, "seed", now=NOW + timedelta(days=30))
    assert all(n == 0 for kind in again.summary.values() for n in kind.values())
    after = export_directory(db), counts(db)
    assert after[0] == before[0]
    assert after[1] == {**before[1], "DirectoryVersion": 2}


def test_what_the_file_no_longer_lists_is_ended_never_deleted(db):
    import_directory(db, small(), "v1", now=NOW)
    data = small()
    data["office"] = [o for o in data["office"] if o["code"] != "ca-lang_son"]
    data["person"] = [p for p in data["person"] if p["code"] != "c02.backup"]
    later = datetime(2026, 11, 30, 18, tzinfo=UTC)  # already 1 December in Vietnam
    version = import_directory(db, data, "v2", now=later)
    assert version.summary["office"] == {"added": 0, "changed": 0, "ended": 1}
    assert version.summary["person"] == {"added": 0, "changed": 0, "ended": 1}
    office = db.scalar(select(Office).where(Office.code == "ca-lang_son"))
    assert office.valid_to == date(2026, 12, 1)
    assert [f.valid_to for f in office.functions] == [date(2026, 12, 1)]
    assert holders(db, "police", date(2026, 12, 1), "province") == set()
    assert holders(db, "police", date(2026, 11, 30), "province") == {("ca-lang_son", False)}
    backup = db.scalar(select(Person).where(Person.code == "c02.backup"))
    assert backup.active is False
    again = import_directory(db, data, "v2", now=later + timedelta(days=1))
    assert all(n == 0 for kind in again.summary.values() for n in kind.values())
    exported = tomllib.loads(export_directory(db))
    assert entry(exported, "office", "ca-lang_son")["valid_to"] == date(2026, 12, 1)
    assert entry(exported, "person", "c02.backup")["active"] is False


def test_an_office_that_has_not_started_ends_after_its_first_day(db):
    data = small()
    future = {"code": "ca-new", "agency": "bca", "name": "Công an mới", "scope": "province",
              "area": "ha_noi", "valid_from": date(2027, 1, 1),
              "functions": [{"function": "police", "valid_from": date(2027, 1, 1)}]}
    data["office"].append(future)
    import_directory(db, data, "v1", now=NOW)
    import_directory(db, small(), "v2", now=NOW)
    office = db.scalar(select(Office).where(Office.code == "ca-new"))
    assert office.valid_to == date(2027, 1, 2) and office.functions == []  # never in force


def test_changes_are_counted_per_kind(db):
    import_directory(db, small(), "v1", now=NOW)
    data = small()
    entry(data, "person", "sup2")["phone"] = "+842420000016"
    entry(data, "office", "bca-c02")["functions"][0]["valid_to"] = date(2027, 1, 1)
    data["absence"].append({"person": "c02.primary",
                            "starts_at": datetime(2026, 12, 24, 8, tzinfo=VN),
                            "ends_at": datetime(2026, 12, 26, 8, tzinfo=VN)})
    data["duty"] = [{"person": "sup2", "starts_at": datetime(2026, 11, 23, 19, tzinfo=VN),
                     "ends_at": datetime(2026, 11, 24, 7, tzinfo=VN)}]
    data["agency"].append({"code": "bqp", "name": "Bộ Quốc phòng", "valid_from": REGULATION})
    summary = import_directory(db, data, "v2", now=NOW).summary
    assert summary == {
        "agency": {"added": 1, "changed": 0, "ended": 0},
        "office": {"added": 0, "changed": 1, "ended": 0},
        "person": {"added": 0, "changed": 1, "ended": 0},
        "absence": {"added": 1, "changed": 0, "ended": 0},
        "duty": {"added": 1, "changed": 0, "ended": 1},
    }
    assert [s.person.code for s in db.scalars(select(DutyShift))] == ["sup2"]
    c02 = db.scalar(select(Office).where(Office.code == "bca-c02"))
    assert [(f.function, f.valid_to) for f in c02.functions] == [("police", date(2027, 1, 1))]


def test_a_person_back_in_the_file_is_active_again(db):
    import_directory(db, small(), "v1", now=NOW)
    data = small()
    data["person"] = [p for p in data["person"] if p["code"] != "c02.backup"]
    import_directory(db, data, "v2", now=NOW)
    summary = import_directory(db, small(), "v3", now=NOW).summary
    assert summary["person"] == {"added": 0, "changed": 1, "ended": 0}
    assert db.scalar(select(Person.active).where(Person.code == "c02.backup")) is True


# -- export ---------------------------------------------------------------------------


def _sorted(directory) -> dict:
    """A checked directory's entries in a fixed order, to compare two files' contents."""
    def key(entry: dict) -> tuple:
        return tuple(str(v) for v in entry.values())

    out = {}
    for kind in ("agencies", "offices", "people", "absences", "duty"):
        entries = [dict(e) for e in getattr(directory, kind)]
        for e in entries:
            if "functions" in e:
                e["functions"] = sorted(e["functions"], key=key)
        out[kind] = sorted(entries, key=key)
    return out


def test_export_round_trips_the_seed(db):
    seed = packaged_seed()
    import_directory(db, seed, "seed", now=NOW)
    exported = export_directory(db)
    assert _sorted(parse(exported)[1]) == _sorted(parse(seed)[1])
    again = import_directory(db, exported, "export", now=NOW)
    assert all(n == 0 for kind in again.summary.values() for n in kind.values())
    assert export_directory(db) == exported


def test_export_writes_times_in_vietnam_and_omits_defaults(db):
    import_directory(db, small(), "v1", now=NOW)
    text = export_directory(db)
    assert text.startswith("# ")
    assert "starts_at = 2026-12-01 08:00:00+07:00" in text
    data = tomllib.loads(text)
    assert entry(data, "office", "tongdai-111")["functions"] == []
    assert "active" not in entry(data, "person", "sup1")
    assert "placeholder" not in entry(data, "office", "bca-c02")


# -- the command line -----------------------------------------------------------------


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["directory", *args])

    return run


@pytest.fixture
def small_file(tmp_path):
    path = tmp_path / "directory.toml"
    path.write_text(tomli_w.dumps(small()), encoding="utf-8")
    return path


def _bad_file(tmp_path):
    data = small()
    entry(data, "office", "bca-c02")["area"] = "ha_noi"
    entry(data, "person", "c02.backup")["phone"] = "12"
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_cli_check_reports_counts_or_every_error(cli, small_file, tmp_path, engine):
    result = cli("check", str(small_file))
    assert result.exit_code == 0, result.output
    assert "3 agencies, 4 offices, 5 people, 1 absences, 1 duty shifts" in result.output
    result = cli("check", str(_bad_file(tmp_path)))
    assert result.exit_code == 1
    assert 'office "bca-c02": area must be absent for scope national' in result.output
    assert 'person "c02.backup": phone "12" is not a valid phone number' in result.output
    with Session(engine) as db:
        assert set(counts(db).values()) == {0}


def test_cli_import_prints_the_summary_and_refuses_a_bad_file(cli, small_file, tmp_path,
                                                                engine):
    result = cli("import", str(_bad_file(tmp_path)), "--by", "admin@example.vn")
    assert result.exit_code == 1
    assert "2 error(s)" in result.output and 'office "bca-c02"' in result.output
    with Session(engine) as db:
        assert set(counts(db).values()) == {0}
    result = cli("import", str(small_file), "--by", "admin@example.vn")
    assert result.exit_code == 0, result.output
    assert "office: 4 added, 0 changed, 0 ended" in result.output
    with Session(engine) as db:
        version = db.scalar(select(DirectoryVersion))
        assert version.imported_by == "admin@example.vn"
        assert version.source == str(small_file)
    result = cli("import", str(small_file))
    assert "office: 0 added, 0 changed, 0 ended" in result.output


def test_cli_export_to_stdout_or_a_file(cli, small_file, tmp_path, engine):
    assert cli("import", str(small_file)).exit_code == 0
    result = cli("export")
    assert result.exit_code == 0, result.output
    with Session(engine) as db:
        assert result.output == export_directory(db)
    out = tmp_path / "out.toml"
    assert cli("export", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == result.output


def test_cli_seed_imports_the_seed_once(cli, engine):
    result = cli("seed")
    assert result.exit_code == 0, result.output
    assert "seeded" in result.output and "agency: 6 added" in result.output
    result = cli("seed")
    assert result.exit_code == 0 and "nothing imported" in result.output
    with Session(engine) as db:
        assert db.scalar(select(func.count(DirectoryVersion.id))) == 1


def test_a_test_alert_reaches_everyone_on_every_channel_and_is_acknowledged(cli, engine,
                                                                           make_app):
    assert cli("seed").exit_code == 0
    result = cli("test-alert", "bca-c02")
    assert result.exit_code == 0, result.output
    assert "3 people" in result.output and "placeholder" in result.output
    with Session(engine) as db, db.begin():
        dispatch = db.scalar(select(Dispatch))
        assert dispatch.test and dispatch.tip_id is None and dispatch.function == "police"
        escalation.run_due(db, dispatch.created_at)
        alerts = db.scalars(select(Alert)).all()
        assert {a.kind for a in alerts} == {"test_alert"}
        assert {a.recipient_role for a in alerts} == {"primary", "backup", "head"}
        assert {a.channel for a in alerts} >= {"sms", "email"}  # every channel they have
        person_id, dispatch_id = alerts[0].person_id, dispatch.id
    app = make_app(SECRET_KEY="test-alert-secret")
    link = "/a/" + acklinks.token("test-alert-secret", dispatch_id, person_id)
    assert app.test_client().post(link).status_code == 200
    with Session(engine) as db:
        assert db.get(Dispatch, dispatch_id).acknowledged_via == "link"


def test_a_test_alert_needs_an_office_with_people(cli):
    assert cli("seed").exit_code == 0
    result = cli("test-alert", "nowhere")
    assert result.exit_code == 1 and "no office nowhere" in result.output
    result = cli("test-alert", "ubnd-tay_ninh:tan_lap")
    assert result.exit_code == 1 and "nobody active" in result.output
