"""Caller numbers: parse what Twilio sends as ``From`` into something triage and logs can use.

Parsing uses ``phonenumbers`` with region VN. Three things it does not do for us:

* Vietnam renumbered its eleven-digit mobiles to ten digits in 2018. Callers and old
  records still use the old form, which the library parses but calls invalid, so the old
  prefix is mapped to the new one first (the last seven digits stay).
* Short codes and service numbers (111 itself, 113, 115, 1900/1800 lines) are not people;
  they are kept as received and flagged invalid.
* A withheld caller arrives as a marker ("anonymous") or a Twilio placeholder number.

Nothing here raises on bad input: a tip must never be lost because its caller ID is odd.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

REGION = "VN"
_COUNTRY_CODE = "84"

# Pre-2018 eleven-digit mobile prefixes (national form) -> their ten-digit replacement.
# The seven digits after the prefix are unchanged by the renumbering.
OLD_MOBILE_PREFIXES: Mapping[str, str] = MappingProxyType(
    {
        # MobiFone
        "0120": "070",
        "0121": "079",
        "0122": "077",
        "0126": "076",
        "0128": "078",
        # VinaPhone
        "0123": "083",
        "0124": "084",
        "0125": "085",
        "0127": "081",
        "0129": "082",
        # Viettel
        "0162": "032",
        "0163": "033",
        "0164": "034",
        "0165": "035",
        "0166": "036",
        "0167": "037",
        "0168": "038",
        "0169": "039",
        # Vietnamobile
        "0186": "056",
        "0188": "058",
        # Gmobile
        "0199": "059",
    }
)

# What Twilio puts in ``From`` when the caller withheld their number: words, or numbers
# that spell them on a keypad (ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN).
WITHHELD_MARKERS = frozenset(
    {"anonymous", "restricted", "unknown", "private", "unavailable", "blocked", "withheld"}
)
WITHHELD_NUMBERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696"})

# Numbers the library calls valid but that belong to a service, not to a caller.
_SERVICE_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
    }
)

_CLIENT_PREFIX = "client:"
# Separators people and systems put inside numbers: whitespace, dots, dashes, parentheses.
_SEPARATORS_RE = re.compile(r"[\s.\-()\u2010-\u2015]")
_DIALLABLE_RE = re.compile(r"\+?[0-9]+")
_NON_GEOGRAPHIC = "001"  # the library's region for +800, +882 and the like: not a country


@dataclass(frozen=True, slots=True)
class CallerNumber:
    """A caller number as received and as understood.

    ``raw`` and ``e164`` are left out of ``repr`` so that logging the object does not
    write a full caller number to the logs; use :func:`mask` for display.
    """

    raw: str = field(repr=False)  # exactly as received; '' for None
    e164: str | None = field(default=None, repr=False)  # set only when valid
    country: str | None = None  # ISO 3166 alpha-2 of a valid number
    valid: bool = False
    withheld: bool = False  # the caller gave no number
    remapped: bool = False  # an old eleven-digit mobile mapped to its ten-digit form
    client: str | None = None  # Twilio Client identity, for "client:operator-7"

    @property
    def foreign(self) -> bool:
        """A valid number from outside Vietnam: the caller may be abroad (or trafficked)."""
        return self.valid and self.country != REGION

    @property
    def sender(self) -> str | None:
        """What triage is given: the E.164 number, else what we received, else nothing."""
        if self.valid:
            return self.e164
        if self.withheld:
            return None
        return self.raw


def parse_number(raw: object) -> CallerNumber:
    """Parse a caller number; never raises, whatever arrives."""
    if raw is None:
        return CallerNumber(raw="", withheld=True)
    if not isinstance(raw, str):
        return CallerNumber(raw=_as_text(raw))

    stripped = raw.strip()
    if not stripped or stripped.lower() in WITHHELD_MARKERS:
        return CallerNumber(raw=raw, withheld=True)
    if stripped.lower().startswith(_CLIENT_PREFIX):
        identity = stripped[len(_CLIENT_PREFIX):].strip()
        return CallerNumber(raw=raw, client=identity or None)

    digits = _SEPARATORS_RE.sub("", stripped)
    if digits in WITHHELD_NUMBERS:
        return CallerNumber(raw=raw, withheld=True)
    if not _DIALLABLE_RE.fullmatch(digits):
        return CallerNumber(raw=raw)

    new_national = _remap_old_mobile(digits)
    remapped = new_national is not None
    if remapped:
        digits = "+" + _COUNTRY_CODE + new_national

    try:
        number = phonenumbers.parse(digits, REGION)
    except NumberParseException:
        return CallerNumber(raw=raw, remapped=remapped)
    if not phonenumbers.is_valid_number(number):
        return CallerNumber(raw=raw, remapped=remapped)
    if phonenumbers.number_type(number) in _SERVICE_TYPES:
        return CallerNumber(raw=raw, remapped=remapped)

    region = phonenumbers.region_code_for_number(number)
    return CallerNumber(
        raw=raw,
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        country=region if region and region != _NON_GEOGRAPHIC else None,
        valid=True,
        remapped=remapped,
    )


def mask(number: CallerNumber) -> str:
    """A form safe for logs and the console: country code and the last three digits only."""
    if number.withheld:
        return "(withheld)"
    if number.client is not None:
        return "(client)"
    if not number.valid or not number.e164:
        return "(invalid)"
    try:
        parsed = phonenumbers.parse(number.e164)
    except NumberParseException:
        return "(invalid)"
    return f"+{parsed.country_code} *** *** {str(parsed.national_number)[-3:]}"


def _remap_old_mobile(digits: str) -> str | None:
    """The new national significant number for an old eleven-digit VN mobile, else None.

    ``digits`` is separator-free. Only the exact old prefixes are mapped, and only when the
    national number has the old length (0 + 10 digits), so a current number is never touched.
    """
    national = _vn_national(digits)
    if national is None or len(national) != 10:
        return None
    new_prefix = OLD_MOBILE_PREFIXES.get("0" + national[:3])
    if new_prefix is None:
        return None
    return new_prefix[1:] + national[3:]


def _vn_national(digits: str) -> str | None:
    """The national significant number when ``digits`` is written as a Vietnamese number."""
    if digits.startswith("+" + _COUNTRY_CODE):
        national = digits[3:]
    elif digits.startswith("00" + _COUNTRY_CODE):
        national = digits[4:]
    elif digits.startswith(_COUNTRY_CODE):
        national = digits[2:]
    elif digits.startswith("0") and not digits.startswith("00"):
        return digits[1:]
    else:
        return None
    # "+84 0120..." : a trunk 0 kept after the country code, as the library also accepts.
    if len(national) == 11 and national.startswith("0"):
        national = national[1:]
    return national


def _as_text(value: object) -> str:
    """``str(value)`` for the record, without letting a broken ``__str__`` escape."""
    try:
        return str(value)
    except Exception:
        return ""
