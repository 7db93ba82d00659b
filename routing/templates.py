"""Alert texts: one template per kind, language and channel, in ``routing/data/templates.toml``.

An alert carries a reference, an urgency, the child flag, the function, the office's
name, a link and the minutes since dispatch, and nothing else: never the victim's story
or the caller's number (DESIGN.md, non-negotiables). Templates are checked when they are
loaded, so one that names any other field, or leaves a language or channel out, is refused
before it can send anything. The live, edited copy (in the database) goes through the same
:func:`parse`.

SMS length matters: a Vietnamese text is UCS-2 (70 characters in one segment, 67 in each
once split), and every segment is paid for and may be filtered by carriers.
``fold=True`` renders Vietnamese without diacritics, which is GSM-7 (160 per segment), for
deployments whose setting asks for it.
"""

from __future__ import annotations

import string
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from .models import ALERT_KINDS, FUNCTIONS, URGENCIES

KINDS = ALERT_KINDS
CHANNELS = ("sms", "email_subject", "email_body", "call")
LANGUAGES = ("vi", "en")
# Everything a template may name. Adding a field here is a decision about what leaves
# the hotline: keep the victim's story and the caller's number out, always.
FIELDS = ("reference", "urgency", "child", "function", "office", "link", "minutes")
# What an alert call must ask for: the call's <Gather> acknowledges on the key 1.
CALL_KEY_PHRASES = MappingProxyType({"vi": "bấm phím 1", "en": "press 1"})
_WORD_GROUPS = MappingProxyType({"urgency": URGENCIES, "function": FUNCTIONS,
                                 "child": ("yes", "no"), "reply": ("prompt",),
                                 "bundle": ("also",)})

SEGMENT_SEPTETS, PART_SEPTETS = 160, 153
SEGMENT_UNITS, PART_UNITS = 70, 67
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each costs two septets (escape + char)
# Letters that Unicode decomposition leaves alone, and punctuation that GSM-7 lacks.
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D", "–": "-", "—": "-", "‘": "'", "’": "'",
                             "“": '"', "”": '"', "…": "...", "`": "'", "\t": " ",
                             "\u00a0": " "})


class TemplateError(ValueError):
    """A template set that cannot be used; the message names the template and the fault."""


@dataclass(frozen=True)
class Templates:
    """Validated templates: ``texts[kind][language][channel]`` and ``words[language]``."""

    texts: Mapping[str, Mapping[str, Mapping[str, str]]]
    words: Mapping[str, Mapping[str, Mapping[str, str]]]

    def render(self, kind: str, channel: str, fields: Mapping[str, object],
               language: str = "vi", fold: bool = False) -> str:
        """The text of one alert; ``fold`` strips diacritics into GSM-7."""
        where = f"template {kind}.{language}.{channel}"
        try:
            template = self.texts[kind][language][channel]
        except KeyError:
            raise TemplateError(f"{where}: no such template") from None
        values = _values(where, template, fields, self.words[language], channel)
        text = template.format_map(values)
        return fold_to_gsm(text) if fold else text


def packaged() -> Templates:
    """The templates shipped with the package, validated (read once per process)."""
    return _packaged()


@cache
def _packaged() -> Templates:
    text = (resources.files("routing") / "data" / "templates.toml").read_text("utf-8")
    return parse(tomllib.loads(text))


def render(kind: str, channel: str, fields: Mapping[str, object], language: str = "vi",
           fold: bool = False) -> str:
    """Render with the packaged templates."""
    return packaged().render(kind, channel, fields, language=language, fold=fold)


