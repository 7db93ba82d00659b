"""The fallback TwiML that ships for when the whole service is down."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

import hotline
from hotline.cli import main

SHIPPED = Path(hotline.__file__).parent / "static" / "fallback-twiml.xml"


def _check(root: ET.Element) -> list[str]:
    assert root.tag == "Response"
    dials = root.findall("Dial")
    assert dials and all(d.find("Number") is not None for d in dials)
    assert root.find("Record") is not None  # nobody answers: a voicemail, not a hang-up
    assert root.find("Hangup") is None
    return [d.find("Number").text for d in dials]


def test_the_shipped_file_is_valid_twiml_that_dials_and_takes_voicemail():
    assert _check(ET.parse(SHIPPED).getroot())


def test_the_command_dials_the_configured_operators(monkeypatch):
    monkeypatch.setenv("OPERATOR_NUMBERS", "0912345678, +84987654321")
    result = CliRunner().invoke(main, ["fallback-twiml"])
    assert result.exit_code == 0, result.output
    assert _check(ET.fromstring(result.output)) == ["+84912345678", "+84987654321"]


def test_the_command_refuses_missing_or_invalid_numbers(monkeypatch):
    for value in ("", "111", "0912345678,not-a-number"):
        monkeypatch.setenv("OPERATOR_NUMBERS", value)
        result = CliRunner().invoke(main, ["fallback-twiml"])
        assert result.exit_code != 0 and "OPERATOR_NUMBERS" in result.output
