"""Encryption at rest: round trips, key rotation, key parsing, lookup hashes, no leaks."""

from __future__ import annotations

import base64
import hashlib
import pickle

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, hmac
from hypothesis import given
from hypothesis import strategies as st

from hotline.crypto import (
    DEVELOPMENT_DATA_KEY,
    DataKeyError,
    DecryptError,
    Vault,
    generate_key,
)

# Fixed keys keep the tests deterministic (Fernet IVs are still random, which is the point).
OLD_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode("ascii")
NEW_KEY = base64.urlsafe_b64encode(bytes(range(32, 64))).decode("ascii")
OTHER_KEY = base64.urlsafe_b64encode(bytes(range(64, 96))).decode("ascii")

VIETNAMESE = "Em gái tôi 15 tuổi bị lừa sang Campuchia, số của chị ấy là 0912 345 678. Cứu với!"
NUMBER = "+84912345678"


@pytest.fixture
def vault() -> Vault:
    return Vault(NEW_KEY)


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        VIETNAMESE,
        "Đồng Tháp, Quảng Ninh, Hà Giang — ỗ ự ẫ ặ ữ",
        "em sợ lắm 😢🆘👧🏽",
        "x" * 100_000,
        ("Bé gái bị nhốt 😢 " * 6_000)[:100_000],
        "",
        "\x00\n\t",
    ],
    ids=["vietnamese", "diacritics", "emoji", "100k-ascii", "100k-mixed", "empty", "control"],
)
def test_round_trip(vault: Vault, text: str) -> None:
    token = vault.encrypt(text)
    assert isinstance(token, str)
    token.encode("ascii")  # stored as plain ASCII
    assert vault.decrypt(token) == text


def test_none_stays_none(vault: Vault) -> None:
    assert vault.encrypt(None) is None
    assert vault.decrypt(None) is None


def test_empty_text_is_encrypted(vault: Vault) -> None:
    token = vault.encrypt("")
    assert token
    assert vault.decrypt(token) == ""


def test_ciphertext_does_not_contain_plaintext(vault: Vault) -> None:
    token = vault.encrypt(VIETNAMESE)
    assert token != VIETNAMESE
    assert "0912" not in token
    assert "Campuchia" not in token
    assert VIETNAMESE.encode("utf-8") not in base64.urlsafe_b64decode(token)


def test_two_encryptions_differ_but_both_decrypt(vault: Vault) -> None:
    first, second = vault.encrypt(VIETNAMESE), vault.encrypt(VIETNAMESE)
    assert first != second
    assert vault.decrypt(first) == vault.decrypt(second) == VIETNAMESE


def test_lone_surrogates_round_trip(vault: Vault) -> None:
    """Strict UTF-8 cannot encode these; surrogatepass keeps them exactly."""
    for text in ["\ud800", "a\udfffb", "\ud83d\ude00", "😀\udc80"]:
        assert vault.decrypt(vault.encrypt(text)) == text
    # A surrogate pair written as two code points stays two code points, not one emoji.
    assert vault.decrypt(vault.encrypt("\ud83d\ude00")) != "😀"


# Every code point, with lone surrogates drawn often enough to matter.
# (A list joined, because st.text merges a one_of alphabet and then rarely draws surrogates.)
ANY_TEXT = st.lists(
    st.one_of(
        st.characters(exclude_categories=()),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    )
).map("".join)


@given(ANY_TEXT)
def test_round_trip_property(text: str) -> None:
    vault = Vault(f"{NEW_KEY},{OLD_KEY}")
    assert vault.decrypt(vault.encrypt(text)) == text


