"""How dates and clock times are said to an elderly listener (short, familiar words)."""

from datetime import date

WEEKDAYS = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]


def clock(hhmm: str) -> str:
    """ "08:30" → "上午8点半", "13:00" → "下午1点", "24:00" → "夜里12点"."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    if hour < 5:
        part, h = "凌晨", hour
    elif hour < 12:
        part, h = "上午", hour
    elif hour < 13:
        part, h = "中午", hour
    elif hour < 18:
        part, h = "下午", hour - 12
    elif hour < 24:
        part, h = "晚上", hour - 12
    else:
        part, h = "夜里", 12
    if minute == 0:
        return f"{part}{h}点"
    if minute == 30:
        return f"{part}{h}点半"
    return f"{part}{h}点{minute}分"


def period(opens: str, closes: str) -> str:
    return f"{clock(opens)}到{clock(closes)}"


def day_name(day: date, *, today: date) -> str:
    delta = (day - today).days
    relative = {0: "今天", 1: "明天", 2: "后天"}.get(delta)
    label = f"{day.month}月{day.day}日{WEEKDAYS[day.weekday()]}"
    return f"{relative}（{label}）" if relative else label
