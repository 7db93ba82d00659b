"""`python -m triage`: JSON lines in, JSON lines out, in order; `--explain` for people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import triage

REPO_ROOT = Path(__file__).resolve().parents[1]

TIP_TEXT = "Con tôi 14 tuổi bị nhốt ở nhà nghỉ Hoa Sen, gã chủ đánh cháu chảy máu"
ABROAD_TEXT = "Chị tôi bị lừa sang Campuchia, bọn chúng giữ hộ chiếu và đòi 200 triệu tiền chuộc"
VERDICT_KEYS = {"id", "urgency", "score", "child_involved", "functions", "countries", "reasons"}


def run_triage(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "triage", *args], input=stdin,
                          capture_output=True, text=True, encoding="utf-8", cwd=REPO_ROOT,
                          timeout=120)


def lines_of(*tips: object) -> str:
    out = []
    for tip in tips:
        out.append(tip if isinstance(tip, str) else json.dumps(tip, ensure_ascii=False))
    return "\n".join(out) + "\n"


def outputs(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_stream_keeps_order_and_ids():
    """Each tip gets one output line, in input order, carrying its id and the verdict fields."""
    tips = [
        {"id": "c1", "text": TIP_TEXT, "from": "+84912345678",
         "received_at": "2026-11-20T08:30:00+07:00", "channel": "sms"},
        {"id": "c2", "text": "Cảm ơn tổng đài đã tư vấn", "from": "0912345678",
         "received_at": "2026-11-20T08:31:00+07:00", "channel": "sms"},
        {"id": 3, "text": ABROAD_TEXT, "from": "+855123456789",
         "received_at": "2026-11-20T08:32:00+07:00", "channel": "voice"},
        {"id": "c4", "text": ""},
    ]
    proc = run_triage(stdin=lines_of(*tips))
    assert proc.returncode == 0, proc.stderr
    out = outputs(proc)
    assert [o["id"] for o in out] == ["c1", "c2", 3, "c4"]
    for tip, verdict in zip(tips, out, strict=True):
        assert VERDICT_KEYS <= set(verdict), verdict
        assert "error" not in verdict
        assert verdict["urgency"] in triage.LEVELS
        assert isinstance(verdict["score"], int)
        assert isinstance(verdict["child_involved"], bool)
        assert set(verdict["functions"]) <= set(triage.FUNCTIONS)
        expected = triage.assess(tip["text"], sender=tip.get("from"),
                                 received_at=tip.get("received_at"))
        assert verdict["urgency"] == expected.urgency
        assert verdict["functions"] == list(expected.functions)
        assert verdict["countries"] == list(expected.countries)
    assert out[0]["urgency"] != "low"
    assert out[3]["urgency"] == "low" and out[3]["functions"] == []
    assert "KH" in out[2]["countries"]


def test_reasons_hold_no_copy_of_the_text():
    """A reason holds only rule, weight, start and end; no victim words reach the output."""
    proc = run_triage(stdin=lines_of({"id": "r1", "text": TIP_TEXT}))
    assert proc.returncode == 0, proc.stderr
    (verdict,) = outputs(proc)
    assert verdict["reasons"], "a harmful tip must give reasons"
    for reason in verdict["reasons"]:
        assert set(reason) == {"rule", "weight", "start", "end"}, reason
        assert isinstance(reason["weight"], int)
        assert 0 <= reason["start"] < reason["end"] <= len(TIP_TEXT)
    line = proc.stdout
    for words in ("Hoa Sen", "nhà nghỉ", "chảy máu", "nha nghi"):
        assert words not in line


def test_bad_lines_get_errors_and_the_stream_goes_on():
    """A line that is not a valid tip gets an error line in its place; blank lines are skipped."""
    stdin = lines_of(
        {"id": "a1", "text": ABROAD_TEXT},
        "this is not JSON {",
        "",
        "   ",
        {"id": "a2", "text": 12345},
        {"id": "a3", "text": TIP_TEXT, "received_at": "not a date"},
        {"id": "a4", "text": TIP_TEXT},
        {"id": "a5", "text": TIP_TEXT, "from": "", "received_at": None},
        {"id": "a6", "text": ABROAD_TEXT, "from": "abc", "received_at": 20261120},
    )
    proc = run_triage(stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    out = outputs(proc)
    assert len(out) == 7, proc.stdout
    assert [o["id"] for o in out] == ["a1", None, "a2", "a3", "a4", "a5", "a6"]
    assert set(out[1]) == {"id", "error"} and isinstance(out[1]["error"], str) and out[1]["error"]
    assert set(out[2]) == {"id", "error"} and isinstance(out[2]["error"], str) and out[2]["error"]
    for verdict in (out[0], out[3], out[4], out[5], out[6]):
        assert "error" not in verdict
        assert VERDICT_KEYS <= set(verdict)
    # A missing `from` or an unreadable received_at gives the normal verdict.
    assert out[3]["urgency"] == out[4]["urgency"] == out[5]["urgency"]
    assert out[3]["functions"] == out[4]["functions"] == out[5]["functions"]
    assert out[6]["urgency"] == out[0]["urgency"]
    assert out[6]["countries"] == out[0]["countries"]


def test_non_object_json_lines_get_errors():
    """JSON that is not an object (a list, a string, null) gets an error with a null id."""
    proc = run_triage(stdin=lines_of("[1, 2]", '"text"', "null", {"id": "ok", "text": "alo"}))
    assert proc.returncode == 0, proc.stderr
    out = outputs(proc)
    assert len(out) == 4
    for line in out[:3]:
        assert line["id"] is None and line["error"]
    assert out[3]["id"] == "ok" and "urgency" in out[3]


def test_empty_input():
    """No input gives no output and exit status 0."""
    proc = run_triage(stdin="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_explain_prints_urgency_and_rules():
    """--explain prints the urgency and the id of every rule that fired."""
    proc = run_triage("--explain", TIP_TEXT)
    assert proc.returncode == 0, proc.stderr
    expected = triage.assess(TIP_TEXT)
    assert expected.reasons
    assert expected.urgency in proc.stdout
    for reason in expected.reasons:
        assert reason.rule in proc.stdout


def test_explain_on_a_harmless_text():
    """--explain on a harmless text prints low and no error."""
    proc = run_triage("--explain", "Cảm ơn tổng đài")
    assert proc.returncode == 0, proc.stderr
    assert "low" in proc.stdout


def test_a_lone_surrogate_in_an_id_still_gives_a_json_line():
    """An id holding a lone surrogate (a JSON escape) comes back as valid JSON, in order."""
    lines = ['{"id": "\\ud800x", "text": "con toi \\ud800 bi nhot"}',
             '{"id": "next", "text": "alo"}']
    proc = subprocess.run([sys.executable, "-m", "triage"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["\ud800x", "next"]
    assert out[0]["urgency"] in ("high", "critical")
