"""Encryption at rest for victim data, and keyed hashes to find a caller again.

Caller numbers, message bodies, transcripts and recording references are stored only as
Fernet tokens made with keys from ``HOTLINE_DATA_KEY``. That value holds one or more Fernet
keys separated by commas or whitespace: the first is the current key (it encrypts and
derives the lookup key); the others are older keys still accepted for decryption while
``hotline keys rotate`` re-encrypts rows under the current one.

A caller is found again by ``lookup_hash``: an HMAC-SHA256 of the normalised number under a
lookup key derived from the current data key with HKDF, so the database never holds the
number in a form that can be searched without the key, and the lookup key is never the
data key itself.

Nothing here logs, and no exception message or repr contains a key, a token or plaintext.
This module imports nothing from ``hotline`` and no web framework.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DEVELOPMENT_DATA_KEY",
    "DataKeyError",
    "DecryptError",
    "Vault",
    "generate_key",
]

#: Key for local runs and tests only; it is public, so it protects nothing. It is the
#: url-safe base64 of b"hotline111-DEVELOPMENT-ONLY-key!" so it is recognisable when
#: decoded. Production refuses to start with it (see ``Vault.uses_development_key``).
DEVELOPMENT_DATA_KEY = "aG90bGluZTExMS1ERVZFTE9QTUVOVC1PTkxZLWtleSE="

_LOOKUP_INFO = b"hotline111 caller lookup v1"
_FINGERPRINT_INFO = b"hotline111 key fingerprint v1"

# Exactly what Fernet.generate_key() produces: 32 bytes as 44 url-safe base64 characters.
# Checked strictly because base64 decoding silently skips stray characters.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}=")
_SEPARATORS = re.compile(r"[,\s]+")

# Text is encoded with "surrogatepass" so that every Python str, even one holding a lone
# surrogate (which strict UTF-8 refuses), round-trips exactly instead of raising or being
# silently altered.
_ENCODING = "utf-8"
_ERRORS = "surrogatepass"


class DataKeyError(ValueError):
    """``HOTLINE_DATA_KEY`` is empty or holds a malformed key; the message never shows a key."""


class DecryptError(ValueError):
    """No configured key opens a token; the message never shows the token."""


def generate_key() -> str:
    """A fresh random data key, in the form ``HOTLINE_DATA_KEY`` expects."""
    return Fernet.generate_key().decode("ascii")


def _raw_key(key: str, position: int, count: int) -> bytes:
    """The 32 raw bytes of one key; ``position`` is 1-based, for the error message only."""
    where = f"HOTLINE_DATA_KEY: key {position} of {count}"
    if not isinstance(key, str):
        raise DataKeyError(f"{where} is not a string")
    key = key.strip()
    if not key:
        raise DataKeyError(f"{where} is empty")
    if not _KEY_PATTERN.fullmatch(key):
        raise DataKeyError(
            f"{where} is not a Fernet key: expected 44 characters of url-safe base64 "
            f"encoding 32 bytes, as Fernet.generate_key() gives (got {len(key)} characters)"
        )
    try:
        raw = base64.urlsafe_b64decode(key)
    except (binascii.Error, ValueError):  # unreachable after the pattern check; kept safe
        raise DataKeyError(f"{where} is not valid url-safe base64") from None
    if len(raw) != 32:
        raise DataKeyError(f"{where} does not decode to 32 bytes")
    return raw


def _derive(raw_key: bytes, info: bytes) -> bytes:
    """A 32-byte subkey bound to ``info``, so each purpose gets an independent key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw_key)


def _encode(text: str) -> bytes:
    return text.encode(_ENCODING, _ERRORS)


