#!/usr/bin/env python3
"""Benchmark escalation timers end to end: real workers, PostgreSQL, Redis, a fake Twilio.

Run from the project root (PostgreSQL and Redis running):

    .venv/bin/python bench/escalation_bench.py [--dispatches 10000] [--spread 600]
        [--workers 2] [--offices 100] [--tick 1] [--grace 150] [--seed 111]

What it does, twice:

1. Empties its own database (`hotline_bench`, created if missing; never `test`, the
   suite's) and migrates it, and empties its own Redis index (14) with FLUSHDB.
2. Builds a directory of `--offices` offices, each with a primary, a backup and a head
   reachable by SMS only, and one duty supervisor.
3. Inserts `--dispatches` critical tips and one dispatch each, running BENCH_POLICY:
   primary at 0, backup at 1 minute, head at 2 minutes, supervisor at 60. Each dispatch
   was "created" a minute before its backup step, so step 1 (backup) falls due at a
   time spread uniformly over `--spread` seconds and step 2 (head) a minute later: two
   measured steps per dispatch over a window of spread + 60 seconds.
4. Starts a FakeTwilio (tests/fake_twilio.py) and `--workers` processes of
   `python -m hotline.cli worker` pointed at it, waits until they are up, then moves
   every dispatch's times so that the window starts two seconds later.
5. Waits for the window to pass, then for stragglers: until every step has arrived and
   the outbox is empty, or `--grace` seconds (the default is above the outbox's
   2-minute STUCK_AFTER, so an alert a killed worker left "sending" arrives late rather
   than counting as lost).
6. Reads the fake's records. Each SMS carries one acknowledgement link per alert
   (`/a/{dispatch}-{person}-{mac}`, several when SMS are bundled); the person's role
   says the step. Lateness = when the SMS reached the fake - when the step was due.

The first run is the steady state. The second flushes the Redis index halfway through
the window and SIGKILLs one worker (with its RQ scheduler child) at the first moment
within MID_SEND_WAIT seconds when alerts are being sent (claimed, not yet recorded): the
worker using the most CPU just then, so that the kill lands mid-send rather than in a
tick's sleep. The output says how many alerts the killed worker left "sending". The
last line is machine-readable:

    p50_lateness_s=X p99_lateness_s=X duplicates=N lost=N flushed_p99_lateness_s=X
    flushed_duplicates=N flushed_lost=N

Workers' logs go to a temporary directory, printed at the start. Not part of the tests.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the fake Twilio the tests use

import redis  # noqa: E402
from fake_twilio import FakeTwilio  # noqa: E402  (tests/fake_twilio.py)
from sqlalchemy import insert, make_url, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hotline import migrate  # noqa: E402
from hotline.intake import reference_for  # noqa: E402
from hotline.models import Tip  # noqa: E402
from routing import policies  # noqa: E402
from routing.db import make_engine  # noqa: E402
from routing.models import Agency, Dispatch, DutyShift, Office, OfficeFunction, Person  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "hotline_bench"
REDIS_URL = "redis://127.0.0.1:6379/14"
TWILIO_NUMBER = "+15005550006"

BENCH_POLICY = policies.validate("critical", {
    "steps": [
        {"after_minutes": 0, "roles": ["primary"], "channels": ["sms"]},
        {"after_minutes": 1, "roles": ["backup"], "channels": ["sms"]},
        {"after_minutes": 2, "roles": ["head"], "channels": ["sms"]},
        {"after_minutes": 60, "roles": ["supervisor"], "channels": ["sms"]},
    ],
    "outcome_deadline_hours": 12, "outcome_reminder_every_hours": 2})
FIRST_STEP = 1  # the step each dispatch runs next when the window opens
MEASURED = {1: "backup", 2: "head"}  # step -> the role it alerts
STEP_OF_ROLE = {role: step for step, role in MEASURED.items()}
# The dispatches are inserted far in the future (nothing due), then moved to the window.
PARKED = datetime(2100, 1, 1, tzinfo=UTC)
LOCK = 1114  # the advisory lock one benchmark run holds
MID_SEND_WAIT = 5.0  # seconds after halfway the kill waits for a send in progress
LINK = re.compile(r"/a/([1-9][0-9]*)-([1-9][0-9]*)-[a-z2-7]{16}")


@dataclass
class Setup:
    """What the analysis needs: who each person is, and when each step is due."""

    people: dict[int, tuple[int, str]] = field(default_factory=dict)  # id -> office, role
    offices: dict[int, int] = field(default_factory=dict)  # dispatch id -> office id
    due: dict[tuple[int, int], float] = field(default_factory=dict)  # (dispatch, step) -> t


@dataclass
class Result:
    lateness: list[float]
    duplicates: int
    lost: int
    unexpected: int  # alerts for a step or person the benchmark did not plan
    messages: int
    links: int
    backlog: int  # alerts still pending or sending when the run stopped
    resent: int  # alerts the outbox released from a stopped worker and sent again
    elapsed: float  # from the window's start to the run's end


# -- the database -------------------------------------------------------------------------


def ensure_database(admin_url: str, name: str) -> str:
    """The benchmark's own database (created when missing); returns its URL."""
    if name == "test":
        raise SystemExit("refusing to use the database `test`: the test suite's own")
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            found = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                      {"n": name})
            if not found:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def only_run(admin_url: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock for the whole benchmark: two runs at once would
    empty each other's database and Redis index."""
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK}):
                raise SystemExit("another escalation benchmark is running on this "
                                 "PostgreSQL (advisory lock held): wait for it to finish")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
    finally:
        engine.dispose()


