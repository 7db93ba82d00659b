"""Caller numbers: old eleven-digit mobiles, foreign callers, withheld and odd caller IDs."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.phones import OLD_MOBILE_PREFIXES, CallerNumber, mask, parse_number

# The seven digits after an old prefix; two tails so a digit shift would show.
TAILS = ("3456789", "9876543")

OLD_SHAPES = (
    "0{p}{t}",  # national
    "+84{p}{t}",  # international
    "84{p}{t}",  # international without the plus
    "0084{p}{t}",  # international with the 00 exit code
    "+84 {p} {t}",  # with spaces
    "(0{p}) {t}",  # with parentheses
)


def _old_cases():
    for old, new in OLD_MOBILE_PREFIXES.items():
        for tail in TAILS:
            for shape in OLD_SHAPES:
                raw = shape.format(p=old[1:], t=tail)
                yield pytest.param(raw, "+84" + new[1:] + tail, id=raw)


# -- the old-prefix table --------------------------------------------------------------


def test_table_is_the_published_list():
    assert dict(OLD_MOBILE_PREFIXES) == {
        "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
        "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
        "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
        "0167": "037", "0168": "038", "0169": "039",
        "0186": "056", "0188": "058",
        "0199": "059",
    }  # fmt: skip


@pytest.mark.parametrize(("raw", "e164"), list(_old_cases()))
def test_old_eleven_digit_mobile_is_remapped(raw, e164):
    number = parse_number(raw)
    assert number.valid
    assert number.remapped
    assert number.e164 == e164
    assert number.e164[-7:] == re.sub(r"\D", "", raw)[-7:]
    assert number.country == "VN"
    assert not number.foreign
    assert number.sender == e164
    assert number.raw == raw


def test_library_alone_rejects_the_old_form():
    """Why the table exists: without it an old number would be flagged invalid."""
    assert not phonenumbers.is_valid_number(phonenumbers.parse("01203456789", "VN"))


@pytest.mark.parametrize(
    "raw",
    [
        "0123456789",  # ten digits starting 0123: not an old number, not remapped
        "0162345678",
        "012034567890",  # twelve digits
        "0120345678",  # ten digits
        "+84120345678",
        "01303456789",  # 0130 is not an old mobile prefix
        "01893456789",
    ],
)
def test_only_exact_old_prefix_and_length_is_remapped(raw):
    number = parse_number(raw)
    assert not number.remapped
    assert not number.valid
    assert number.sender == raw


# -- current Vietnamese numbers --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0969123456", "+84969123456"),  # Viettel 09x
        ("0981234567", "+84981234567"),  # Viettel 09x
        ("0868123456", "+84868123456"),  # Viettel 086
        ("0396123456", "+84396123456"),  # Viettel 03x
        ("0703456789", "+84703456789"),  # MobiFone 07x
        ("0903456789", "+84903456789"),  # MobiFone 090
        ("0812345678", "+84812345678"),  # VinaPhone 08x
        ("0843456789", "+84843456789"),  # VinaPhone 084: a new prefix, not an old one
        ("0912345678", "+84912345678"),  # VinaPhone 091
        ("0563456789", "+84563456789"),  # Vietnamobile
        ("0593456789", "+84593456789"),  # Gmobile
        ("+84912345678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084912345678", "+84912345678"),
    ],
)
def test_current_mobile_is_valid_and_not_remapped(raw, e164):
    number = parse_number(raw)
    assert number.valid
    assert not number.remapped
    assert number.e164 == e164
    assert number.country == "VN"
    assert not number.foreign
    assert not number.withheld
    assert number.client is None


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 678",
        "0912.345.678",
        "0912-345-678",
        "(091) 234 5678",
        "(+84) 912.345.678",
        "+84-91-234-5678",
        " 0912345678 ",
        "0912\u2013345\u2013678",  # en dashes
    ],
)
def test_separators_are_tolerated(raw):
    number = parse_number(raw)
    assert number.valid
    assert number.e164 == "+84912345678"
    assert number.raw == raw


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("024 3825 1234", "+842438251234"),  # Hanoi
        ("(024) 3825.1234", "+842438251234"),
        ("028 3822 1234", "+842838221234"),  # Ho Chi Minh City
    ],
)
def test_landline_is_valid(raw, e164):
    number = parse_number(raw)
    assert number.valid
    assert number.e164 == e164
    assert number.country == "VN"
    assert not number.remapped


# -- foreign numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164", "country"),
    [
        ("+855 12 345 678", "+85512345678", "KH"),  # Cambodia
        ("00855 12 345 678", "+85512345678", "KH"),
        ("+86 138 1234 5678", "+8613812345678", "CN"),  # China
        ("0086 138 1234 5678", "+8613812345678", "CN"),
        ("+856 20 2345 6789", "+8562023456789", "LA"),  # Laos
        ("+60 12-345 6789", "+60123456789", "MY"),  # Malaysia
    ],
)
def test_foreign_number_records_country(raw, e164, country):
    number = parse_number(raw)
    assert number.valid
    assert number.e164 == e164
    assert number.country == country
    assert number.foreign
    assert not number.remapped
    assert number.sender == e164


def test_non_geographic_number_has_no_country_but_is_foreign():
    number = parse_number("+882 3421234")
    assert number.valid
    assert number.country is None
    assert number.foreign


# -- withheld, service and garbage -----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "\t\n",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "restricted",
        "unknown",
        "private",
        "unavailable",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+8656696",
    ],
)
def test_withheld(raw):
    number = parse_number(raw)
    assert number.withheld
    assert not number.valid
    assert number.sender is None
    assert number.e164 is None
    assert number.raw == ("" if raw is None else raw)
    assert mask(number) == "(withheld)"


@pytest.mark.parametrize(
    "raw",
    [
        "111",  # the hotline itself: unknown to the library
        "113",
        "115",
        "1900 1234",  # premium-rate service line
        "19001234",
        "1800 1234",  # toll-free service line
        "+8419001234",
        "abc",
        "+",
        "++84912345678",
        "0000",
        "1" * 40,
        "9" * 40,
        "0912\x00345678",
        "\x07\x1b[31m",
        "\ud800",
        "0912\ud800345678",
        "0912abc678",
        "\uff10\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width digits
        "sip:0912345678@example.com",
    ],
)
def test_invalid_is_kept_as_received(raw):
    number = parse_number(raw)
    assert not number.valid
    assert not number.withheld
    assert not number.foreign
    assert number.e164 is None
    assert number.country is None
    assert number.raw == raw
    assert number.sender == raw
    assert mask(number) == "(invalid)"


@pytest.mark.parametrize("value", [912345678, 3.5, b"0912345678", ["0912345678"], object()])
def test_non_text_is_invalid(value):
    number = parse_number(value)
    assert not number.valid
    assert not number.withheld
    assert number.raw == str(value)


def test_twilio_client_identity():
    number = parse_number("client:operator-7")
    assert number.client == "operator-7"
    assert not number.valid
    assert not number.withheld
    assert number.e164 is None
    assert number.sender == "client:operator-7"
    assert mask(number) == "(client)"


# -- masking ---------------------------------------------------------------------------

MASK_SAMPLES = [
    "0912345678",
    "01203456789",
    "+84 169 876 5432",
    "024 3825 1234",
    "+855 12 345 678",
    "+86 138 1234 5678",
    "+856 20 2345 6789",
    "+60 12-345 6789",
    "+882 3421234",
]


@pytest.mark.parametrize("raw", MASK_SAMPLES)
def test_mask_shows_only_the_last_three_digits(raw):
    number = parse_number(raw)
    parsed = phonenumbers.parse(number.e164)
    country_code = str(parsed.country_code)
    national = str(parsed.national_number)
    shown = mask(number)
    assert shown == f"+{country_code} *** *** {national[-3:]}"
    assert re.sub(r"\D", "", shown) == country_code + national[-3:]
    assert national not in shown
    assert number.e164 not in shown


def test_mask_example():
    assert mask(parse_number("0912 345 678")) == "+84 *** *** 678"


def test_repr_does_not_hold_the_number():
    """Logging the object by accident must not write the caller's number."""
    number = parse_number("0912345678")
    assert "345678" not in repr(number)
    assert "345678" not in repr(parse_number("0912abc678x345678"))


