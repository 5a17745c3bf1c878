"""How dates and clock times are said to an elderly listener (short, familiar words)."""

from datetime import date

WEEKDAYS = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]


def _part_of_day(hour: int) -> str:
    if hour < 5:
        return "凌晨"
    if hour < 12:
        return "上午"
    if hour < 13:
        return "中午"
    if hour < 18:
        return "下午"
    return "晚上" if hour < 24 else "夜里"


def clock(hhmm: str, *, with_part: bool = True) -> str:
    """ "08:30" → "上午8点半", "13:00" → "下午1点", "24:00" → "夜里12点"."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    part = _part_of_day(hour) if with_part else ""
    h = hour if hour <= 12 else (12 if hour == 24 else hour - 12)
    if minute == 0:
        return f"{part}{h}点"
    if minute == 30:
        return f"{part}{h}点半"
    return f"{part}{h}点{minute}分"


def period(opens: str, closes: str) -> str:
    """ "08:30"-"11:30" → "上午8点半到11点半": the part of day is said once when it is the same."""
    same_part = _part_of_day(int(opens[:2])) == _part_of_day(int(closes[:2]))
    return f"{clock(opens)}到{clock(closes, with_part=not same_part)}"


def day_name(day: date, *, today: date) -> str:
    delta = (day - today).days
    relative = {0: "今天", 1: "明天", 2: "后天"}.get(delta)
    label = f"{day.month}月{day.day}日{WEEKDAYS[day.weekday()]}"
    return f"{relative}（{label}）" if relative else label


def record_number(number: str) -> str:
    """A booking or request number as it is shown and read out: eight digits in two groups of
    four ("3051 2746"), which an elderly listener can hold and repeat; an old six-digit number as
    it was issued. The kiosk reads each group digit by digit with a pause between them."""
    if len(number) == 8 and number.isdigit():
        return f"{number[:4]} {number[4:]}"
    return number
