"""Liveness and readiness for monitoring. Webhook traffic is never gated on these."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Database and Redis reachable, each within a short deadline (a socket that never
    answers must not hang the probe). Also how many voice events wait in this machine's
    spool: more than none means the database has been failing the voice line."""
    timeout = current_app.config["READY_TIMEOUT_SECONDS"]
    engine = current_app.extensions["hotline.engine"]
    redis_url = current_app.config.get("REDIS_URL")
    checks = {"database": _checks.submit(_database_ok, engine)}
    if redis_url:
        checks["redis"] = _checks.submit(_redis_ok, redis_url, timeout)
    results = {}
    for name, future in checks.items():
        try:
            future.result(timeout=timeout)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timeout"
        except Exception as error:  # the kind of failure only: no URLs or secrets
            results[name] = f"error: {type(error).__name__}"
    ready = all(value == "ok" for value in results.values())
    spooled = current_app.extensions["hotline.spool"].pending()
    return jsonify(status="ok" if ready else "unavailable", checks=results,
                   voice_spool=spooled), (
        200 if ready else 503)


def _database_ok(engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis_ok(url: str, timeout: float) -> None:
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
