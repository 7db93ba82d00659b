"""What every channel adapter shares: the message to send, the receipt, the error, the
settings, and masking for logs."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from ..models import CHANNELS

DEFAULT_TWILIO_API_BASE = "https://api.twilio.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
MIN_WEBHOOK_SECRET = 16  # as for the gateways' secrets (hotline/gateway.py)
_EVENT_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
N = TypeVar("N", int, float)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Outgoing:
    """One alert: one recipient on one channel.

    ``to`` is E.164 for sms and call, an address for email, a URL for webhook. What could
    identify a person or carry a secret stays out of ``repr``, so logging an Outgoing
    writes none of it.
    """

    channel: str
    to: str = field(repr=False)
    text: str = field(repr=False)
    subject: str | None = field(default=None, repr=False)
    payload: Mapping[str, object] | None = field(default=None, repr=False)  # webhook JSON
    secret: str | None = field(default=None, repr=False)  # webhook HMAC secret
    status_callback: str | None = None  # where Twilio posts delivery status
    call_url: str | None = field(default=None, repr=False)  # the call's TwiML (may be signed)

    def __post_init__(self) -> None:
        # A missing part is a bug in the caller, not a failed send: fail loudly here.
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        if not isinstance(self.to, str) or not self.to:
            raise ValueError(f"{self.channel}: a recipient is needed")
        if self.channel in ("sms", "email") and not self.text:
            raise ValueError(f"{self.channel}: a text is needed")
        if self.channel == "email" and not self.subject:
            raise ValueError("email: a subject is needed")
        if any(c in (self.subject or "") + self.to for c in "\r\n"):
            raise ValueError(f"{self.channel}: a recipient or subject is one line")
        if self.channel == "call" and not self.call_url:
            raise ValueError("call: a call_url is needed (the TwiML that asks to press 1)")
        if self.channel == "webhook":
            self._check_webhook()

    def _check_webhook(self) -> None:
        if not isinstance(self.payload, Mapping):
            raise ValueError("webhook: a payload (JSON object) is needed")
        if not isinstance(self.payload.get("event"), str) or not _EVENT_RE.fullmatch(
                self.payload["event"]):
            raise ValueError("webhook: payload['event'] must name the event, such as "
                             "'dispatch.created'")
        if not self.secret or len(self.secret) < MIN_WEBHOOK_SECRET:
            raise ValueError(f"webhook: a secret of at least {MIN_WEBHOOK_SECRET} "
                             "characters is needed")


@dataclass(frozen=True)
class Sent:
    """What the provider answered: its id for the message (Twilio's SID, the email's
    Message-ID) and its status ("queued" from Twilio; "sent" for email and webhook)."""

    provider_id: str | None
    status: str


class SendError(Exception):
    """A send that did not happen (or may not have).

    ``retryable``: trying again later may work (HTTP 5xx, 429, timeouts, refused
    connections); otherwise the channel needs a person (an invalid number, a rejected
    address, bad credentials) and the alert should fall back to the next channel.
    ``maybe_sent``: the request reached the provider and no answer came back, so a retry
    may deliver it twice (Twilio takes no idempotency key): count it.
    The message never holds a number, an address, a text or a secret.
    """

    def __init__(self, message: str, *, retryable: bool, status: int | None = None,
                 code: int | None = None, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # HTTP status or SMTP reply code
        self.code = code  # the provider's error code (Twilio's 21211, ...)
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class ChannelSettings:
    """The channels' settings, parsed from plain values (environment strings or typed)."""

    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base: str = DEFAULT_TWILIO_API_BASE
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    smtp_from: str = ""
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_mapping(cls, settings: Mapping[str, object]) -> ChannelSettings:
        """Settings from a mapping such as the app's config; bad values are a ValueError."""
        base = _text(settings, "TWILIO_API_BASE") or DEFAULT_TWILIO_API_BASE
        if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
            raise ValueError("TWILIO_API_BASE must be an http(s) URL")
        port = _number(settings, "SMTP_PORT", 25, int)
        if port > 65535:
            raise ValueError("SMTP_PORT must be a port number (1 to 65535)")
        return cls(
            twilio_account_sid=_text(settings, "TWILIO_ACCOUNT_SID"),
            twilio_auth_token=_text(settings, "TWILIO_AUTH_TOKEN"),
            twilio_number=_text(settings, "TWILIO_NUMBER"),
            twilio_messaging_service_sid=_text(settings, "TWILIO_MESSAGING_SERVICE_SID"),
            twilio_api_base=base.rstrip("/"),
            smtp_host=_text(settings, "SMTP_HOST"),
            smtp_port=port,
            smtp_user=_text(settings, "SMTP_USER"),
            smtp_password=_text(settings, "SMTP_PASSWORD"),
            smtp_starttls=_flag(settings, "SMTP_STARTTLS"),
            smtp_from=_text(settings, "SMTP_FROM"),
            timeout=_number(settings, "SEND_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, float),
        )


def mask_address(channel: str, to: str) -> str:
    """A recipient as logs may show it: a phone's last three digits, an email's domain,
    a URL's host (a path may hold a token)."""
    if channel in ("sms", "call"):
        return f"***{to[-3:]}" if len(to) > 6 else "***"
    if channel == "email":
        return "***@" + to.rpartition("@")[2] if "@" in to else "***"
    return urlsplit(to).hostname or "***"


def _text(settings: Mapping[str, object], name: str) -> str:
    value = settings.get(name)
    return "" if value is None else str(value).strip()


def _flag(settings: Mapping[str, object], name: str) -> bool:
    value = settings.get(name)
    if isinstance(value, bool):
        return value
    text = _text(settings, name).lower()
    if text not in _TRUE + _FALSE:
        raise ValueError(f"{name} must be true or false")
    return text in _TRUE


def _number(settings: Mapping[str, object], name: str, default: N,
            kind: Callable[[object], N]) -> N:
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number above 0") from None
    if isinstance(value, bool) or number <= 0:
        raise ValueError(f"{name} must be a number above 0")
    return number