def test_rejects_non_text(vault: Vault) -> None:
    with pytest.raises(TypeError):
        vault.encrypt(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vault.decrypt(b"bytes")  # type: ignore[arg-type]


# --- rotation ----------------------------------------------------------------------------


def test_old_key_still_decrypts_during_rotation() -> None:
    token = Vault(OLD_KEY).encrypt(VIETNAMESE)
    assert Vault(f"{NEW_KEY},{OLD_KEY}").decrypt(token) == VIETNAMESE
    assert Vault(f"{NEW_KEY} {OLD_KEY}").decrypt(token) == VIETNAMESE
    assert Vault(f"  {NEW_KEY},\n\t{OLD_KEY},\n").decrypt(token) == VIETNAMESE
    assert Vault.from_keys([NEW_KEY, OLD_KEY]).decrypt(token) == VIETNAMESE


def test_new_data_is_encrypted_with_first_key() -> None:
    token = Vault(f"{NEW_KEY},{OLD_KEY}").encrypt(VIETNAMESE)
    assert Vault(NEW_KEY).decrypt(token) == VIETNAMESE
    with pytest.raises(DecryptError):
        Vault(OLD_KEY).decrypt(token)


def test_rotate_gives_token_the_new_key_alone_opens() -> None:
    old_token = Vault(OLD_KEY).encrypt(VIETNAMESE)
    rotating = Vault(f"{NEW_KEY},{OLD_KEY}")
    new_token = rotating.rotate(old_token)
    assert new_token != old_token
    assert Vault(NEW_KEY).decrypt(new_token) == VIETNAMESE
    with pytest.raises(DecryptError):
        Vault(OLD_KEY).decrypt(new_token)


def test_needs_rotation() -> None:
    rotating = Vault(f"{NEW_KEY},{OLD_KEY}")
    old_token = Vault(OLD_KEY).encrypt("x")
    assert rotating.needs_rotation(old_token) is True
    assert rotating.needs_rotation(rotating.rotate(old_token)) is False
    assert rotating.needs_rotation(rotating.encrypt("x")) is False
    with pytest.raises(DecryptError):
        rotating.needs_rotation(Vault(OTHER_KEY).encrypt("x"))


def test_rotate_unknown_token_raises_without_token() -> None:
    token = Vault(OTHER_KEY).encrypt(VIETNAMESE)
    with pytest.raises(DecryptError) as caught:
        Vault(f"{NEW_KEY},{OLD_KEY}").rotate(token)
    assert token not in str(caught.value)


# --- decryption failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        Vault(OTHER_KEY).encrypt(VIETNAMESE),
        "not-a-token",
        "",
        "gAAAAA" + "A" * 80,
        "số điện thoại",  # non-ASCII: Fernet raises ValueError rather than InvalidToken
    ],
    ids=["unrelated-key", "garbage", "empty", "fake-prefix", "non-ascii"],
)
def test_undecryptable_token_raises_decrypt_error(vault: Vault, token: str) -> None:
    with pytest.raises(DecryptError) as caught:
        vault.decrypt(token)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert token not in message or token == ""
    assert VIETNAMESE not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_tampered_token_raises(vault: Vault) -> None:
    raw = bytearray(base64.urlsafe_b64decode(vault.encrypt(VIETNAMESE)))
    raw[40] ^= 1
    with pytest.raises(DecryptError):
        vault.decrypt(base64.urlsafe_b64encode(bytes(raw)).decode("ascii"))


def test_non_text_payload_raises_decrypt_error(vault: Vault) -> None:
    token = Fernet(NEW_KEY.encode()).encrypt(b"\xff\xfe").decode("ascii")
    with pytest.raises(DecryptError):
        vault.decrypt(token)


# --- key parsing -------------------------------------------------------------------------

WRONG_LENGTH = base64.urlsafe_b64encode(b"sixteen byte key").decode("ascii")
BAD_ALPHABET = NEW_KEY[:10] + "+/" + NEW_KEY[12:]  # standard, not url-safe, base64


@pytest.mark.parametrize(
    ("value", "position"),
    [
        ("not-a-key", "key 1 of 1"),
        (WRONG_LENGTH, "key 1 of 1"),
        (BAD_ALPHABET, "key 1 of 1"),
        (NEW_KEY[:-1], "key 1 of 1"),
        (NEW_KEY + "A", "key 1 of 1"),
        (f"{NEW_KEY},not-a-key,{OLD_KEY}", "key 2 of 3"),
        (f"{NEW_KEY} {OLD_KEY} {WRONG_LENGTH}", "key 3 of 3"),
        (f"not-a-key,{NEW_KEY}", "key 1 of 2"),
    ],
)
def test_malformed_key_names_position_not_text(value: str, position: str) -> None:
    with pytest.raises(DataKeyError) as caught:
        Vault(value)
    message = str(caught.value)
    assert position in message
    assert "HOTLINE_DATA_KEY" in message
    for part in value.replace(",", " ").split():
        assert part not in message


@pytest.mark.parametrize("value", ["", "   ", ",", " , \n", None])
def test_empty_value_raises(value: str | None) -> None:
    with pytest.raises(DataKeyError, match="empty"):
        Vault(value)


def test_from_keys_checks_each_key() -> None:
    with pytest.raises(DataKeyError, match="empty"):
        Vault.from_keys([])
    with pytest.raises(DataKeyError, match="key 2 of 2") as caught:
        Vault.from_keys([NEW_KEY, "not-a-key"])
    assert "not-a-key" not in str(caught.value)
    with pytest.raises(DataKeyError, match="key 1 of 1"):
        Vault.from_keys([f"{NEW_KEY},{OLD_KEY}"])  # one item is exactly one key
    with pytest.raises(DataKeyError, match="key 2 of 2 is empty"):
        Vault.from_keys([NEW_KEY, "  "])


