"""Alert templates: only the allowed fields, every variant present, SMS in two segments."""

import itertools
import string
import tomllib
import unicodedata
from importlib import resources

import pytest

from routing import templates
from routing.templates import (
    CHANNELS,
    FIELDS,
    KINDS,
    LANGUAGES,
    TemplateError,
    fold_to_gsm,
    is_gsm7,
    parse,
    render,
    sms_segments,
)

# The longest realistic values: a five-digit daily sequence, a 40-character link.
LONGEST = {"reference": "111-261123-10000", "link": "https://111.example.vn/a/AbCdEfGhIjKlMnO",
           "office": "Phòng Cảnh sát hình sự, Công an tỉnh Lâm Đồng", "minutes": 10080}


def shipped_data() -> dict:
    text = (resources.files("routing") / "data" / "templates.toml").read_text("utf-8")
    return tomllib.loads(text)


def fields(**overrides) -> dict:
    return {**LONGEST, "urgency": "critical", "child": True, "function": "police",
            **overrides}


def test_every_kind_language_and_channel_is_shipped():
    shipped = templates.packaged()
    for kind, language, channel in itertools.product(KINDS, LANGUAGES, CHANNELS):
        assert shipped.render(kind, channel, fields(), language=language).strip()


@pytest.mark.parametrize(("kind", "language"), list(itertools.product(KINDS, LANGUAGES)))
def test_every_sms_fits_two_ucs2_segments_with_the_longest_values(kind, language):
    for urgency, function, child in itertools.product(
            ("critical", "high", "medium", "low"),
            ("police", "consular", "border", "victim_support"), (True, False)):
        text = render(kind, "sms", fields(urgency=urgency, function=function, child=child),
                      language=language)
        assert sms_segments(text) <= 2, text


@pytest.mark.parametrize("kind", KINDS)
def test_a_folded_sms_is_gsm7_and_fits_one_segment(kind):
    for urgency, function in itertools.product(("critical", "medium"),
                                               ("victim_support", "border")):
        text = render(kind, "sms", fields(urgency=urgency, function=function), fold=True)
        assert is_gsm7(text)
        assert sms_segments(text) == 1, text


def test_urgency_function_and_child_read_in_vietnamese():
    words = {"critical": "khẩn cấp", "high": "cao", "medium": "trung bình", "low": "thấp"}
    for urgency, word in words.items():
        text = render("alert", "sms", fields(urgency=urgency, function="victim_support",
                                             child=False))
        assert f"mức {word}," in text
        assert "Hỗ trợ nạn nhân" in text
        assert "trẻ em: không" in text
    assert "urgency high" in render("alert", "sms", fields(urgency="high"), language="en")


def test_the_alert_sms_carries_reference_urgency_child_and_link():
    text = render("alert", "sms", fields())
    assert text == ("[111] Tin báo 111-261123-10000: mức khẩn cấp, trẻ em: có, Công an. "
                    "Xác nhận: https://111.example.vn/a/AbCdEfGhIjKlMnO")


@pytest.mark.parametrize("kind", KINDS)
def test_every_call_asks_to_press_1_and_reads_the_reference_digit_by_digit(kind):
    vi = render(kind, "call", fields())
    en = render(kind, "call", fields(), language="en")
    assert vi.rstrip(".").endswith("bấm phím 1 để xác nhận")
    assert en.rstrip(".").endswith("press 1 to acknowledge")
    assert "1 1 1, 2 6 1 1 2 3, 1 0 0 0 0" in vi
    assert "111-261123-10000" not in vi


@pytest.mark.parametrize("kind", KINDS)
def test_vietnamese_email_has_an_english_paragraph(kind):
    body = render(kind, "email_body", fields())
    assert "\n\nEnglish: " in body
    assert LONGEST["link"] in body


@pytest.mark.parametrize("placeholder", [
    "{story}", "{caller_number}", "{text}", "{transcript}", "{link.__class__}",
    "{reference[0]}", "{0}", "{}", "{reference!r}", "{minutes:>9}",
])
def test_a_template_naming_anything_but_the_allowed_fields_fails_to_load(placeholder):
    data = shipped_data()
    data["templates"]["alert"]["vi"]["sms"] = f"[111] {{reference}} {placeholder}"
    with pytest.raises(TemplateError, match=r"template alert\.vi\.sms: .*placeholder"):
        parse(data)


def test_every_shipped_placeholder_is_an_allowed_field():
    shipped = templates.packaged()
    for kind, language, channel in itertools.product(KINDS, LANGUAGES, CHANNELS):
        parsed = string.Formatter().parse(shipped.texts[kind][language][channel])
        assert {name for _text, name, _spec, _conv in parsed if name} <= set(FIELDS)