def reset_schema(url: str) -> None:
    """An empty, migrated schema."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    migrate.upgrade(url)


def build_directory(db: Session, offices: int, now: datetime) -> dict[int, tuple[int, str]]:
    """`offices` offices with a primary, a backup and a head each (SMS only, a number
    each), and one supervisor on duty; returns person id -> (office id, role)."""
    agency = Agency(code="BENCH", name="Bench", valid_from=date(2020, 1, 1))
    for k in range(offices):
        office = Office(code=f"bench-{k}", agency=agency, name=f"Văn phòng {k}",
                        scope="province", area=f"bench_{k}", valid_from=date(2020, 1, 1))
        office.functions.append(OfficeFunction(function="police", valid_from=date(2020, 1, 1)))
        for n, role in enumerate(("primary", "backup", "head")):
            office.people.append(_person(f"bench-{k}-{role}", role, 10 * k + n))
        db.add(office)
    hotline = Office(code="bench-hotline", agency=agency, name="Tổng đài 111",
                     scope="national", valid_from=date(2020, 1, 1))
    supervisor = _person("bench-supervisor", "supervisor", 9_999_999)
    hotline.people.append(supervisor)
    db.add(hotline)
    db.flush()
    db.add(DutyShift(person=supervisor, starts_at=now - timedelta(days=1),
                     ends_at=now + timedelta(days=30)))
    return {p.id: (p.office_id, p.role) for p in db.scalars(select(Person))}


def _person(code: str, role: str, n: int) -> Person:
    return Person(code=code, name=f"Cán bộ {code}", role=role, phone=f"+8490{n:07d}",
                  channels=["sms"], placeholder=False)


def insert_dispatches(db: Session, count: int, spread: float, offices: list[Office],
                      rng: random.Random, now: datetime) -> None:
    """`count` critical tips with one parked dispatch each: its step FIRST_STEP is due at
    PARKED plus a uniform offset in [0, spread)."""
    day = date(2100, 1, 1)
    tips = [{"reference": reference_for(day, k + 1), "day": day, "day_number": k + 1,
             "status": "new", "channel": "walk_in", "created_at": now, "updated_at": now,
             "last_activity_at": now, "urgency": "critical", "child_involved": False,
             "functions": ["police"], "overridden": False, "routed_at": now}
            for k in range(count)]
    rows = db.execute(insert(Tip).returning(Tip.id, Tip.reference,
                                            sort_by_parameter_order=True), tips).all()
    step_after = timedelta(minutes=BENCH_POLICY["steps"][FIRST_STEP]["after_minutes"])
    dispatches = []
    for tip_id, reference in rows:
        office = rng.choice(offices)
        due = PARKED + timedelta(seconds=rng.uniform(0, spread))
        dispatches.append({
            "tip_id": tip_id, "test": False, "reference": reference, "function": "police",
            "office_id": office.id, "office_name": office.name, "state": "pending",
            "urgency": "critical", "child_involved": False, "policy": BENCH_POLICY,
            "step": FIRST_STEP, "next_due_at": due, "reminders": 0, "version": 1,
            "created_at": due - step_after, "created_by": "escalation bench",
            "declined": False})
    db.execute(insert(Dispatch), dispatches)


def prepare(url: str, args: argparse.Namespace) -> Setup:
    """A fresh schema with the directory and the parked dispatches."""
    reset_schema(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with Session(engine) as db, db.begin():
            people = build_directory(db, args.offices, now)
            offices = list(db.scalars(select(Office).where(Office.scope == "province")))
            insert_dispatches(db, args.dispatches, args.spread, offices,
                              random.Random(args.seed), now)
    finally:
        engine.dispose()
    return Setup(people=people)


def open_window(url: str, setup: Setup, start: float) -> None:
    """Move every dispatch from PARKED to the window starting at `start` (one
    transaction), and note when each measured step is due."""
    shift = datetime.fromtimestamp(start, UTC) - PARKED
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(text(
                "UPDATE dispatch SET created_at = created_at + :shift, "
                "next_due_at = next_due_at + :shift RETURNING id, office_id, created_at"),
                {"shift": shift}).all()
    finally:
        engine.dispose()
    for dispatch_id, office_id, created_at in rows:
        setup.offices[dispatch_id] = office_id
        for step in MEASURED:
            due = policies.due_at(BENCH_POLICY, step, created_at)
            setup.due[(dispatch_id, step)] = due.timestamp()


def backlog(url: str) -> int:
    """Alerts not yet sent, and steps due but not yet run."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text(
                "SELECT (SELECT count(*) FROM alert WHERE status IN ('pending', 'sending'))"
                " + (SELECT count(*) FROM dispatch WHERE state = 'pending'"
                " AND next_due_at <= now())"))
    finally:
        engine.dispose()


