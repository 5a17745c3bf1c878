"""Facility hours and policy answers: the facts residents ask about, kept current by staff."""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.models import Facility, KnowledgeEntry
from bot.services import spoken


@dataclass
class DayHours:
    facility: str
    day: date
    periods: list[tuple[str, str]]
    note: str
    location: str
    phone: str
    exception: bool = False
    open_now: bool | None = None
    text: str = field(default="")


def facility_names(session: Session) -> list[str]:
    return list(session.scalars(select(Facility.name).order_by(Facility.id)))


def policy_topics(session: Session) -> list[str]:
    """The policy topics of the dialogue contract that have an entry in the knowledge base."""
    found = select(KnowledgeEntry.topic).where(KnowledgeEntry.topic.is_not(None)).order_by(KnowledgeEntry.id)
    return [topic for topic in session.scalars(found) if topic]


def get_policy(session: Session, *, topic: str) -> KnowledgeEntry | None:
    """The knowledge entry that answers a policy topic (the NLU's canonical value)."""
    return session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.topic == topic))


def _periods_on(facility: Facility, day: date) -> tuple[list[tuple[str, str]], str, bool]:
    for exc in facility.exceptions:
        if exc.day == day:
            return [(p[0], p[1]) for p in exc.periods], exc.note, True
    weekly = [(p.opens, p.closes) for p in facility.periods if p.weekday == day.weekday()]
    return sorted(weekly), "", False


def hours_on(session: Session, *, facility: str, day: date, now: datetime) -> DayHours | None:
    """The facility's hours on `day` (dated exceptions win over the weekly schedule), as data
    and as one spoken sentence. None when there is no such facility."""
    row = session.scalar(
        select(Facility)
        .where(Facility.name == facility)
        .options(selectinload(Facility.periods), selectinload(Facility.exceptions))
    )
    if row is None:
        return None
    periods, note, is_exception = _periods_on(row, day)
    result = DayHours(
        facility=row.name,
        day=day,
        periods=periods,
        note=note,
        location=row.location,
        phone=row.phone,
        exception=is_exception,
    )
    today = now.date()
    when = spoken.day_name(day, today=today)
    reason = f"（{note}）" if note else ""
    if not periods:
        result.text = f"{row.name}{when}不开放{reason}。" + _next_open_hint(row, day)
    elif periods == [("00:00", "24:00")]:
        result.text = f"{row.name}{when}全天24小时开放{reason}。"
    else:
        spans = "，".join(spoken.period(o, c) for o, c in periods)
        result.text = f"{row.name}{when}的开放时间是{spans}{reason}。"
    if day == today and periods:
        hhmm = now.strftime("%H:%M")
        result.open_now = any(o <= hhmm < c for o, c in periods)
        if result.open_now:
            result.text += "现在正开着。"
        elif all(c <= hhmm for _, c in periods):
            result.text += "今天已经关门了。"
    if row.location:
        result.text += f"地点在{row.location}。"
    return result


def _next_open_hint(facility: Facility, day: date) -> str:
    from datetime import timedelta

    for ahead in range(1, 8):
        later = day + timedelta(days=ahead)
        periods, _, _ = _periods_on(facility, later)
        if periods:
            name = spoken.WEEKDAYS[later.weekday()]
            return f"下次开放是{later.month}月{later.day}日{name}，{spoken.clock(periods[0][0])}开门。"
    return ""
