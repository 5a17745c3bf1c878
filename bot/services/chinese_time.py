"""Chinese time expressions → Asia/Shanghai dates, with JioNLP's time parser.

Residents say 礼拜六, 明朝, 下半天: Shanghainese words are mapped to Mandarin first, because the
parser knows only Mandarin; the whole message is searched, not one entity (see DESIGN.md).
"""

from datetime import date, datetime, timedelta

import jionlp

# Longest first, so 礼拜天 is replaced before 礼拜.
_SHANGHAINESE = {
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
            if day < base.date() and any(w in said for w in _WEEKDAY_WORDS) and "上" not in said:
                day += timedelta(days=7)
            return day
    return None
