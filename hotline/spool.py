"""A local spool for voice events the database could not take in time.

A voice webhook answers the caller within a few seconds whatever the database does; an
event it could not store by then is appended here, to a file of this process's own
under ``HOTLINE_DATA_DIR/spool``, encrypted like every other piece of victim data. Each
web process replays the spool at start and on a timer. Replaying is safe to repeat
(call events are idempotent), so a crash part way only means an event is applied twice.

Replaying first *claims* each spool file: under its lock (held by writers only for an
append) the file's lines move to a ``.claimed`` file, written whole and then renamed, and
the spool file is emptied. A claimed file is replayed under a lock of its own, so two
processes never replay one file at once; what fails stays in it for the next round.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .crypto import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replayed:
    applied: int
    kept: int  # failed this time (the database is still down); tried again next round


class Spool:
    def __init__(self, directory: str | Path, vault: Vault):
        self.directory = Path(directory)
        self.vault = vault

    def add(self, event: dict) -> None:
        """Append one event (a JSON-ready dict); it is on disk when this returns."""
        self.directory.mkdir(parents=True, exist_ok=True)
        line = self.vault.encrypt(json.dumps(event, ensure_ascii=False)).encode() + b"\n"
        with open(self.directory / f"voice-{os.getpid()}.spool", "ab") as spool:
            fcntl.flock(spool, fcntl.LOCK_EX)
            spool.write(line)
            spool.flush()
            os.fsync(spool.fileno())

    def pending(self) -> int:
        """Events waiting in every file, claimed or not."""
        return sum(len(_lines(path.read_bytes())) for path in self._files("*.spool", "*.claimed"))

    def replay(self, apply: Callable[[dict], None]) -> Replayed:
        """Apply every spooled event with `apply` (one transaction each). After the first
        failure the rest of that file is kept untried: the database is likely still down."""
        for path in self._files("*.spool"):
            self._claim(path)
        applied = kept = 0
        for path in self._files("*.claimed"):
            done, left = self._replay_claimed(path, apply)
            applied, kept = applied + done, kept + left
        return Replayed(applied, kept)

    def _files(self, *patterns: str) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(path for pattern in patterns for path in self.directory.glob(pattern))

    def _claim(self, path: Path) -> None:
        with open(path, "r+b") as spool:
            fcntl.flock(spool, fcntl.LOCK_EX)
            data = spool.read()
            if not data:
                if not _owner_alive(path):
                    path.unlink()  # a process gone with nothing left to replay
                return
            claimed = path.with_name(f"{path.stem}-{uuid.uuid4().hex}.claimed")
            _write_whole(claimed, data)
            spool.truncate(0)
            spool.flush()
            os.fsync(spool.fileno())

    def _replay_claimed(self, path: Path, apply: Callable[[dict], None]) -> tuple[int, int]:
        try:
            claimed = open(path, "r+b")
        except FileNotFoundError:  # another process finished it
            return 0, 0
        with claimed:
            try:
                fcntl.flock(claimed, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is replaying it
                return 0, 0
            lines = _lines(claimed.read())
            applied = 0
            for line in lines:
                if not self._apply_line(line, apply):
                    break
                applied += 1
            left = lines[applied:]
            if left:
                _write_whole(path, b"".join(line + b"\n" for line in left))
            else:
                path.unlink()
            return applied, len(left)

    def _apply_line(self, line: bytes, apply: Callable[[dict], None]) -> bool:
        try:
            apply(json.loads(self.vault.decrypt(line.decode())))
            return True
        except Exception as error:  # kept, never dropped: it is a caller's call
            log.error("spooled voice event not applied yet (%s)", type(error).__name__)
            return False


class Replayer(threading.Thread):
    """Replays a spool now and then every `interval` seconds, until stopped."""

    def __init__(self, spool: Spool, apply: Callable[[dict], None], interval: float):
        super().__init__(name="voice-spool", daemon=True)
        self.spool, self.apply, self.interval = spool, apply, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                replayed = self.spool.replay(self.apply)
                if replayed.applied or replayed.kept:
                    log.info("voice spool: %d applied, %d kept", replayed.applied, replayed.kept)
            except Exception:
                log.exception("voice spool replay failed")
            if self.stopped.wait(self.interval):
                return

    def stop(self) -> None:
        self.stopped.set()


def _owner_alive(path: Path) -> bool:
    """Whether the process that writes to this spool file is still running."""
    pid = path.stem.removeprefix("voice-")
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _lines(data: bytes) -> list[bytes]:
    return [line for line in data.split(b"\n") if line.strip()]


def _write_whole(path: Path, data: bytes) -> None:
    """Write a file so that it exists whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
