"""Acknowledgement links: one per dispatch and recipient, signed, short enough for SMS.

A link is ``{base}/a/{dispatch}-{person}-{mac}`` where mac is 16 base32 characters (80
bits) of an HMAC-SHA256 under the service's secret. Signed links from a library
(itsdangerous) run to 40+ characters of signature alone, which costs an SMS segment; 80
bits is far past guessing for a link that only works while its dispatch is open and
for at most seven days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

VALID_FOR = timedelta(days=7)
_TOKEN = re.compile(r"([1-9][0-9]{0,11})-([1-9][0-9]{0,11})-([a-z2-7]{16})")


@dataclass(frozen=True)
class LinkTarget:
    dispatch_id: int
    person_id: int


def token(secret: str, dispatch_id: int, person_id: int) -> str:
    return f"{dispatch_id}-{person_id}-{_mac(secret, dispatch_id, person_id)}"


def link(base_url: str, secret: str, dispatch_id: int, person_id: int) -> str:
    return f"{base_url.rstrip('/')}/a/{token(secret, dispatch_id, person_id)}"


def read(secret: str, value: str) -> LinkTarget | None:
    """The dispatch and person a token names, or None when it is malformed or forged."""
    match = _TOKEN.fullmatch(value or "")
    if match is None:
        return None
    dispatch_id, person_id = int(match[1]), int(match[2])
    if not hmac.compare_digest(match[3], _mac(secret, dispatch_id, person_id)):
        return None
    return LinkTarget(dispatch_id, person_id)


def expired(dispatched_at: datetime, now: datetime) -> bool:
    return now >= dispatched_at + VALID_FOR


def _mac(secret: str, dispatch_id: int, person_id: int) -> str:
    digest = hmac.new(secret.encode(), f"ack:{dispatch_id}:{person_id}".encode(),
                      hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


# -- reply codes ("OK 4821") -----------------------------------------------------------------

_REPLY = re.compile(r"(?:ok|okay|xac nhan|xn|da nhan)\s*[:#.\-]?\s*(\d{4})")


def reply_code(secret: str, dispatch_id: int, person_id: int) -> str:
    """Four digits for one dispatch and recipient: short to type on a phone; what it
    acknowledges is checked against the sender's own open dispatches."""
    digest = hmac.new(secret.encode(), f"reply:{dispatch_id}:{person_id}".encode(),
                      hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 10_000:04d}"


def parse_reply(text: str) -> str | None:
    """The code in a reply such as "OK 4821", "ok4821", "Xác nhận 4821" (any case, with
    or without diacritics), or None when the text is anything else."""
    folded = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    match = _REPLY.fullmatch(" ".join(bare.split()))
    return match[1] if match else None