def wait_for_sending(url: str, timeout: float) -> int:
    """Until some alert is being sent (claimed, not yet recorded), or `timeout`; returns
    how many are. A kill then lands mid-send, the case the outbox must survive."""
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while True:
                count = connection.scalar(text(
                    "SELECT count(*) FROM alert WHERE status = 'sending'"))
                connection.rollback()  # a fresh snapshot for the next look
                if count or time.monotonic() >= deadline:
                    return count
                time.sleep(0.005)
    finally:
        engine.dispose()


def resent_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT coalesce(sum(resent), 0) FROM alert"))
    finally:
        engine.dispose()


# -- workers ------------------------------------------------------------------------------


def worker_env(url: str, redis_url: str, fake: FakeTwilio, tick: int, data_dir: str) -> dict:
    return {**os.environ, **fake.settings, "DATABASE_URL": url, "REDIS_URL": redis_url,
            "TWILIO_NUMBER": TWILIO_NUMBER, "ALERTS_TO_PLACEHOLDERS": "true",
            "ROUTING_TICK_SECONDS": str(tick), "PUBLIC_BASE_URL": "https://111.example.vn",
            "HOTLINE_DATA_DIR": data_dir, "PYTHONUNBUFFERED": "1"}


def start_workers(count: int, env: dict, logs: Path, run: str) -> list[subprocess.Popen]:
    """`count` processes of `hotline worker`, each in a session of its own (Ctrl-C reaches
    the benchmark, which stops them), logging to `logs`."""
    workers = []
    for n in range(count):
        log = open(logs / f"{run}-worker-{n}.log", "wb")  # noqa: SIM115 (closed with the child)
        workers.append(subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"],
                                        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True))
        log.close()
    return workers


def wait_until_up(connection: redis.Redis, workers: list[subprocess.Popen],
                  timeout: float = 60.0) -> None:
    """Until every worker has registered with RQ (its tick thread started just before)."""
    from rq import Worker

    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < len(workers):
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker exited while starting: see its log")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start in time: see their logs")
        time.sleep(0.2)


