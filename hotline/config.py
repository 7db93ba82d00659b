"""Configuration from environment variables, with development defaults.

``HOTLINE_ENV=production`` refuses to start on a default secret: a forgotten variable
must stop the service, not run it with a key that is in the source code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEVELOPMENT_SECRET_KEY = "development-secret-key-not-for-production"
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """The configuration cannot run the service; the message says what to set."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value in ("1", "true", "yes", "on")


def _numbers(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated phone numbers, each valid, in E.164."""
    from .phones import parse_number

    numbers = []
    for raw in (env.get(name) or "").split(","):
        if raw.strip():
            number = parse_number(raw)
            if not number.valid:
                raise ConfigError(f"{name} holds something that is not a phone number: "
                                  f"{raw.strip()!r}")
            numbers.append(number.e164)
    return tuple(numbers)


def _gateways(value: str) -> dict[str, str]:
    return _secrets(value, "HOTLINE_GATEWAYS")


def _secrets(value: str, name: str) -> dict[str, str]:
    """"name=secret;...", each secret long enough to sign with."""
    from .gateway import parse_gateways

    try:
        return parse_gateways(value)
    except ValueError as error:
        raise ConfigError(str(error).replace("HOTLINE_GATEWAYS", name)) from None


def load(env: Mapping[str, str] | None = None, overrides: Mapping | None = None) -> dict:
    """The app's configuration: environment variables, then explicit overrides."""
    from .crypto import DEVELOPMENT_DATA_KEY  # the Vault's own development key

    env = os.environ if env is None else env
    data_dir = Path(env.get("HOTLINE_DATA_DIR") or "var").resolve()
    config = {
        "HOTLINE_ENV": env.get("HOTLINE_ENV") or "development",
        "SECRET_KEY": env.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY,
        "HOTLINE_DATA_KEY": env.get("HOTLINE_DATA_KEY") or DEVELOPMENT_DATA_KEY,
        "HOTLINE_DATA_DIR": str(data_dir),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'hotline.db'}",
        "REDIS_URL": env.get("REDIS_URL") or None,  # None: `hotline run` embeds one
        "PUBLIC_BASE_URL": (env.get("PUBLIC_BASE_URL") or "http://localhost:5000").rstrip("/"),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID") or "",
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN") or "",
        "TWILIO_AUTH_TOKEN_SECONDARY": env.get("TWILIO_AUTH_TOKEN_SECONDARY") or "",
        "TWILIO_NUMBER": env.get("TWILIO_NUMBER") or "",
        "THREAD_WINDOW_HOURS": _int(env, "THREAD_WINDOW_HOURS", 24),
        "HOTLINE_GATEWAYS": _gateways(env.get("HOTLINE_GATEWAYS") or ""),
        "MAX_CONTENT_LENGTH": 64 * 1024,  # larger requests get 413
        "VOICE_RECORDING": _flag(env, "VOICE_RECORDING", False),  # the menu announces it
        "VOICE_SPEECH": _flag(env, "VOICE_SPEECH", True),  # speech recognition in the menu
        "VOICE_QUEUE": env.get("VOICE_QUEUE") or "operators",
        "VOICE_EMERGENCY_QUEUE": env.get("VOICE_EMERGENCY_QUEUE") or "emergency",
        "VOICE_STORE_SECONDS": _int(env, "VOICE_STORE_SECONDS", 3),
        "VOICE_WAIT_SECONDS": _int(env, "VOICE_WAIT_SECONDS", 120),  # then a voicemail
        "VOICE_EMERGENCY_WAIT_SECONDS": _int(env, "VOICE_EMERGENCY_WAIT_SECONDS", 300),
        "VOICE_VOICEMAIL_SECONDS": _int(env, "VOICE_VOICEMAIL_SECONDS", 180),
        "VOICE_SPOOL_SECONDS": _int(env, "VOICE_SPOOL_SECONDS", 30),  # spool replay period
        "OPERATOR_NUMBERS": _numbers(env, "OPERATOR_NUMBERS"),
        "READY_TIMEOUT_SECONDS": _int(env, "READY_TIMEOUT_SECONDS", 2),
        # The console: a session lasts a shift at most, and ends when left idle.
        "CONSOLE_SESSION_HOURS": _int(env, "CONSOLE_SESSION_HOURS", 12),
        "CONSOLE_IDLE_MINUTES": _int(env, "CONSOLE_IDLE_MINUTES", 30),
        "LOGIN_LOCK_AFTER": _int(env, "LOGIN_LOCK_AFTER", 5),  # failures in a row
        "LOGIN_LOCK_MINUTES": _int(env, "LOGIN_LOCK_MINUTES", 15),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute;50 per hour",
        # Routing: the workers' poll, and how long a new tip may wait unclaimed and
        # undispatched before the duty supervisor is alerted.
        "ROUTING_TICK_SECONDS": _int(env, "ROUTING_TICK_SECONDS", 1),
        "UNCLAIMED_CRITICAL_MINUTES": _int(env, "UNCLAIMED_CRITICAL_MINUTES", 5),
        "UNCLAIMED_HIGH_MINUTES": _int(env, "UNCLAIMED_HIGH_MINUTES", 15),
        # Alerts: where they go out, and how.
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE") or "https://api.twilio.com",
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID") or "",
        "SMTP_HOST": env.get("SMTP_HOST") or "",
        "SMTP_PORT": _int(env, "SMTP_PORT", 25),
        "SMTP_USER": env.get("SMTP_USER") or "",
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or "",
        "SMTP_STARTTLS": _flag(env, "SMTP_STARTTLS", False),
        "SMTP_FROM": env.get("SMTP_FROM") or "Tong dai 111 <alerts@localhost>",
        "SEND_TIMEOUT_SECONDS": _int(env, "SEND_TIMEOUT_SECONDS", 10),
        "SMS_FOLD_DIACRITICS": _flag(env, "SMS_FOLD_DIACRITICS", False),
        # A recipient's SMS that are not critical wait this long after the last one, and
        # go out together as one message.
        "SMS_GAP_SECONDS": _int(env, "SMS_GAP_SECONDS", 60),
        # Never on in production: the seed directory's contacts are placeholders.
        "ALERTS_TO_PLACEHOLDERS": _flag(env, "ALERTS_TO_PLACEHOLDERS", False),
        # Only where the SMS provider delivers replies (Twilio's SMS in Vietnam is one-way).
        "ACK_REPLY_CODES": _flag(env, "ACK_REPLY_CODES", False),
        "WEBHOOK_SECRETS": _secrets(env.get("WEBHOOK_SECRETS") or "", "WEBHOOK_SECRETS"),
    }
    config.update(overrides or {})
    check(config)
    return config


def check(config: Mapping) -> None:
    """Refuse what cannot run: an unknown environment, defaults in production."""
    from .crypto import DEVELOPMENT_DATA_KEY

    environment = config["HOTLINE_ENV"]
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"HOTLINE_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                          f"got {environment!r}")
    if environment != "production":
        return
    if config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
        raise ConfigError("HOTLINE_ENV=production needs SECRET_KEY set to a secret of its own")
    if DEVELOPMENT_DATA_KEY in str(config["HOTLINE_DATA_KEY"]).replace(",", " ").split():
        raise ConfigError("HOTLINE_ENV=production needs HOTLINE_DATA_KEY set to keys of its "
                          "own (generate one with `hotline keys generate`)")
