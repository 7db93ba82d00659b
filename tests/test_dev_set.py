"""Quality on labelled cases: the dev set via the shared scorer, and the holdout set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import triage

REPO_ROOT = Path(__file__).resolve().parents[1]
SCORER = REPO_ROOT.parent / "shared" / "triage" / "score.py"
HOLDOUT = Path(__file__).resolve().parent / "data" / "holdout.jsonl"


def test_dev_set_meets_the_bars():
    """The shared scorer passes every bar on dev.jsonl (urgency, critical, child, functions)."""
    if not SCORER.exists():
        pytest.skip(f"the shared scorer is not beside this repository ({SCORER} does not exist)")
    proc = subprocess.run(
        [sys.executable, "../shared/triage/score.py", "--min-urgency", "0.85",
         "--min-critical-recall", "1.0", "--min-child-f1", "0.95", "--min-functions-exact", "0.85",
         "--min-invariance", "1.0"],
        cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8", timeout=600,
    )
    print(proc.stdout)
    print(proc.stderr, file=sys.stderr)
    assert proc.returncode == 0, f"score.py failed:\n{proc.stdout}\n{proc.stderr[-2000:]}"


def _holdout_cases() -> list[dict]:
    return [json.loads(line) for line in HOLDOUT.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def holdout_figures() -> dict:
    """Urgency accuracy and critical recall of triage.assess on the holdout cases (as score.py)."""
    cases = _holdout_cases()
    exact = critical = critical_hit = 0
    misses = []
    for case in cases:
        result = triage.assess(case["text"], sender=case.get("from"),
                               received_at=case.get("received_at"), channel=case.get("channel"))
        want = case["expect"]["urgency"]
        exact += result.urgency == want
        if want == "critical":
            critical += 1
            critical_hit += result.urgency == "critical"
            if result.urgency != "critical":
                misses.append(f"{case['id']}: got {result.urgency}")
    return {
        "cases": len(cases),
        "urgency_accuracy": exact / len(cases),
        "critical_recall": critical_hit / critical if critical else 1.0,
        "critical_misses": misses,
    }


def test_holdout_set():
    """On the independent holdout set: critical recall >= 0.9 and urgency accuracy >= 0.6."""
    assert HOLDOUT.exists(), f"{HOLDOUT} is missing"
    figures = holdout_figures()
    print(json.dumps(figures, indent=2))
    assert figures["cases"] > 0
    assert figures["critical_recall"] >= 0.9, figures
    assert figures["urgency_accuracy"] >= 0.6, figures