def test_data_key_error_is_value_error() -> None:
    assert issubclass(DataKeyError, ValueError)
    assert issubclass(DecryptError, ValueError)


def test_duplicate_keys_are_dropped() -> None:
    vault = Vault(f"{NEW_KEY},{OLD_KEY},{NEW_KEY}")
    assert vault.key_count == 2
    assert len(vault.lookup_hashes(NUMBER)) == 2


def test_generate_key() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert isinstance(first, str)
    vault = Vault(first)
    assert vault.decrypt(vault.encrypt("x")) == "x"
    assert len(base64.urlsafe_b64decode(first)) == 32


def test_development_key() -> None:
    assert base64.urlsafe_b64decode(DEVELOPMENT_DATA_KEY) == b"hotline111-DEVELOPMENT-ONLY-key!"
    vault = Vault(DEVELOPMENT_DATA_KEY)
    assert vault.decrypt(vault.encrypt(VIETNAMESE)) == VIETNAMESE
    assert vault.uses_development_key
    assert Vault(f"{NEW_KEY},{DEVELOPMENT_DATA_KEY}").uses_development_key
    assert not Vault(f"{NEW_KEY},{OLD_KEY}").uses_development_key


# --- lookup hashes -----------------------------------------------------------------------


def test_lookup_hash_is_deterministic_hex(vault: Vault) -> None:
    digest = vault.lookup_hash(NUMBER)
    assert digest == vault.lookup_hash(NUMBER) == Vault(NEW_KEY).lookup_hash(NUMBER)
    assert len(digest) == 64
    int(digest, 16)
    assert NUMBER.lstrip("+") not in digest


def test_lookup_hash_differs_between_numbers(vault: Vault) -> None:
    assert vault.lookup_hash("+84912345678") != vault.lookup_hash("+84912345679")


def test_lookup_hash_follows_current_key() -> None:
    assert Vault(NEW_KEY).lookup_hash(NUMBER) != Vault(OLD_KEY).lookup_hash(NUMBER)
    assert Vault(f"{NEW_KEY},{OLD_KEY}").lookup_hash(NUMBER) == Vault(NEW_KEY).lookup_hash(NUMBER)


def test_lookup_key_is_not_the_data_key(vault: Vault) -> None:
    """The hash must come from a derived key, not from the data key or its halves."""
    raw = base64.urlsafe_b64decode(NEW_KEY)
    digest = vault.lookup_hash(NUMBER)
    for candidate in (raw, raw[:16], raw[16:], NEW_KEY.encode("ascii")):
        mac = hmac.HMAC(candidate, hashes.SHA256())
        mac.update(NUMBER.encode("utf-8"))
        assert mac.finalize().hex() != digest
    assert hashlib.sha256(NUMBER.encode("utf-8")).hexdigest() != digest


def test_lookup_hashes_find_callers_hashed_under_old_key() -> None:
    rotating = Vault(f"{NEW_KEY},{OLD_KEY}")
    digests = rotating.lookup_hashes(NUMBER)
    assert digests == [Vault(NEW_KEY).lookup_hash(NUMBER), Vault(OLD_KEY).lookup_hash(NUMBER)]
    assert Vault(OLD_KEY).lookup_hash(NUMBER) in digests


def test_lookup_hash_rejects_empty_number(vault: Vault) -> None:
    with pytest.raises(ValueError):
        vault.lookup_hash("")


# --- fingerprint and no leaks ------------------------------------------------------------


def test_fingerprint_identifies_current_key_without_revealing_it() -> None:
    fingerprint = Vault(NEW_KEY).fingerprint
    assert len(fingerprint) == 8
    int(fingerprint, 16)
    assert fingerprint == Vault(f"{NEW_KEY},{OLD_KEY}").fingerprint
    assert fingerprint != Vault(OLD_KEY).fingerprint
    raw = base64.urlsafe_b64decode(NEW_KEY)
    assert fingerprint not in NEW_KEY
    assert fingerprint not in raw.hex()
    assert not hashlib.sha256(raw).hexdigest().startswith(fingerprint)
    assert fingerprint not in Vault(NEW_KEY).lookup_hash(NUMBER)


def test_repr_does_not_leak_keys() -> None:
    vault = Vault(f"{NEW_KEY},{OLD_KEY}")
    for text in (repr(vault), str(vault)):
        for key in (NEW_KEY, OLD_KEY):
            assert key not in text
            assert key[:12] not in text
            assert base64.urlsafe_b64decode(key).hex()[:12] not in text
    assert vault.fingerprint in repr(vault)


def test_vault_cannot_be_pickled(vault: Vault) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(vault)