class Vault:
    """Encrypts and decrypts victim data, and hashes caller numbers for lookup.

    Built from the ``HOTLINE_DATA_KEY`` value (``Vault(value)``) or from a list of keys
    (``Vault.from_keys(keys)``); in both the first key is the current one. Duplicate keys
    are dropped, keeping the first occurrence.
    """

    __slots__ = ("_raw_keys", "_fernets", "_multi", "_lookup_keys", "_fingerprint")

    def __init__(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError("HOTLINE_DATA_KEY must be a string")
        parts = [part for part in _SEPARATORS.split(value or "") if part]
        if not parts:
            raise DataKeyError("HOTLINE_DATA_KEY is empty: set it to one or more Fernet keys")
        self._setup(parts)

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> Vault:
        """A vault from separate keys, current first; each item must be exactly one key."""
        keys = list(keys)
        if not keys:
            raise DataKeyError("HOTLINE_DATA_KEY is empty: no keys given")
        vault = cls.__new__(cls)
        vault._setup(keys)
        return vault

    def _setup(self, keys: list[str]) -> None:
        raw_keys: list[bytes] = []
        for position, key in enumerate(keys, start=1):
            raw = _raw_key(key, position, len(keys))
            if raw not in raw_keys:
                raw_keys.append(raw)
        self._raw_keys = tuple(raw_keys)
        self._fernets = tuple(Fernet(base64.urlsafe_b64encode(raw)) for raw in raw_keys)
        self._multi = MultiFernet(self._fernets)
        self._lookup_keys = tuple(_derive(raw, _LOOKUP_INFO) for raw in raw_keys)
        self._fingerprint = hashlib.sha256(_derive(raw_keys[0], _FINGERPRINT_INFO)).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"<Vault fingerprint={self._fingerprint} keys={len(self._raw_keys)}>"

    def __reduce__(self):
        """Refuse pickling, so keys are never copied into a cache, queue or log by accident."""
        raise TypeError("Vault holds secret keys and cannot be pickled")

    @property
    def fingerprint(self) -> str:
        """Short, non-secret id of the current key, stored with each row to show its key."""
        return self._fingerprint

    @property
    def key_count(self) -> int:
        """How many distinct keys are accepted for decryption."""
        return len(self._raw_keys)

    @property
    def uses_development_key(self) -> bool:
        """True if any configured key is the public development key.

        Checks old keys too: a public key that is still accepted lets anyone forge data.
        """
        dev = base64.urlsafe_b64decode(DEVELOPMENT_DATA_KEY)
        return dev in self._raw_keys

    def encrypt(self, text: str | None) -> str | None:
        """Encrypt under the current key; each call gives a different token.

        ``None`` stays ``None`` (a missing value is not secret data, and keeps NULL columns
        NULL); ``''`` is encrypted like any other text, so an empty value is not visible.
        """
        if text is None:
            return None
        if not isinstance(text, str):
            raise TypeError(f"encrypt expects str or None, got {type(text).__name__}")
        return self._multi.encrypt(_encode(text)).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        """Decrypt a token made with any configured key; ``None`` stays ``None``."""
        if token is None:
            return None
        if not isinstance(token, str):
            raise TypeError(f"decrypt expects str or None, got {type(token).__name__}")
        try:
            data = self._multi.decrypt(token)
        except (InvalidToken, ValueError):
            # ValueError: a non-ASCII str, which Fernet does not turn into InvalidToken.
            raise DecryptError(
                "token cannot be decrypted with any key in HOTLINE_DATA_KEY "
                "(wrong or missing key, or corrupted data)"
            ) from None
        try:
            return data.decode(_ENCODING, _ERRORS)
        except UnicodeDecodeError:
            raise DecryptError("token decrypted but does not hold text") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the current key, for ``hotline keys rotate``."""
        if not isinstance(token, str):
            raise TypeError(f"rotate expects str, got {type(token).__name__}")
        try:
            return self._multi.rotate(token).decode("ascii")
        except (InvalidToken, ValueError):
            raise DecryptError(
                "token cannot be rotated: no key in HOTLINE_DATA_KEY opens it"
            ) from None

    def needs_rotation(self, token: str) -> bool:
        """True if only an older key opens the token; DecryptError if no key does.

        Costs one authenticated decryption; rows that store ``fingerprint`` can be
        selected more cheaply by comparing it with ``Vault.fingerprint``.
        """
        if not isinstance(token, str):
            raise TypeError(f"needs_rotation expects str, got {type(token).__name__}")
        try:
            self._fernets[0].decrypt(token)
        except (InvalidToken, ValueError):
            self.decrypt(token)  # raises DecryptError if no older key opens it either
            return True
        return False

    def lookup_hash(self, normalised_number: str) -> str:
        """Hex HMAC-SHA256 of a normalised number under the current lookup key.

        Deterministic, so equal numbers give equal hashes and can be searched for; keyed,
        so the hash cannot be reversed by trying every phone number without the key.
        """
        return self._hash(self._lookup_keys[0], normalised_number)

    def lookup_hashes(self, normalised_number: str) -> list[str]:
        """One hash per key, current first, to find callers hashed before a rotation."""
        return [self._hash(key, normalised_number) for key in self._lookup_keys]

    @staticmethod
    def _hash(lookup_key: bytes, normalised_number: str) -> str:
        if not isinstance(normalised_number, str):
            raise TypeError(f"lookup_hash expects str, got {type(normalised_number).__name__}")
        if not normalised_number:
            # Every caller without a number would share one hash and be merged.
            raise ValueError("cannot hash an empty number")
        mac = hmac.HMAC(lookup_key, hashes.SHA256())
        mac.update(_encode(normalised_number))
        return mac.finalize().hex()
