"""Logging in and out of the console.

A password (argon2), then for administrators, and for anyone who has set one up, a TOTP
code. Attempts are rate-limited per address; failures in a row lock the account for a
while (the same answer whether the email exists or not). Every login, failure and logout
is audited with the address it came from. A session ends after CONSOLE_IDLE_MINUTES
without a request, and after CONSOLE_SESSION_HOURS whatever happens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pyotp
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from .. import accounts, database
from ..models import AuditEvent, User
from . import limiter

bp = Blueprint("auth", __name__)
ISSUER = "Tong dai 111"
_DUMMY_HASH = accounts.hash_password("a password nobody has, to spend the same time")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$")])


@bp.before_app_request
def _end_idle_sessions():
    """An unattended console logs itself out (a shared screen at 3 a.m.)."""
    if not current_user.is_authenticated:
        return None
    now = _now().timestamp()
    idle = current_app.config["CONSOLE_IDLE_MINUTES"] * 60
    if now - session.get("seen", now) > idle:
        _audit("logout.idle", current_user.id)
        database.session().commit()
        logout_user()
        session.clear()
        return redirect(url_for("auth.login"))
    session["seen"] = now
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("console/login.html", form=form), 400 if form.errors else 200
    db = database.session()
    user = _user(form.email.data)
    if user is not None and _locked(user):
        return _refused(form, user, "login.locked")
    if not _password_ok(user, form.password.data):
        return _refused(form, user, "login.failed")
    if user.totp_secret_encrypted or user.role == "admin":
        session["pending_user"] = user.id
        db.commit()
        return redirect(url_for("auth.second_factor"))
    return _logged_in(user)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def second_factor():
    """The TOTP code; an administrator without one sets it up first."""
    user = _pending()
    if user is None:
        return redirect(url_for("auth.login"))
    vault = current_app.extensions["hotline.vault"]
    enrolling = user.totp_secret_encrypted is None
    if enrolling:
        secret = session.setdefault("totp_setup", pyotp.random_base32())
    else:
        secret = vault.decrypt(user.totp_secret_encrypted)
    form = CodeForm()
    if form.validate_on_submit():
        if pyotp.TOTP(secret).verify(form.code.data.strip(), for_time=_now(), valid_window=1):
            if enrolling:
                user.totp_secret_encrypted = vault.encrypt(secret)
                _audit("totp.enrolled", user.id)
            session.pop("pending_user", None)
            session.pop("totp_setup", None)
            return _logged_in(user)
        if _count_failure(user):
            session.clear()
        _audit("login.code_failed", user.id)
        database.session().commit()
        flash(_("That code is not right."), "error")
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER) \
        if enrolling else None
    return render_template("console/code.html", form=form, enrolling=enrolling,
                           secret=secret if enrolling else None, uri=uri)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        _audit("logout", current_user.id)
        database.session().commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    from . import LANGUAGES

    chosen = request.form.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    target = request.form.get("next", "")
    return redirect(target if _local_path(target) else url_for("pages.queue"))


# -- helpers -------------------------------------------------------------------------------


def _now() -> datetime:
    return current_app.extensions["hotline.clock"]()


def _user(email: str) -> User | None:
    try:
        email = accounts.normalise_email(email)
    except accounts.AccountError:
        return None
    return database.session().scalar(select(User).where(User.email == email))


def _password_ok(user: User | None, password: str) -> bool:
    if user is None or not user.active:
        accounts.verify_password(User(password_hash=_DUMMY_HASH), password)  # same time
        return False
    return accounts.verify_password(user, password)


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > _now()


def _count_failure(user: User) -> bool:
    """One more failure in a row; True when it locks the account."""
    user.failed_logins += 1
    if user.failed_logins < current_app.config["LOGIN_LOCK_AFTER"]:
        return False
    user.failed_logins = 0
    user.locked_until = _now() + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    _audit("login.locked", user.id)
    return True


def _refused(form: LoginForm, user: User | None, action: str):
    """The same answer for an unknown email, a wrong password and a locked account."""
    if user is not None and action == "login.failed":
        _count_failure(user)
    _audit(action, user.id if user else None, email=form.email.data[:254])
    database.session().commit()
    flash(_("The email or password is not right, or the account is locked for a while."),
          "error")
    return render_template("console/login.html", form=form), 401


def _pending() -> User | None:
    user_id = session.get("pending_user")
    user = database.session().get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.active and not _locked(user) else None


def _logged_in(user: User):
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, _now()
    _audit("login", user.id)
    database.session().commit()
    session.clear()
    session.permanent = True
    login_user(user)
    session["seen"] = _now().timestamp()
    target = request.args.get("next", "")
    return redirect(target if _local_path(target) else url_for("pages.queue"))


def _local_path(target: str) -> bool:
    """Only a path on this site (an open redirect would make a phishing link)."""
    parts = urlsplit(target)
    return bool(target) and target.startswith("/") and not target.startswith("//") \
        and not parts.scheme and not parts.netloc


def _audit(action: str, user_id: int | None, **detail) -> None:
    database.session().add(AuditEvent(action=action, user_id=user_id, at=_now(),
                                      remote_addr=request.remote_addr, detail=detail))