def test_mask_of_an_inconsistent_object_does_not_raise():
    assert mask(CallerNumber(raw="x", e164="not a number", valid=True)) == "(invalid)"


# -- properties ------------------------------------------------------------------------

any_text = st.text(alphabet=st.characters(exclude_categories=()))  # surrogates included
phone_like = st.text(alphabet="+0123456789 .-()", max_size=24)


@given(st.one_of(any_text, phone_like))
def test_parse_never_raises_and_keeps_raw(raw):
    number = parse_number(raw)
    assert number.raw == raw
    assert isinstance(mask(number), str)
    if number.valid:
        assert number.e164 is not None
        assert number.sender == number.e164
        assert not number.withheld
    else:
        assert number.e164 is None
        assert number.country is None
        assert not number.foreign
        assert number.sender == (None if number.withheld else raw)
    if number.remapped:
        assert number.country in (None, "VN")


@given(st.from_regex(r"\A\+?[0-9]{6,15}\Z"))
def test_mask_of_any_valid_number_hides_all_but_three(raw):
    number = parse_number(raw)
    if number.valid:
        parsed = phonenumbers.parse(number.e164)
        digits = re.sub(r"\D", "", mask(number))
        assert digits == str(parsed.country_code) + str(parsed.national_number)[-3:]
    else:
        assert mask(number) in ("(invalid)", "(withheld)")
