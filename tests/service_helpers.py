"""Small helpers the service's tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import socket

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session


def count_rows(engine: Engine, model) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(model))


def closed_port() -> int:
    """A local port nothing listens on: a service that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends
