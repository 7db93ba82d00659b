"""The operator console: server-rendered pages in Vietnamese first (English available),
for operators, supervisors, focal points and administrators.

Everything here is behind a login (Flask-Login) with sessions that expire, CSRF on every
form (Flask-WTF), login attempts rate-limited (Flask-Limiter, stored in Redis) and
accounts locked after repeated failures, a strict Content Security Policy, and a TOTP
second factor that administrators must use. The webhooks and the bearer-token API are
not console pages: they are exempt from CSRF and sessions.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .. import database
from ..models import User

LANGUAGES = ("vi", "en")
# The console loads nothing from elsewhere: scripts, styles and images are the app's own.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'")
NOT_CONSOLE = ("twilio_sms", "twilio_voice", "twilio_alerts", "gateway", "api",
               "api_dispatches", "ack", "health")

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[],
                  in_memory_fallback_enabled=True)


def init_app(app: Flask) -> None:
    from . import auth, pages

    production = app.config["HOTLINE_ENV"] == "production"
    app.config.setdefault("SESSION_COOKIE_SECURE", production)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_DURATION=timedelta(0),
                      PERMANENT_SESSION_LIFETIME=timedelta(
                          hours=app.config["CONSOLE_SESSION_HOURS"]),
                      RATELIMIT_STORAGE_URI=_limits_storage(app.config["REDIS_URL"]),
                      BABEL_DEFAULT_LOCALE="vi",
                      BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh")
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    limiter.init_app(app)
    Babel(app, locale_selector=_locale, timezone_selector=lambda: "Asia/Ho_Chi_Minh")
    app.jinja_env.globals["get_locale"] = get_locale
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    for name in NOT_CONSOLE:  # machines and signed links: no session, no CSRF token
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])
    app.after_request(_security_headers)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = database.session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _limits_storage(redis_url: str | None) -> str:
    """Where login attempts are counted: Redis (the `limits` library spells a unix
    socket "redis+unix://"), else this process's memory."""
    if not redis_url:
        return "memory://"
    return "redis+" + redis_url if redis_url.startswith("unix://") else redis_url


def _locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "vi"


def _security_headers(response):
    if request.blueprint in NOT_CONSOLE:
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if g.get("private", True):
        response.headers["Cache-Control"] = "no-store"
    return response
