"""Key rotation: re-encrypt every encrypted column under the current data key and
re-hash callers' numbers with the current lookup key.

To rotate: put a new key first in HOTLINE_DATA_KEY ("NEW,OLD"), restart, run
`hotline keys rotate`, then drop OLD. Running it twice is harmless; a rotation cut off
half way is finished by running it again (old keys still open what was not done).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .crypto import Vault
from .models import Call, Caller, Message, Recording, User

# Every column that holds an encrypted value, by model.
ENCRYPTED = {
    Caller: ("number_encrypted",),
    Message: ("body_encrypted",),
    Call: ("transcript_encrypted",),
    Recording: ("url_encrypted",),
    User: ("totp_secret_encrypted",),
}
BATCH = 500


@dataclass
class Rotation:
    reencrypted: dict[str, int] = field(default_factory=dict)  # "table.column" -> values
    rehashed: int = 0  # callers whose lookup hash was made again


def rotate_all(engine: Engine, vault: Vault, batch: int = BATCH) -> Rotation:
    """Each batch commits on its own, so a large database is not held in one transaction."""
    done = Rotation()
    for model, columns in ENCRYPTED.items():
        last_id = 0
        while True:
            with Session(engine) as db, db.begin():
                rows = db.scalars(select(model).where(model.id > last_id)
                                  .order_by(model.id).limit(batch)).all()
                for row in rows:
                    _rotate_row(row, columns, vault, done)
                    if isinstance(row, Caller):
                        done.rehashed += _rehash(row, vault)
                    last_id = row.id
            if not rows:
                break
    return done


def _rotate_row(row, columns: tuple[str, ...], vault: Vault, done: Rotation) -> None:
    for column in columns:
        token = getattr(row, column)
        if token is None or not vault.needs_rotation(token):
            continue
        setattr(row, column, vault.rotate(token))
        name = f"{row.__tablename__}.{column}"
        done.reencrypted[name] = done.reencrypted.get(name, 0) + 1


def _rehash(caller: Caller, vault: Vault) -> int:
    if caller.number_hash is None or caller.number_key == vault.fingerprint:
        return 0
    caller.number_hash = vault.lookup_hash(vault.decrypt(caller.number_encrypted))
    caller.number_key = vault.fingerprint
    return 1
