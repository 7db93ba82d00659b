"""Users and API tokens: password hashing (argon2) and bearer tokens (stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.models import Office

from .models import ROLES, ApiToken, User
from .phones import parse_number

MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "h111_"
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request about users or tokens that cannot be carried out; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise AccountError(f"not an email address: {email!r}")
    return email


def create_user(db: Session, email: str, password: str, role: str,
                office_code: str | None = None, phone: str | None = None,
                client_identity: str | None = None) -> User:
    """A console user. An operator's phone (stored in E.164) or Twilio Client identity is
    how the voice line knows who is taking calls."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "focal_point" and not office_code:
        raise AccountError("a focal point needs --office: the office whose tips they see")
    if role != "focal_point" and office_code:
        raise AccountError("only focal points belong to an office")
    phone = _operator_phone(phone) if phone else None
    if (phone or client_identity) and role not in ("operator", "supervisor"):
        raise AccountError("only operators and supervisors take calls (--phone, --client)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if db.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise AccountError(f"a user {email} exists already")
    if client_identity and db.scalar(select(func.count()).select_from(User).where(
            User.client_identity == client_identity)):
        raise AccountError(f"another user has the client identity {client_identity}")
    user = User(email=email, password_hash=hash_password(password), role=role,
                office_code=office_code, phone=phone, client_identity=client_identity)
    db.add(user)
    db.flush()
    return user


def _operator_phone(phone: str) -> str:
    number = parse_number(phone)
    if not number.valid:
        raise AccountError(f"not a valid phone number: {phone!r}")
    return number.e164


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def create_token(db: Session, email: str, name: str = "api") -> NewToken:
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise AccountError(f"no user {email}")
    if not user.active:
        raise AccountError(f"{user.email} is not active")
    if user.role == "focal_point" and not _office_in_directory(db, user.office_code):
        # The token reads only its office's tips: that office must exist.
        raise AccountError(f"{user.email}'s office {user.office_code} is not in the "
                           "directory (a focal point's token is scoped to it)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=token_hash(secret),
                     prefix=secret[:len(TOKEN_PREFIX) + 6])
    db.add(token)
    db.flush()
    return NewToken(token, secret)


def _office_in_directory(db: Session, code: str | None) -> bool:
    return code is not None and db.scalar(select(Office.id).where(Office.code == code)) \
        is not None


def token_hash(secret: str) -> str:
    """Tokens are long and random, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(secret.encode()).hexdigest()
