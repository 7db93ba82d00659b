"""The service's foundation: configuration, app factory, health, schema and migrations,
the append-only audit log, users and tokens from the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from service_helpers import closed_port
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError, StatementError
from sqlalchemy.orm import Session

import hotline.models  # noqa: F401
from hotline import accounts, create_app, migrate
from hotline.cli import main
from hotline.config import DEVELOPMENT_SECRET_KEY, ConfigError, load
from hotline.crypto import DEVELOPMENT_DATA_KEY, generate_key
from hotline.models import ApiToken, AuditEvent, Tip, User
from routing.db import Base, make_engine
from routing.models import Agency, Office

# -- configuration ----------------------------------------------------------------------


def test_development_defaults_run():
    config = load(env={})
    assert config["HOTLINE_ENV"] == "development"
    assert config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY
    assert config["DATABASE_URL"].startswith("sqlite:///")
    assert config["REDIS_URL"] is None


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"HOTLINE_DATA_KEY": "KEY"}, "SECRET_KEY"),
        ({"SECRET_KEY": "s3cret-of-its-own"}, "HOTLINE_DATA_KEY"),
        ({"SECRET_KEY": "s3cret-of-its-own", "HOTLINE_DATA_KEY": f"KEY,{DEVELOPMENT_DATA_KEY}"},
         "HOTLINE_DATA_KEY"),
    ],
)
def test_production_refuses_default_secrets(env, complaint):
    env = {k: v.replace("KEY", generate_key()) if k == "HOTLINE_DATA_KEY" else v
           for k, v in env.items()}
    with pytest.raises(ConfigError, match=complaint):
        load(env={"HOTLINE_ENV": "production", **env})


def test_production_starts_with_its_own_secrets():
    config = load(env={"HOTLINE_ENV": "production", "SECRET_KEY": "s3cret-of-its-own",
                       "HOTLINE_DATA_KEY": generate_key()})
    assert config["HOTLINE_ENV"] == "production"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [({"HOTLINE_ENV": "staging"}, "HOTLINE_ENV"), ({"THREAD_WINDOW_HOURS": "a day"}, "whole")],
)
def test_bad_settings_are_named(env, complaint):
    with pytest.raises(ConfigError, match=complaint):
        load(env=env)


def test_create_app_refuses_production_defaults(monkeypatch):
    monkeypatch.setenv("HOTLINE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


# -- health ------------------------------------------------------------------------------


@pytest.fixture
def make_app():
    """create_app() whose database connections are closed after the test."""
    apps = []

    def make(config):
        apps.append(create_app(config))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["hotline.engine"].dispose()


def test_healthz_answers(db_url, make_app):
    client = make_app({"DATABASE_URL": db_url}).test_client()
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_ok_with_database_and_redis(db_url, redis_url, make_app):
    client = make_app({"DATABASE_URL": db_url, "REDIS_URL": redis_url}).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}
    assert response.json["voice_spool"] == 0


def test_readyz_counts_voice_events_waiting_in_the_spool(db_url, make_app):
    app = make_app({"DATABASE_URL": db_url})
    app.extensions["hotline.spool"].add({"event": "arrived", "call_sid": "CA1"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 200 and response.json["voice_spool"] == 1


def test_readyz_reports_a_database_that_is_down(make_app):
    down = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    response = make_app({"DATABASE_URL": down}).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("error")
    assert "postgres@" not in response.get_data(as_text=True)  # no URLs in the answer


def test_readyz_does_not_hang_on_a_redis_that_never_answers(db_url, silent_server, make_app):
    app = make_app({"DATABASE_URL": db_url, "READY_TIMEOUT_SECONDS": 0.2,
                      "REDIS_URL": f"redis://127.0.0.1:{silent_server}/0"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"] in ("timeout", "error: TimeoutError")
    assert response.json["checks"]["database"] == "ok"


# -- schema and migrations ------------------------------------------------------------


def _differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return differences


def test_migrations_and_models_agree(db_url):
    assert _differences(db_url) == []


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = make_engine(url)
    with engine.connect() as connection:
        tables = connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"
        )).scalars().all()
    engine.dispose()
    assert tables == []
    migrate.upgrade(url)
    assert _differences(url) == []


def test_migrations_agree_on_postgresql_too(postgres_url):
    assert _differences(postgres_url) == []


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


# -- the audit log and times --------------------------------------------------------------


def test_audit_events_cannot_be_changed_or_deleted(db_url):
    engine = make_engine(db_url)
    with Session(engine) as db, db.begin():
        db.add(AuditEvent(action="tip.read", detail={"reference": "111-261123-0001"}))
    for statement in ("UPDATE audit_event SET action = 'tip.nothing'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with Session(engine) as db:
        assert db.scalars(select(AuditEvent.action)).all() == ["tip.read"]
    engine.dispose()


def test_times_go_in_aware_and_come_back_in_utc(db_url):
    engine = make_engine(db_url)
    with Session(engine) as db, db.begin():
        db.add(AuditEvent(action="tip.read", at=datetime.fromisoformat("2026-11-23T07:30+07:00")))
    with Session(engine) as db:
        at = db.scalar(select(AuditEvent.at))
    assert at == datetime(2026, 11, 23, 0, 30, tzinfo=UTC) and at.tzinfo is not None
    with pytest.raises(StatementError, match="naive"), Session(engine) as db, db.begin():
        db.add(AuditEvent(action="tip.read", at=datetime(2026, 11, 23, 7, 30)))
    engine.dispose()


def test_a_closed_tip_needs_an_outcome(db_url):
    engine = make_engine(db_url)
    day = datetime(2026, 11, 23, tzinfo=UTC).date()
    with pytest.raises(DatabaseError), Session(engine) as db, db.begin():
        db.add(Tip(reference="111-261123-0001", day=day, day_number=1, channel="sms",
                   status="closed"))
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(Tip)) == 0
    engine.dispose()


# -- users and tokens from the command line ----------------------------------------


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input)

    return run


def _users(db_url: str) -> list[User]:
    engine = make_engine(db_url)
    with Session(engine) as db:
        users = db.scalars(select(User).order_by(User.id)).all()
    engine.dispose()
    return users


def test_user_create_reads_the_password_from_stdin(cli, db_url):
    result = cli("user", "create", "Lan.Operator@Example.VN", "--role", "operator",
                 input="a long enough password\n")
    assert result.exit_code == 0, result.output
    (user,) = _users(db_url)
    assert user.email == "lan.operator@example.vn" and user.role == "operator"
    assert user.password_hash.startswith("$argon2")
    assert "a long enough password" not in user.password_hash
    assert accounts.verify_password(user, "a long enough password")
    assert not accounts.verify_password(user, "a wrong password!!")


@pytest.mark.parametrize(
    ("args", "password", "complaint"),
    [
        (["x@example.vn", "--role", "operator"], "short\n", "at least 12"),
        (["not-an-email", "--role", "operator"], "a long enough password\n", "not an email"),
        (["x@example.vn", "--role", "focal_point"], "a long enough password\n", "--office"),
        (["x@example.vn", "--role", "admin", "--office", "C02"], "a long enough password\n",
         "only focal points"),
        (["x@example.vn", "--role", "boss"], "a long enough password\n", "Invalid value"),
    ],
)
def test_user_create_refuses_bad_input_and_stores_nothing(cli, db_url, args, password, complaint):
    result = cli("user", "create", *args, input=password)
    assert result.exit_code != 0
    assert complaint in result.output
    assert _users(db_url) == []


def test_user_create_refuses_a_second_account_for_an_email(cli, db_url):
    assert cli("user", "create", "a@example.vn", "--role", "admin",
               input="a long enough password\n").exit_code == 0
    result = cli("user", "create", "A@example.vn", "--role", "operator",
                 input="another long password\n")
    assert result.exit_code != 0 and "exists already" in result.output
    assert [u.role for u in _users(db_url)] == ["admin"]


def test_focal_points_belong_to_an_office(cli, db_url):
    result = cli("user", "create", "fp@bocongan.gov.vn", "--role", "focal_point",
                 "--office", "C02", input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert _users(db_url)[0].office_code == "C02"


def test_token_create_prints_a_secret_that_is_stored_only_hashed(cli, db_url):
    cli("user", "create", "op@example.vn", "--role", "operator", input="a long enough password\n")
    result = cli("token", "create", "--user", "op@example.vn", "--name", "reporting")
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith(accounts.TOKEN_PREFIX) and len(secret) > 40
    engine = make_engine(db_url)
    with Session(engine) as db:
        token = db.scalar(select(ApiToken))
        assert token.token_hash == accounts.token_hash(secret)
        assert token.name == "reporting" and secret.startswith(token.prefix)
        stored = " ".join(str(v) for v in db.execute(select(ApiToken.__table__)).one())
    engine.dispose()
    assert secret not in stored


def test_a_focal_points_token_needs_their_office_in_the_directory(cli, db_url):
    cli("user", "create", "fp@example.vn", "--role", "focal_point", "--office", "C02",
        input="a long enough password\n")
    result = cli("token", "create", "--user", "fp@example.vn")
    assert result.exit_code != 0 and "not in the directory" in result.output
    engine = make_engine(db_url)
    with Session(engine) as db, db.begin():
        agency = Agency(code="BCA", name="Bộ Công an", valid_from=date(1945, 8, 19))
        db.add(Office(code="C02", agency=agency, name="Cục C02", scope="national",
                      valid_from=date(2025, 3, 1)))
    engine.dispose()
    assert cli("token", "create", "--user", "fp@example.vn").exit_code == 0
    result = cli("token", "create", "--user", "nobody@example.vn")
    assert result.exit_code != 0 and "no user" in result.output


def test_sqlite_migrations_that_rebuild_a_table_keep_rows_other_tables_refer_to(tmp_path):
    """SQLite alters a table by copying it; with foreign keys on, dropping the old copy
    would fail (or lose rows) once alerts refer to its dispatches."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0006")
    engine = make_engine(url)
    rows = [
        "INSERT INTO agency (code, name, valid_from) VALUES ('A', 'A', '2020-01-01')",
        "INSERT INTO office (code, agency_id, name, scope, placeholder, valid_from) "
        "VALUES ('o', 1, 'O', 'national', 0, '2020-01-01')",
        "INSERT INTO person (code, office_id, name, role, channels, active, placeholder) "
        "VALUES ('p', 1, 'P', 'primary', '[]', 1, 0)",
        "INSERT INTO tip (reference, day, day_number, status, channel, created_at, "
        "updated_at, last_activity_at, functions, overridden) VALUES ('111-261123-0001', "
        "'2026-11-23', 1, 'new', 'sms', '2026-11-23', '2026-11-23', '2026-11-23', '[]', 0)",
        "INSERT INTO dispatch (tip_id, reference, function, office_id, office_name, state, "
        "urgency, child_involved, policy, step, version, reminders, created_at, created_by, "
        "declined) VALUES (1, 'r', 'police', 1, 'O', 'pending', 'high', 0, '{}', 0, 1, 0, "
        "'2026-11-23', 'x', 0)",
        "INSERT INTO alert (idempotency_key, dispatch_id, tip_id, kind, person_id, "
        "recipient_role, channel, address, status, attempts, created_at, version, reference, "
        "urgency, child_involved, resent, maybe_sent) VALUES ('k', 1, 1, 'alert', 1, "
        "'primary', 'sms', '+84', 'pending', 0, '2026-11-23', 1, 'r', 'high', 0, 0, 0)",
    ]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(text(row))
    engine.dispose()
    migrate.upgrade(url)  # 0007 rebuilds the dispatch table
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alert JOIN dispatch "
                                       "ON dispatch.id = alert.dispatch_id")).scalar() == 1
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
