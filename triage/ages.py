"""Ages, birth dates and school grades: who in a tip is a child.

Numbers that are phone numbers or money are never read as ages: an age is a number
followed by an age word ("14 tuổi", "14t"), a birth date or year after a birth word
("sn 2011", "sinh ngày 10/9/2008"), or a school grade ("lớp 8").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import compress

from .normalize import NUMBER, Columns
from .phrases import contains_any

_DATE_RE = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_MONTH_YEAR_RE = re.compile(r"^(\d{1,2})[./](\d{4})$")
_DATE_FILLERS = frozenset({"nam", "ngay", "thang", "vao", "khoang"})
_YEAR_RE = re.compile(r"^(19[3-9]\d|20[0-4]\d)$")


@dataclass(frozen=True, slots=True)
class Age:
    years: int
    start: int  # token index of the evidence
    end: int
    source: str  # "age" | "birth" | "grade"
    past: bool = False  # an age at the time of a past event: "năm 15 tuổi chị bị bán"


def find_ages(columns: Columns, age_units: set[str], past_markers: set[str],
              birth_words: list[tuple[str, ...]], received: date | None,
              numbers: list[int] | None = None) -> list[Age]:
    """Ages in the tokens; `numbers` (indices of the number tokens) when already known."""
    ages: list[Age] = []
    texts, kinds, values = columns.texts, columns.kinds, columns.values
    n = len(texts)
    if numbers is None:
        numbers = [i for i, kind in enumerate(kinds) if kind == NUMBER]
    if not numbers:
        return ages
    for i in numbers:
        if values[i] is None or len(texts[i]) > 3:
            continue
        # "14 tuổi", "14t", and ranges "13 14t", "14-16 tuổi", "13 đến 16 tuổi"
        j = i + 1
        if j + 1 < n and texts[j] in ("den", "toi", "va") and kinds[j + 1] == NUMBER:
            j += 1
        while j < n and kinds[j] == NUMBER and values[j] is not None and j - i < 3:
            j += 1
        if j < n and texts[j] in age_units and texts[j] != "thang":  # "3 tháng": months
            years = [values[k] for k in range(i, j) if kinds[k] == NUMBER and values[k] is not None]
            if all(0 < y < 120 for y in years) and not _follows_age(columns, i, age_units):
                past = _is_past_age(texts, i, past_markers)
                ages.extend(Age(y, i, j + 1, "age", past) for y in years)
        elif j < n and texts[j] == "thang" and j + 1 < n and texts[j + 1] == "tuoi":
            ages.append(Age(0, i, j + 2, "age"))  # "2 tháng tuổi": an infant
    if received is not None:
        ages.extend(_birth_ages(columns, numbers, birth_words, received))
    return ages


def _follows_age(columns: Columns, i: int, age_units: set[str]) -> bool:
    """True when this number is the second of a range already read ("13 14t")."""
    texts = columns.texts
    return i > 0 and columns.kinds[i - 1] == NUMBER and columns.values[i - 1] is not None \
        and len(texts[i - 1]) <= 3 and (i < 2 or texts[i - 2] not in age_units)


def _is_past_age(texts: list[str], i: int, past_markers: set[str]) -> bool:
    """"năm 15 tuổi", "hồi 12 tuổi", "lúc 14 tuổi": the age then, not now.

    "năm nay 15 tuổi" is this year, so "năm" counts only right before the number.
    """
    if i == 0:
        return False
    if texts[i - 1] == "moi" and i > 1:  # "khi mới 15 tuổi"
        i -= 1
    prev = texts[i - 1]
    if prev in past_markers:
        return True
    return prev == "tu" and i > 1 and texts[i - 2] in past_markers


def _birth_ages(columns: Columns, numbers: list[int], birth_words: list[tuple[str, ...]],
                received: date) -> list[Age]:
    ages = []
    texts = columns.texts
    for i in numbers:
        text = texts[i]
        if not _after_birth_word(texts, i, birth_words):
            continue
        full = _DATE_RE.match(text)
        month_year = _MONTH_YEAR_RE.match(text)
        if full:
            day, month, year = (int(g) for g in full.groups())
            try:
                born = date(year, month, day)
            except ValueError:
                continue
            before_birthday = (received.month, received.day) < (born.month, born.day)
            years = received.year - born.year - before_birthday
        elif month_year and 1 <= int(month_year.group(1)) <= 12:
            month, year = int(month_year.group(1)), int(month_year.group(2))
            years = received.year - year - (received.month < month)
        elif _YEAR_RE.match(text):
            # "sinh tháng 12 năm 2008": a month a few words before the year counts too
            month = _month_before(columns, i)
            years = received.year - int(text) - (month is not None and received.month < month)
        else:
            continue
        if 0 <= years < 120:
            ages.append(Age(years, i, i + 1, "birth"))
    return ages


def _after_birth_word(texts: list[str], i: int, birth_words: list[tuple[str, ...]]) -> bool:
    """A birth word ends before token i, with at most a few date words between:
    "sn 2011", "sinh năm 2009", "sinh tháng 12 năm 2008", "sinh ngày 3/2/2008"."""
    gap_end = i
    while gap_end > 0 and i - gap_end < 4 and (texts[gap_end - 1] in _DATE_FILLERS
                                               or texts[gap_end - 1].isdigit()):
        gap_end -= 1
    for end in range(gap_end, i + 1):
        if end == 0 or end < i and texts[end] not in _DATE_FILLERS and not texts[end].isdigit():
            continue
        last = texts[end - 1]
        for phrase in birth_words:
            start = end - len(phrase)
            if phrase[-1] == last and start >= 0 and tuple(texts[start:end]) == phrase:
                return True
    return False


def _month_before(columns: Columns, i: int) -> int | None:
    for j in range(max(0, i - 3), i):
        month = columns.values[j + 1] if j + 1 < i else None
        if columns.texts[j] == "thang" and month is not None and 1 <= month <= 12:
            return month
    return None


def find_grades(columns: Columns, not_subject: list[tuple[str, ...]],
                past_markers: set[str]) -> list[Age]:
    """"lớp 8" → about 13; grades above 12 are not school ("lớp 2" of a course is rare)."""
    grades: list[Age] = []
    texts = columns.texts
    if "lop" not in texts:
        return grades
    for i in compress(range(len(texts) - 1), map("lop".__eq__, texts)):
        grade = columns.values[i + 1]
        if columns.kinds[i + 1] != NUMBER or grade is None or not 1 <= grade <= 12:
            continue
        before = texts[max(0, i - 4):i]
        if contains_any(before, not_subject):
            continue  # "cô giáo chủ nhiệm lớp 5": the teacher, not a pupil
        past = i > 0 and texts[i - 1] in past_markers
        finished = i > 0 and texts[i - 1] in ("xong", "het")
        # "học xong lớp 12" is about 18 now; "sắp học xong lớp 9" still in grade 9
        grades.append(Age(grade + (6 if finished else 5), i, i + 2, "grade", past))
    return grades