@pytest.mark.parametrize("field", ["story", "caller_number", "body", "transcript"])
def test_render_refuses_any_field_outside_the_allowed_ones(field):
    with pytest.raises(ValueError, match=f"refused field.*{field}"):
        render("alert", "email_body", {**fields(), field: "Em bị bán sang Trung Quốc"})


def test_render_names_a_missing_field():
    data = fields()
    del data["link"]
    with pytest.raises(ValueError, match=r"template alert\.vi\.sms: field link is needed"):
        render("alert", "sms", data)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["templates"]["alert"].pop("en"), r"template alert\.en: missing"),
    (lambda d: d["templates"]["escalation"]["vi"].pop("call"),
     r"template escalation\.vi: missing call"),
    (lambda d: d["templates"]["alert"]["vi"].update(whatsapp="x"),
     r"template alert\.vi: unknown key\(s\) whatsapp"),
    (lambda d: d["templates"].update(newsletter={}), r"templates: unknown key\(s\) newsletter"),
    (lambda d: d["templates"].pop("test_alert"), r"templates: missing test_alert"),
    (lambda d: d["templates"]["alert"].update(fr={}), r"template alert: unknown key\(s\) fr"),
    (lambda d: d["templates"]["alert"]["vi"].update(sms=" "),
     r"template alert\.vi\.sms: must be non-empty text"),
    (lambda d: d["templates"]["alert"]["vi"].update(call="Xin cảm ơn {reference}."),
     r"template alert\.vi\.call: the call must ask to 'bấm phím 1'"),
    (lambda d: d["templates"]["alert"]["vi"].update(sms="{reference"),
     r"template alert\.vi\.sms: .*brace"),
    (lambda d: d["words"]["vi"]["urgency"].pop("low"), r"words\.vi\.urgency: missing low"),
    (lambda d: d["words"].pop("en"), r"words: missing en"),
    (lambda d: d.update(schema=2), r"templates: schema must be 1"),
])
def test_a_broken_template_file_fails_with_a_clear_error(change, message):
    data = shipped_data()
    change(data)
    with pytest.raises(TemplateError, match=message):
        parse(data)


def test_an_unknown_kind_or_channel_is_a_clear_error_when_rendering():
    with pytest.raises(TemplateError, match=r"template newsletter\.vi\.sms: no such template"):
        render("newsletter", "sms", fields())
    with pytest.raises(TemplateError, match=r"template alert\.vi\.fax: no such template"):
        render("alert", "fax", fields())


def test_decomposed_text_is_stored_composed_so_it_counts_once():
    data = shipped_data()
    data["templates"]["alert"]["vi"]["sms"] = unicodedata.normalize("NFD", "Trẻ em {link}")
    text = parse(data).render("alert", "sms", fields())
    assert text == "Trẻ em " + LONGEST["link"]


def test_fold_removes_every_vietnamese_diacritic():
    letters = ("aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợ"
               "uùúủũụưừứửữựyỳýỷỹỵđ")
    folded = fold_to_gsm(letters + letters.upper())
    assert folded == ("a" * 18 + "e" * 12 + "i" * 6 + "o" * 18 + "u" * 12 + "y" * 6 + "d"
                      + "A" * 18 + "E" * 12 + "I" * 6 + "O" * 18 + "U" * 12 + "Y" * 6 + "D")
    assert fold_to_gsm("Đường dây nóng “111” – trẻ em…") == 'Duong day nong "111" - tre em...'
    assert fold_to_gsm("电话 😀") == "?? ?"


@pytest.mark.parametrize(("text", "segments"), [
    ("", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("€" * 80, 1),  # extension characters cost two septets
    ("€" * 81, 2),
    ("a" * 152 + "€" + "a" * 152, 3),  # an escape pair is never split across parts
    ("ă" * 70, 1),
    ("ă" * 71, 2),
    ("ă" * 134, 2),
    ("ă" * 135, 3),
    ("😀" * 35, 1),  # two UTF-16 code units each
    ("😀" * 36, 2),
    ("ă" * 66 + "😀" + "ă" * 66, 3),  # a surrogate pair is never split across parts
    ("é" * 160, 1),  # é is in GSM-7's basic set
    ("`" * 10, 1),  # not GSM-7: UCS-2
    ("`" * 71, 2),
])
def test_sms_segments_counts_gsm7_and_ucs2(text, segments):
    assert sms_segments(text) == segments
