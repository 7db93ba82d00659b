"""``python -m triage``: JSON lines in, JSON lines out; ``--explain TEXT`` for people.

Each input line is a tip ``{"id", "text", "from", "received_at", "channel"}``; each
output line is its verdict, in order. A line that is not JSON, or whose text is not a
string, gets ``{"id": ..., "error": ...}`` and the stream goes on.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from .engine import assess
from .result import TriageResult
from .ruleset import RuleSet, load_rules

OUTPUT_FIELDS = ("urgency", "score", "child_involved", "under_16", "ages", "functions",
                 "countries", "provinces", "at_sea", "border_gates", "categories", "reasons",
                 "rules_version")


def verdict_line(tip_id: object, result: TriageResult) -> dict:
    data = result.to_dict()
    out = {"id": tip_id}
    out.update({key: data[key] for key in OUTPUT_FIELDS})
    return out


def judge_line(line: str, rules: RuleSet) -> dict:
    try:
        tip = json.loads(line)
    except ValueError as exc:
        return {"id": None, "error": f"not JSON: {exc.msg}"}
    if not isinstance(tip, dict):
        return {"id": None, "error": "a tip must be a JSON object"}
    tip_id = tip.get("id")
    if not isinstance(tip_id, (str, int, float, type(None))) or isinstance(tip_id, bool):
        tip_id = None
    text = tip.get("text")
    if not isinstance(text, str):
        return {"id": tip_id, "error": "'text' must be a string"}
    result = assess(text, sender=tip.get("from"), received_at=tip.get("received_at"),
                    channel=tip.get("channel") or "sms", hints=tip.get("hints"), rules=rules)
    return verdict_line(tip_id, result)


def run_stream(stdin: TextIO, stdout: TextIO, rules: RuleSet) -> None:
    interactive = stdout.isatty()
    for line in stdin:
        if not line.strip():
            continue
        stdout.write(json.dumps(judge_line(line, rules), ensure_ascii=False) + "\n")
        if interactive:
            stdout.flush()


def explain(text: str, rules: RuleSet, color: bool) -> str:
    """A readable account: the verdict, then each rule that fired with its span marked."""
    result = assess(text, rules=rules)
    lines = [
        f"urgency: {result.urgency} (score {result.score})",
        f"child involved: {'yes' if result.child_involved else 'no'}"
        + (" (under 16)" if result.under_16 else "")
        + (f", ages {', '.join(map(str, result.ages))}" if result.ages else ""),
        f"functions: {', '.join(result.functions) or '-'}",
        f"categories: {', '.join(result.categories)}",
        f"countries: {', '.join(result.countries) or '-'}"
        f"; provinces: {', '.join(result.provinces) or '-'}"
        f"; border gates: {', '.join(result.border_gates) or '-'}"
        f"; at sea: {'yes' if result.at_sea else 'no'}",
        f"rules version: {result.rules_version}",
        "",
        "rules that fired:" if result.reasons else "no rule fired",
    ]
    flat = " ".join(text.split("\n"))
    for reason in result.reasons:
        before, span, after = flat[:reason.start], flat[reason.start:reason.end], flat[reason.end:]
        before, after = before[-40:], after[:40]
        marked = f"\033[1;31m{span}\033[0m" if color else f"[{span}]"
        lines.append(f"  {reason.rule:<28} +{reason.weight:<3} {before}{marked}{after}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--explain", metavar="TEXT", help="explain the verdict on one text")
    parser.add_argument("--rules", metavar="DIR", help="rule directory (default: the package's)")
    args = parser.parse_args(argv)
    rules = load_rules(args.rules)
    if args.explain is not None:
        print(explain(args.explain, rules, color=sys.stdout.isatty()))
        return 0
    # Bytes that are not UTF-8 become U+FFFD; a lone surrogate in an id (from a JSON
    # escape) is written back as the same JSON escape, so every output line is JSON.
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", errors="backslashreplace",
                  closefd=False)
    run_stream(stdin, stdout, rules)
    stdout.flush()
    return 0