def kill_worker(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and its RQ scheduler (a child process, in its process group):
    as a crash of its machine would, leaving no half of it running."""
    try:
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    worker.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM (RQ's warm shutdown), then SIGKILL whatever is left of each worker's
    process group after 10 seconds."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_worker(worker)


# -- one run ------------------------------------------------------------------------------


def run_once(args: argparse.Namespace, url: str, fake: FakeTwilio, logs: Path,
             chaos: bool) -> Result:
    """One run: prepare, start workers, open the window, (chaos: flush Redis and kill a
    worker halfway), wait for stragglers, analyse."""
    name = "flushed" if chaos else "steady"
    connection = redis.Redis.from_url(args.redis_url)
    connection.flushdb()  # the benchmark's own index only
    setup = prepare(url, args)
    fake.reset()
    env = worker_env(url, args.redis_url, fake, args.tick, str(logs))
    workers = start_workers(args.workers, env, logs, name)
    try:
        wait_until_up(connection, workers)
        start = time.time() + 2.0
        open_window(url, setup, start)
        window = args.spread + 60.0 * (max(MEASURED) - FIRST_STEP)
        print(f"{name}: {len(setup.due)} steps due over {window:.0f} s, "
              f"{args.workers} workers", flush=True)
        if chaos:
            sleep_until(start + window / 2)
            connection.flushdb()
            chaos_kill(url, workers, start, name)
        sleep_until(start + window)
        left = wait_for_stragglers(url, fake, setup, start + window + args.grace)
        elapsed = time.time() - start
        result = analyse(fake, setup)
        result.backlog, result.resent, result.elapsed = left, resent_count(url), elapsed
        return result
    finally:
        stop_workers(workers)
        connection.close()


def chaos_kill(url: str, workers: list[subprocess.Popen], start: float, name: str) -> None:
    """Kill the worker that is sending now, if any is within MID_SEND_WAIT seconds; say
    how many alerts it left "sending" (each waits for the outbox's STUCK_AFTER)."""
    in_flight = wait_for_sending(url, MID_SEND_WAIT)
    victim = busiest(workers, 0.05)
    killed_at = datetime.now(UTC)
    kill_worker(victim)
    print(f"{name}: Redis index flushed, then worker {victim.pid} killed at "
          f"{time.time() - start:.1f} s ({in_flight} alerts were being sent)", flush=True)
    time.sleep(2.0)  # what the other worker was sending, it has recorded by now
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            left = connection.scalar(text(
                "SELECT count(*) FROM alert WHERE status = 'sending' AND status_at <= :t"),
                {"t": killed_at})
    finally:
        engine.dispose()
    print(f"{name}: the killed worker left {left} alerts 'sending'", flush=True)


def busiest(workers: list[subprocess.Popen], seconds: float) -> subprocess.Popen:
    """The worker that used the most CPU over the next `seconds`: the one sending (a send
    is mostly CPU in the worker: rendering, the database, the HTTP client)."""
    before = {w.pid: cpu_seconds(w.pid) for w in workers}
    time.sleep(seconds)
    return max(workers, key=lambda w: cpu_seconds(w.pid) - before[w.pid])


def sleep_until(when: float) -> None:
    while (left := when - time.time()) > 0:
        time.sleep(min(left, 1.0))


def wait_for_stragglers(url: str, fake: FakeTwilio, setup: Setup, deadline: float) -> int:
    """Until every step has reached the fake and nothing is left to send (an alert left
    "sending" may still go out twice), or the deadline; returns the backlog left."""
    while True:
        left = backlog(url)
        seen = len(setup.due) - analyse(fake, setup).lost
        if (left == 0 and seen == len(setup.due)) or time.time() >= deadline:
            return left
        time.sleep(1.0)


def analyse(fake: FakeTwilio, setup: Setup) -> Result:
    """Each (dispatch, step) the fake's SMS name: the first arrival's lateness, the
    rest counted as duplicates."""
    first: dict[tuple[int, int], float] = {}
    duplicates = unexpected = links = 0
    messages = sorted(fake.messages, key=lambda m: m.received_at)
    for message in messages:
        for dispatch_id, person_id in LINK.findall(message.form.get("Body", "")):
            links += 1
            key = step_of(setup, int(dispatch_id), int(person_id))
            if key is None:
                unexpected += 1
            elif key in first:
                duplicates += 1
            else:
                first[key] = message.received_at
    lateness = [first[key] - setup.due[key] for key in first]
    return Result(lateness=lateness, duplicates=duplicates, lost=len(setup.due) - len(first),
                  unexpected=unexpected, messages=len(messages), links=links, backlog=0,
                  resent=0, elapsed=0.0)


def step_of(setup: Setup, dispatch_id: int, person_id: int) -> tuple[int, int] | None:
    """The measured step an alert to this person for this dispatch is, if any."""
    office_id, role = setup.people.get(person_id, (None, None))
    step = STEP_OF_ROLE.get(role)
    if step is None or setup.offices.get(dispatch_id) != office_id:
        return None
    return (dispatch_id, step)


# -- reporting ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def describe(name: str, result: Result) -> None:
    late = result.lateness
    over = Counter(">5 s" if x > 5 else ">2 s" for x in late if x > 2)
    print(f"{name}: {len(late)} steps arrived, {result.lost} lost, {result.duplicates} "
          f"duplicates, {result.unexpected} unexpected; {result.links} alerts in "
          f"{result.messages} SMS; outbox backlog at the end {result.backlog}, resent "
          f"{result.resent}; {result.elapsed:.0f} s from the window's start")
    print(f"{name}: lateness p50 {percentile(late, 50):.2f} s, p90 {percentile(late, 90):.2f}"
          f" s, p99 {percentile(late, 99):.2f} s, max {max(late, default=math.nan):.2f} s; "
          f"{over['>2 s'] + over['>5 s']} steps over 2 s, {over['>5 s']} over 5 s", flush=True)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dispatches", type=int, default=10_000, help="default 10000")
    ap.add_argument("--spread", type=float, default=600.0,
                    help="seconds the first measured steps are spread over (default 600)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--offices", type=int, default=100, help="offices (default 100)")
    ap.add_argument("--tick", type=int, default=1, help="ROUTING_TICK_SECONDS (default 1)")
    ap.add_argument("--grace", type=float, default=150.0,
                    help="most seconds to wait for stragglers after the window (default 150)")
    ap.add_argument("--seed", type=int, default=111)
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL URL to create from")
    ap.add_argument("--database", default=DATABASE, help=f"its own database ({DATABASE})")
    ap.add_argument("--redis-url", default=REDIS_URL, help=f"its own index ({REDIS_URL})")
    args = ap.parse_args()
    if args.dispatches < 1 or args.workers < 1 or args.offices < 1 or args.tick < 1:
        ap.error("--dispatches, --workers, --offices and --tick must be at least 1")
    if args.spread <= 0 or args.grace < 0:
        ap.error("--spread must be above 0 and --grace at least 0")
    if args.workers < 2:
        print("note: with one worker the flushed run kills the only one", file=sys.stderr)
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up as on Ctrl-C
    with only_run(args.admin_url), FakeTwilio() as fake:
        url = ensure_database(args.admin_url, args.database)
        logs = Path(tempfile.mkdtemp(prefix="escalation-bench-"))
        print(f"database {args.database}, Redis {args.redis_url}, worker logs in {logs}")
        steady = run_once(args, url, fake, logs, chaos=False)
        describe("steady", steady)
        flushed = run_once(args, url, fake, logs, chaos=True)
        describe("flushed", flushed)
    print(f"p50_lateness_s={percentile(steady.lateness, 50):.2f} "
          f"p99_lateness_s={percentile(steady.lateness, 99):.2f} "
          f"duplicates={steady.duplicates} lost={steady.lost} "
          f"flushed_p99_lateness_s={percentile(flushed.lateness, 99):.2f} "
          f"flushed_duplicates={flushed.duplicates} flushed_lost={flushed.lost}")


if __name__ == "__main__":
    main()
