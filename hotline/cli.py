"""The `hotline` command: database, users, tokens, keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from routing.db import make_engine

from . import accounts, crypto, migrate
from . import config as _config
from .keys import rotate_all


def _settings() -> dict:
    try:
        return _config.load()
    except _config.ConfigError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def _session() -> Iterator[Session]:
    """A session in one transaction, committed when the block ends without error."""
    engine = make_engine(_settings()["DATABASE_URL"])
    try:
        with Session(engine) as db_session, db_session.begin():
            yield db_session
    finally:
        engine.dispose()


@click.group()
def main() -> None:
    """Hotline 111: intake, triage and routing of tips."""


@main.group()
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Bring the schema to a revision."""
    settings = _settings()
    _ensure_sqlite_directory(settings["DATABASE_URL"])
    migrate.upgrade(settings["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to a revision ("base": empty)."""
    migrate.downgrade(_settings()["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


def _ensure_sqlite_directory(url: str) -> None:
    from pathlib import Path

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


@main.group()
def user() -> None:
    """Console users."""


@user.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--office", "office_code", help="focal points: their office's code")
@click.option("--phone", help="operators: the phone they take calls on")
@click.option("--client", "client_identity", help="operators: their Twilio Client identity")
def user_create(email: str, role: str, office_code: str | None, phone: str | None,
                client_identity: str | None) -> None:
    """Create a user; the password is read from standard input (one line)."""
    password = sys.stdin.readline().rstrip("\r\n")
    with _session() as db_session:
        try:
            created = accounts.create_user(db_session, email, password, role, office_code,
                                           phone, client_identity)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"created {created.role} {created.email}")


@main.group()
def token() -> None:
    """API bearer tokens."""


@token.command("create")
@click.option("--user", "email", required=True, help="the token acts as this user")
@click.option("--name", default="api", show_default=True, help="what the token is for")
def token_create(email: str, name: str) -> None:
    """Create a token and print it once (only its hash is kept)."""
    with _session() as db_session:
        try:
            new = accounts.create_token(db_session, email, name)
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(new.secret)


@main.group()
def keys() -> None:
    """Data encryption keys (HOTLINE_DATA_KEY)."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new data key (put it first in HOTLINE_DATA_KEY to rotate to it)."""
    click.echo(crypto.generate_key())


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt everything under the first key of HOTLINE_DATA_KEY and re-hash callers."""
    settings = _settings()
    try:
        vault = crypto.Vault(settings["HOTLINE_DATA_KEY"])
    except crypto.DataKeyError as error:
        raise click.ClickException(str(error)) from None
    engine = make_engine(settings["DATABASE_URL"])
    try:
        done = rotate_all(engine, vault)
    except crypto.DecryptError:
        raise click.ClickException(
            "a stored value opens with none of the keys in HOTLINE_DATA_KEY: put the key "
            "it was written with back in the list, after the new one") from None
    finally:
        engine.dispose()
    for column, count in sorted(done.reencrypted.items()):
        click.echo(f"{column}: {count} re-encrypted")
    click.echo(f"callers re-hashed: {done.rehashed}; current key {vault.fingerprint}")


@main.group()
def directory() -> None:
    """The directory of focal points (the database's live copy; format in
    routing/directory.py)."""


@directory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "imported_by", metavar="EMAIL", help="who is importing (recorded)")
def directory_import(file: str, imported_by: str | None) -> None:
    """Make the directory what FILE says (the whole directory); print what changed."""
    from routing.directory import DirectoryError, import_directory

    text = _read_directory_file(file)
    with _session() as db_session:
        try:
            version = import_directory(db_session, text, file, imported_by)
        except DirectoryError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"directory version {version.id} ({version.digest[:12]})")
        _echo_summary(version.summary)


@directory.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True), required=False)
def directory_export(file: str | None) -> None:
    """Write the directory as a directory file to FILE (standard output by default)."""
    from routing.directory import export_directory

    with _session() as db_session:
        text = export_directory(db_session)
    if file is None:
        click.echo(text, nl=False)
    else:
        with open(file, "w", encoding="utf-8") as out:
            out.write(text)


@directory.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def directory_check(file: str) -> None:
    """Check FILE without importing it."""
    from routing.directory import DirectoryError, parse

    try:
        _, found = parse(_read_directory_file(file))
    except DirectoryError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{file}: {len(found.agencies)} agencies, {len(found.offices)} offices, "
               f"{len(found.people)} people, {len(found.absences)} absences, "
               f"{len(found.duty)} duty shifts")


@directory.command("seed")
def directory_seed() -> None:
    """Import the packaged seed directory if the directory is empty."""
    from routing.directory import seed_if_empty

    with _session() as db_session:
        version = seed_if_empty(db_session)
        if version is None:
            click.echo("the directory has agencies already: nothing imported")
            return
        click.echo(f"seeded: directory version {version.id}")
        _echo_summary(version.summary)


@directory.command("test-alert")
@click.argument("office_code", metavar="OFFICE")
def directory_test_alert(office_code: str) -> None:
    """Send OFFICE a test alert: everyone there on every channel they have, acknowledged
    like a real one (the workers send it), so wrong contacts show up before a real tip."""
    from sqlalchemy import select

    from routing.db import utcnow
    from routing.escalation import test_alert
    from routing.models import Office

    with _session() as db_session:
        office = db_session.scalar(select(Office).where(Office.code == office_code))
        if office is None:
            raise click.ClickException(f"no office {office_code} in the directory")
        people = [p for p in office.people if p.active]
        if not people:
            raise click.ClickException(f"{office_code} has nobody active to alert")
        dispatch = test_alert(db_session, office, utcnow())
        click.echo(f"test dispatch {dispatch.id} ({dispatch.reference}) for {office.name}: "
                   f"{len(people)} people; watch it with GET /api/tips or the worker's log")
        placeholders = sum(p.placeholder for p in people)
        if placeholders:
            click.echo(f"warning: {placeholders} of them are placeholder contacts, which are "
                       "not sent to unless ALERTS_TO_PLACEHOLDERS is set")


def _read_directory_file(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as source:
            return source.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{file}: not UTF-8 text") from None


def _echo_summary(summary: dict) -> None:
    for kind, counts in summary.items():
        click.echo(f"{kind}: {counts['added']} added, {counts['changed']} changed, "
                   f"{counts['ended']} ended")


@main.command("worker")
def worker() -> None:
    """An RQ worker with its scheduler, on REDIS_URL."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from .run import QUEUES

    url = _settings()["REDIS_URL"]
    if not url:
        raise click.ClickException("REDIS_URL is not set (`hotline run` embeds a Redis)")
    connection = Redis.from_url(url)
    threading.Thread(target=_sweep_forever, args=(_settings(),), daemon=True).start()
    threading.Thread(target=_tick_forever, args=(_settings(),), daemon=True).start()
    # Jobs run in this process: forking a job's process while the tick's threads hold
    # locks (database, logging) can leave the child hung for ever.
    SimpleWorker([Queue(name, connection=connection) for name in QUEUES],
           connection=connection).work(with_scheduler=True)


SWEEP_EVERY_SECONDS = 60


def _sweep_forever(settings: dict) -> None:
    """The worker's sweep: work the database says is due and Redis may have lost."""
    import logging
    import time

    from sqlalchemy.orm import sessionmaker

    from routing.db import utcnow

    from . import retriage

    sessions = sessionmaker(make_engine(settings["DATABASE_URL"]))
    vault = crypto.Vault(settings["HOTLINE_DATA_KEY"])
    while True:
        try:
            retriage.sweep(sessions, vault, utcnow())
        except Exception:  # the database is down: try again at the next round
            logging.getLogger(__name__).exception("sweep failed")
        time.sleep(SWEEP_EVERY_SECONDS)


def _tick_forever(settings: dict) -> None:
    """The worker's short poll: routing, escalation steps, unclaimed tips and the outbox
    are all due by the database's clock, so every worker polls it (Redis may lose what it
    holds)."""
    import time

    from sqlalchemy.orm import sessionmaker

    from routing.channels import Channels
    from routing.db import utcnow

    from . import dispatching

    sessions = sessionmaker(make_engine(settings["DATABASE_URL"]))
    channels = Channels(settings)
    while True:
        started = time.monotonic()
        dispatching.tick(sessions, utcnow(), settings, channels)
        time.sleep(max(0.0, settings["ROUTING_TICK_SECONDS"] - (time.monotonic() - started)))


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Everything on one machine: migrations, a demo login, Redis, a worker, the web."""
    from pathlib import Path

    from . import create_app
    from .run import seed_demo, seed_routing, start_embedded_redis, start_worker
    from .twilio_voice import start_spool_replayer

    settings = _settings()
    _ensure_sqlite_directory(settings["DATABASE_URL"])
    migrate.upgrade(settings["DATABASE_URL"])
    with _session() as db_session:
        demo = seed_demo(db_session)
        directory_seeded = seed_routing(db_session)
    redis_server, redis_url = None, settings["REDIS_URL"]
    if not redis_url:
        redis_server, redis_url = start_embedded_redis(Path(settings["HOTLINE_DATA_DIR"]))
        os.environ["REDIS_URL"] = redis_url
    worker_process = start_worker(redis_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop as on Ctrl-C: clean up
    click.echo(f"Hotline 111 on http://{host}:{port}  (Redis: {redis_url})")
    click.echo(f"demo operator: {demo.email}  password: {demo.password}")
    click.echo(f"demo API token: {demo.token}", nl=True)
    click.echo(f"  curl -H 'Authorization: Bearer {demo.token}' http://{host}:{port}/api/tips")
    if directory_seeded:
        click.echo("seeded the directory of focal points and the escalation policies: every "
                   "contact is a placeholder, so alerts are not sent unless "
                   "ALERTS_TO_PLACEHOLDERS is set")
    app = create_app({"REDIS_URL": redis_url})
    start_spool_replayer(app)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        worker_process.terminate()
        try:
            worker_process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a job that will not end: stop it anyway
            worker_process.kill()
            worker_process.wait()
        if redis_server is not None:
            redis_server.shutdown()


@main.command("fallback-twiml")
def fallback_twiml() -> None:
    """Print the static fallback TwiML with OPERATOR_NUMBERS (comma-separated) dialled in
    turn: to be served elsewhere as Twilio's fallback URL for when the service is down."""
    from twilio.twiml.voice_response import VoiceResponse

    from .phones import parse_number

    numbers = [n for n in os.environ.get("OPERATOR_NUMBERS", "").split(",") if n.strip()]
    parsed = [parse_number(n) for n in numbers]
    if not parsed or not all(n.valid for n in parsed):
        raise click.ClickException("set OPERATOR_NUMBERS to the operators' phone numbers, "
                                   "comma-separated (each must be a valid number)")
    voice = {"language": "vi-VN", "voice": "Google.vi-VN-Standard-A"}
    response = VoiceResponse()
    response.say("Tổng đài 111 xin nghe. Xin vui lòng giữ máy, chúng tôi đang kết nối bạn "
                 "với tư vấn viên.", **voice)
    for number in parsed:
        response.dial(timeout=25).number(number.e164)
    response.say("Xin lỗi, hiện chưa có tư vấn viên. Xin để lại lời nhắn sau tiếng bíp.",
                 **voice)
    response.record(max_length=180, play_beep=True)
    click.echo(str(response))


if __name__ == "__main__":
    main()
