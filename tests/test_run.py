"""`hotline run`: the whole service from one command, on a fresh data directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy.orm import Session

from hotline import accounts
from hotline.run import DEMO_EMAIL, seed_demo, start_embedded_redis
from routing.db import make_engine


def test_the_demo_login_is_fresh_and_single(db_url):
    engine = make_engine(db_url)
    with Session(engine) as db, db.begin():
        first = seed_demo(db)
    with Session(engine) as db, db.begin():
        second = seed_demo(db)
        user = db.scalar(accounts.select(accounts.User).where(accounts.User.email == DEMO_EMAIL))
        assert accounts.verify_password(user, second.password)
        assert not accounts.verify_password(user, first.password)
        live = [t for t in user.tokens if t.revoked_at is None]
        assert [t.token_hash for t in live] == [accounts.token_hash(second.token)]
    engine.dispose()


def test_the_embedded_redis_answers_and_stops(tmp_path):
    server, url = start_embedded_redis(tmp_path)
    socket_file = Path(url.removeprefix("unix://"))
    assert server.ping() and socket_file.exists()
    server.shutdown()
    assert not socket_file.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}
                                     if token else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def _post_tip(port: int, token: str, text: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/tips", method="POST",
        data=json.dumps({"channel": "walk_in", "text": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["reference"]


def _tip(port: int, token: str, reference: str) -> dict:
    return json.loads(_get(f"http://127.0.0.1:{port}/api/tips/{reference}", token)[1])


def _wait_for(read, done, seconds: float = 30):
    """Poll another process until `done(read())` (there is no clock to pass it)."""
    deadline = time.monotonic() + seconds
    while not done(value := read()):
        assert time.monotonic() < deadline, value
        time.sleep(0.2)
    return value


def _stop(process: subprocess.Popen) -> str:
    """SIGTERM, as a service manager stops it; a kill (and a failure) if it hangs, so no
    process or pipe outlives the test."""
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"hotline run did not stop on SIGTERM:\n{output}") from None
    return output


def test_hotline_run_serves_with_embedded_redis_and_a_worker(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "HOTLINE_ENV")}
    env["HOTLINE_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "hotline.cli", "run", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines = []
    try:
        while not any(line.startswith("demo API token") for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        token = lines[-1].split()[-1]
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/readyz")
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not come up"
                time.sleep(0.2)
        assert status == 200 and b'"redis":"ok"' in body
        assert _get(f"http://127.0.0.1:{port}/api/tips", token)[0] == 200
        assert any(line.startswith("demo operator: " + DEMO_EMAIL) for line in lines)
        # A tip travels: entered, routed by the worker to the seeded directory, alerted.
        reference = _post_tip(port, token, "em 14 tuoi bi nhot o quan karaoke o Lang Son")
        tip = _wait_for(lambda: _tip(port, token, reference),
                        lambda tip: tip["dispatches"] and all(
                            d["alerts"] and d["alerts"][0]["status"] != "pending"
                            for d in tip["dispatches"] if d["office"]["code"].startswith("ca-")))
        offices = {d["office"]["code"] for d in tip["dispatches"]}
        assert {"ca-lang_son", "bca-c02"} <= offices  # provincial police, and national
        # The seed's contacts are placeholders: recorded as not sent, never sent.
        alert = next(d for d in tip["dispatches"] if d["office"]["code"] == "ca-lang_son")
        assert alert["alerts"][0]["status"] == "failed"
        assert (tmp_path / "hotline.db").exists()
    finally:
        output = _stop(process)
    assert process.returncode == 0, output
    redis_socket = next(line for line in lines if "(Redis: unix://" in line)
    redis_socket = redis_socket.split("unix://")[1].rstrip(")\n")
    assert not Path(redis_socket).exists()  # the embedded Redis stopped with the service
