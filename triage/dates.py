"""When a tip arrived and how long ago what it tells began."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from .normalize import NUMBER, Columns

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS_PER_UNIT = {"ngay": 1, "hom": 1, "dem": 1, "tuan": 7, "thang": 30, "nam": 365}
RECENT_DAYS = 3  # the guidelines' 72 hours


def received_date(received_at: object) -> date | None:
    """The day the tip arrived in Vietnam; None when unknown or unreadable."""
    if isinstance(received_at, date) and not isinstance(received_at, datetime):
        return received_at
    if isinstance(received_at, str):
        text = received_at.strip()
        if len(text) == 10:  # a bare date, "2026-05-01"
            try:
                return date.fromisoformat(text)
            except ValueError:
                return None
        try:
            received_at = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(received_at, datetime):
        if received_at.tzinfo is None:
            return None  # a naive time has no known day in Vietnam
        return received_at.astimezone(VIETNAM).date()
    return None


def elapsed_days(columns: Columns, received: date | None,
                 numbers: list[int] | None = None) -> list[int]:
    """How long ago things started: "7 ngày nay", "2 tuần rồi", "từ ngày 26/10".

    `numbers` lists the indices of the number tokens, when known."""
    return [days for _, days in elapsed_at(columns, received, numbers)]


def elapsed_at(columns: Columns, received: date | None,
               numbers: list[int] | None = None) -> list[tuple[int, int]]:
    """elapsed_days(), each with the index of the number token that says it."""
    out: list[tuple[int, int]] = []
    texts, values = columns.texts, columns.values
    if numbers is None:
        numbers = [i for i, kind in enumerate(columns.kinds) if kind == NUMBER]
    for i in numbers:
        text, value = texts[i], values[i]
        nxt = texts[i + 1] if i + 1 < len(texts) else ""
        before = texts[i - 1] if i else ""
        if value is not None and nxt in DAYS_PER_UNIT and 0 < value < 100:
            after = texts[i + 2] if i + 2 < len(texts) else ""
            ago = before == "day" and i > 1 and texts[i - 2] == "cach"  # "cách đây"
            if after == "sau":
                continue  # "ba hôm sau khi đi": a span inside the story, not time since
            if after in ("nay", "roi", "qua", "truoc") or before in ("tu", "duoc", "da", "hon") \
                    or ago:
                out.append((i, value * DAYS_PER_UNIT[nxt]))
        elif received is not None and "/" in text and before not in ("sinh", "sn"):
            when = day_month(text, received)
            if when is not None:
                out.append((i, (received - when).days))
    return out


def day_month(text: str, received: date) -> date | None:
    """A "26/10" or "6/5/2026" in the text as a date on or before the day received."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    year = int(parts[2]) if len(parts) == 3 else received.year
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    if len(parts) == 2 and when > received:  # "26/10" in a January tip: last year
        try:
            when = when.replace(year=year - 1)
        except ValueError:
            return None
    if when > received or (received - when).days > 3650:
        return None
    return when
