"""Chinese time expressions → Asia/Shanghai dates, with JioNLP's time parser.

Residents say 礼拜六, 明朝, 下半天: Shanghainese words are mapped to Mandarin first, because the
parser knows only Mandarin; the whole message is searched, not one entity (see DESIGN.md).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import jionlp

# Longest first, so 礼拜天 is replaced before 礼拜.
_SHANGHAINESE = {
    "明朝早浪向": "明天早上",
    "早浪向": "早上",
    "明早": "明天早上",
    "今早": "今天早上",
    "后日": "后天",
    "今朝": "今天",
    "明朝": "明天",
    "后朝": "后天",
    "昨日": "昨天",
    "礼拜日": "星期日",
    "礼拜天": "星期天",
    "礼拜": "星期",
    "上半天": "上午",
    "下半天": "下午",
    "夜里向": "晚上",
    "夜里": "晚上",
}


def to_mandarin(text: str) -> str:
    for word, mandarin in _SHANGHAINESE.items():
        text = text.replace(word, mandarin)
    return text


_WEEKDAY_WORDS = ("星期", "周", "礼拜")
_LAST_WEEK = re.compile(r"上个?(星期|周|礼拜)")


def find_day(text: str, *, now: datetime) -> date | None:
    """The first day the message speaks of, or None when it names no time at all.

    A bare weekday means the next one: asked on a Sunday, "礼拜六开门伐" is about the coming
    Saturday, while JioNLP resolves it within the current week (yesterday)."""
    base = now.replace(tzinfo=None)  # JioNLP works in naive local time: ours is Shanghai's.
    try:
        found = jionlp.ner.extract_time(to_mandarin(text), time_base=base, with_parsing=True)
    except Exception:  # the parser raises on odd input; an unknown time is not an error here
        return None
    for item in found:
        times = (item.get("detail") or {}).get("time")
        if isinstance(times, list) and times and isinstance(times[0], str) and times[0][:1].isdigit():
            day = datetime.strptime(times[0][:10], "%Y-%m-%d").date()
            said = str(item.get("text", ""))
            if day < base.date() and any(w in said for w in _WEEKDAY_WORDS) and not _LAST_WEEK.search(said):
                day += timedelta(days=7)
            return day
    return None


# "现在/马上/急": as soon as possible (and, for a taxi, urgent). JioNLP does not know most of them.
_ASAP = re.compile(r"现在|马上|立刻|立即|越快越好|急|快点|等歇|等一会|尽快|即刻")
# Said without 上午/下午, "两点" for a ride or a visit means the afternoon, not 2 a.m.
_MORNING_WORDS = re.compile(r"早|上午|凌晨|夜|晚")
# A part of the day without a clock time gets a usual hour, read back for the resident to correct.
_USUAL_HOUR = (("早", 8), ("上午", 9), ("中午", 12), ("下午", 14), ("晚", 18), ("夜", 18))


# "五号楼", "六楼", "502室", "100弄" are places, not the 5th of the month: drop them first.
_ADDRESS_NUMBERS = re.compile(r"[0-9零〇一二两三四五六七八九十百]+\s*(号楼|号门|楼|层|室|弄|栋|幢|单元)")


@dataclass(frozen=True)
class TimeAnswer:
    """A time the resident named: `start` is the moment meant; [start, end) is how loosely it was
    said (a whole morning, a whole day), so a slot anywhere inside it fits what was asked."""

    start: datetime
    end: datetime
    asap: bool = False
    has_clock: bool = True  # False: only a day or part of a day was said


def find_time(text: str, *, now: datetime, tz: str = "Asia/Shanghai") -> TimeAnswer | None:
    """The moment a message asks for, as an aware datetime in Shanghai, or None if none is named."""
    zone = ZoneInfo(tz)
    now = now.astimezone(zone)
    mandarin = _ADDRESS_NUMBERS.sub(" ", to_mandarin(text))
    base = now.replace(tzinfo=None, second=0, microsecond=0)
    try:
        found = jionlp.ner.extract_time(mandarin, time_base=base, with_parsing=True)
    except Exception:  # the parser raises on odd input: treat as no time said
        found = []
    for item in found:
        detail = item.get("detail") or {}
        times = detail.get("time")
        if not (isinstance(times, list) and times and isinstance(times[0], str) and times[0][:1].isdigit()):
            continue
        said = str(item.get("text", ""))
        start = datetime.strptime(times[0], "%Y-%m-%d %H:%M:%S")
        end = datetime.strptime(times[1], "%Y-%m-%d %H:%M:%S") if times[1][:1].isdigit() else start
        if start.date() < base.date() and any(w in said for w in _WEEKDAY_WORDS) and not _LAST_WEEK.search(said):
            start, end = start + timedelta(days=7), end + timedelta(days=7)
        if said in ("现在", "此刻"):
            return TimeAnswer(start=now, end=now + timedelta(minutes=30), asap=True)
        span = end - start
        has_clock = span <= timedelta(hours=1, minutes=1)
        if has_clock and 1 <= start.hour <= 6 and not _MORNING_WORDS.search(said):
            start, end = start + timedelta(hours=12), end + timedelta(hours=12)
        if not has_clock and span <= timedelta(hours=7):
            usual = next((hour for word, hour in _USUAL_HOUR if word in said), start.hour)
            window_start, window_end = start, end
            start = start.replace(hour=max(usual, start.hour), minute=0)
            return TimeAnswer(
                start=max(start, window_start).replace(tzinfo=zone),
                end=(window_end + timedelta(seconds=1)).replace(tzinfo=zone),
                has_clock=False,
            )
        if not has_clock:  # a whole day
            return TimeAnswer(
                start=start.replace(tzinfo=zone),
                end=(end + timedelta(seconds=1)).replace(tzinfo=zone),
                has_clock=False,
            )
        return TimeAnswer(start=start.replace(tzinfo=zone), end=start.replace(tzinfo=zone) + timedelta(hours=1))
    if _ASAP.search(mandarin):
        return TimeAnswer(start=now, end=now + timedelta(minutes=30), asap=True)
    return None