def parse(data: Mapping) -> Templates:
    """Templates from the TOML's data, or a TemplateError naming what is wrong."""
    _only("templates", data, {"schema", "words", "templates"})
    if data.get("schema", 1) != 1:
        raise TemplateError("templates: schema must be 1")
    words = _table("words", data.get("words"))
    texts = _table("templates", data.get("templates"))
    _exactly("words", words, LANGUAGES)
    _exactly("templates", texts, KINDS)
    return Templates(
        texts=MappingProxyType({kind: _kind(kind, texts[kind]) for kind in KINDS}),
        words=MappingProxyType({lang: _words(lang, words[lang]) for lang in LANGUAGES}),
    )


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` costs: GSM-7 when every character is in its basic or
    extension table, else UCS-2 counted in UTF-16 code units."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        sizes = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, part = SEGMENT_SEPTETS, PART_SEPTETS
    else:
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, part = SEGMENT_UNITS, PART_UNITS
    if sum(sizes) <= single:
        return 1
    return _parts(sizes, part)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def fold_to_gsm(text: str) -> str:
    """Vietnamese without diacritics ("Trẻ em" -> "Tre em"); what GSM-7 still cannot
    carry becomes "?", so the result always costs GSM-7 segments."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_EXTRA))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if c in GSM7_BASIC or c in GSM7_EXTENSION else "?" for c in bare)


def _parts(sizes: list[int], part: int) -> int:
    """Parts of a split message. A two-septet character or a surrogate pair is never cut
    across two parts (3GPP TS 23.038), so a part can hold one unit less than ``part``."""
    parts, used = 1, 0
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


def _values(where: str, template: str, fields: Mapping[str, object],
            words: Mapping[str, Mapping[str, str]], channel: str) -> dict[str, str]:
    """The placeholders' texts; an unknown field is refused, whatever the template uses."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(f"{where}: an alert carries only {', '.join(FIELDS)}; "
                         f"refused field(s) {', '.join(unknown)}")
    values = {}
    for name in _placeholders(template):
        if fields.get(name) is None:
            raise ValueError(f"{where}: field {name} is needed")
        values[name] = _value(where, name, fields[name], words, channel)
    return values


def _value(where: str, name: str, value: object, words: Mapping[str, Mapping[str, str]],
           channel: str) -> str:
    if name == "child":
        if not isinstance(value, bool):
            raise ValueError(f"{where}: child must be true or false")
        return words["child"]["yes" if value else "no"]
    if name == "minutes":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{where}: minutes must be a whole number, 0 or more")
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {name} must be non-empty text")
    if name in words:
        if value not in words[name]:
            raise ValueError(f"{where}: {name} must be one of {', '.join(words[name])}")
        return words[name][value]
    # One line, whatever the directory holds: a value also goes into an email's subject.
    value = " ".join(unicodedata.normalize("NFC", value).split())
    return _spelled(value) if name == "reference" and channel == "call" else value


def _spelled(reference: str) -> str:
    """A reference as speech reads it best: digit by digit ("111-26..." -> "1 1 1, 2 6 ..."),
    since a voice reads "261123" as a number in the hundreds of thousands."""
    return ", ".join(" ".join(group) for group in reference.split("-"))


def _kind(kind: str, table: object) -> Mapping[str, Mapping[str, str]]:
    where = f"template {kind}"
    table = _table(where, table)
    _only(where, table, set(LANGUAGES))
    return MappingProxyType({language: _kind_texts(kind, language, table.get(language))
                             for language in LANGUAGES})


def _kind_texts(kind: str, language: str, table: object) -> Mapping[str, str]:
    where = f"template {kind}.{language}"
    if table is None:
        raise TemplateError(f"{where}: missing (every kind needs {', '.join(LANGUAGES)})")
    table = _table(where, table)
    _exactly(where, table, CHANNELS)
    return MappingProxyType({channel: _text(f"{where}.{channel}", table[channel],
                                            channel, language) for channel in CHANNELS})


def _text(where: str, text: object, channel: str, language: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise TemplateError(f"{where}: must be non-empty text")
    text = unicodedata.normalize("NFC", text.strip())  # NFD would double a UCS-2 length
    for name in _placeholders(text, where):
        if name not in FIELDS:
            raise TemplateError(f"{where}: unknown placeholder {{{name}}}; a template may "
                                f"use only {', '.join('{' + f + '}' for f in FIELDS)}")
    if channel == "call" and CALL_KEY_PHRASES[language] not in text:
        raise TemplateError(f"{where}: the call must ask to "
                            f"{CALL_KEY_PHRASES[language]!r} to acknowledge")
    return text


def _placeholders(text: str, where: str = "template") -> list[str]:
    """Placeholder names, refusing str.format's attribute, index and format syntax, which
    could reach beyond a plain field ("{link.__class__}")."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise TemplateError(f"{where}: {error} (write a literal brace as {{{{ or }}}})") \
            from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateError(f"{where}: placeholder {{{name}}} must be a plain field "
                                f"name, such as {{reference}}")
        names.append(name)
    return names


def _words(language: str, table: object) -> Mapping[str, Mapping[str, str]]:
    where = f"words.{language}"
    table = _table(where, table)
    _exactly(where, table, tuple(_WORD_GROUPS))
    clean = {}
    for group, keys in _WORD_GROUPS.items():
        entries = _table(f"{where}.{group}", table[group])
        _exactly(f"{where}.{group}", entries, keys)
        for key, word in entries.items():
            if not isinstance(word, str) or not word.strip():
                raise TemplateError(f"{where}.{group}.{key}: must be non-empty text")
        clean[group] = MappingProxyType(
            {key: unicodedata.normalize("NFC", entries[key].strip()) for key in keys})
    return MappingProxyType(clean)


def _table(where: str, value: object) -> Mapping:
    if not isinstance(value, Mapping):
        raise TemplateError(f"{where}: must be a table")
    return value


def _exactly(where: str, table: Mapping, keys: tuple[str, ...]) -> None:
    _only(where, table, set(keys))
    missing = [key for key in keys if key not in table]
    if missing:
        raise TemplateError(f"{where}: missing {', '.join(missing)}")


def _only(where: str, table: Mapping, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise TemplateError(f"{where}: unknown key(s) {', '.join(unknown)}")
