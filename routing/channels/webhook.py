"""Signed webhooks for agency systems: JSON, POSTed, with the gateways' signature scheme.

``X-Hotline-Signature: t=UNIX,v1=HEX``, HEX being HMAC-SHA256 of ``t + "." + body`` under
the agency's secret: the scheme SMS gateways use towards us (hotline/gateway.py), so an
agency verifies us as we verify them, and a replayed request is refused by its time.
``X-Hotline-Event`` repeats the body's ``event``, so a receiver can route before parsing;
the body, which the signature covers, is what counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable

import requests

from .base import Outgoing, SendError, Sent, mask_address

log = logging.getLogger(__name__)
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Hotline-Signature header for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def encode(payload: object) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode("utf-8")


class WebhookChannel:
    """POSTs an Outgoing's payload; 2xx is sent, 5xx/429/timeouts retry, other 4xx do not."""

    def __init__(self, session: requests.Session, timeout: float,
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.timeout = timeout
        self.clock = clock

    def send(self, outgoing: Outgoing) -> Sent:
        if not outgoing.to.startswith(("https://", "http://")):
            raise SendError("webhook: the recipient is not an http(s) URL", retryable=False)
        body = encode(outgoing.payload)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Hotline-Event": outgoing.payload["event"],
                   "X-Hotline-Signature": sign(outgoing.secret, int(self.clock()), body)}
        error, status = self._post(outgoing.to, body, headers)
        where = mask_address("webhook", outgoing.to)
        if error is not None:
            # Raised outside the except blocks: requests' messages quote the URL.
            log.warning("webhook to %s failed: %s", where, error)
            raise error
        log.info("webhook %s to %s: HTTP %s", outgoing.payload["event"], where, status)
        return Sent(provider_id=None, status="sent")

    def _post(self, url: str, body: bytes, headers: dict[str, str]
              ) -> tuple[SendError | None, int | None]:
        try:
            # No redirects: one would turn the POST into a GET elsewhere; the URL needs fixing.
            with self.session.post(url, data=body, headers=headers, timeout=self.timeout,
                                   allow_redirects=False) as response:
                status = response.status_code
        except requests.Timeout as exc:
            return SendError(f"webhook: no answer within {self.timeout:g} s",
                             retryable=True,
                             maybe_sent=not isinstance(exc, requests.ConnectTimeout)), None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema) as exc:
            return SendError(f"webhook: unusable URL ({type(exc).__name__})",
                             retryable=False), None
        except requests.RequestException as exc:
            return SendError(f"webhook: cannot reach the receiver ({type(exc).__name__})",
                             retryable=True), None
        if 200 <= status < 300:
            return None, status
        retryable = status >= 500 or status in _RETRYABLE_STATUSES
        return SendError(f"webhook: the receiver answered HTTP {status}",
                         retryable=retryable, status=status), status
