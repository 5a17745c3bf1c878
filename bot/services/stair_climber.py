"""Stair-climber (电动载人爬楼机) bookings: machines with their operators, slots cut from the
service periods, and a database rule that one machine serves one booking per slot.

A resident books a slot, not a machine: the first machine still free in that slot is taken. When
two residents confirm the same slot at once, the unique index makes one of them fail; that one
tries the next machine, and is told the slot is full only when no machine is left.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import ClimberBooking, ClimberMachine, ClimberServicePeriod
from bot.services import records, spoken

SHANGHAI = ZoneInfo("Asia/Shanghai")
LEAD_TIME = timedelta(minutes=30)  # the operator needs time to come over
SEARCH_DAYS = 14
DIRECTIONS = ("下楼", "上楼", "往返")


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


class SlotTaken(Exception):
    """Every machine is booked for this slot; `alternatives` are the nearest free ones."""

    def __init__(self, alternatives: list[Slot]) -> None:
        super().__init__("slot full")
        self.alternatives = alternatives


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(0, 0), tzinfo=SHANGHAI) + timedelta(hours=hour, minutes=minute)


def slots_on(session: Session, day: date) -> list[Slot]:
    periods = session.scalars(
        select(ClimberServicePeriod)
        .where(ClimberServicePeriod.weekday == day.weekday())
        .order_by(ClimberServicePeriod.starts)
    )
    slots: list[Slot] = []
    for period in periods:
        start, end = _at(day, period.starts), _at(day, period.ends)
        step = timedelta(minutes=period.slot_minutes)
        while start + step <= end:
            slots.append(Slot(start, start + step))
            start += step
    return slots


def _machines(session: Session) -> list[ClimberMachine]:
    return list(session.scalars(select(ClimberMachine).where(ClimberMachine.active).order_by(ClimberMachine.id)))


def _taken(session: Session, slot_start: datetime) -> set[int]:
    utc = records.as_utc(slot_start)
    return set(
        session.scalars(
            select(ClimberBooking.machine_id).where(ClimberBooking.slot_start == utc, ClimberBooking.status != "已取消")
        )
    )


def is_free(session: Session, slot: Slot) -> bool:
    taken = _taken(session, slot.start)
    return any(m.id not in taken for m in _machines(session))


def service_hours_text(session: Session) -> str:
    """ "星期一到星期六，上午8点到12点、下午1点到5点" — said when a time is outside them."""
    periods = list(session.scalars(select(ClimberServicePeriod).order_by(ClimberServicePeriod.weekday)))
    if not periods:
        return "暂时没有安排服务时间"
    days = sorted({p.weekday for p in periods})
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
        day_text = f"{spoken.WEEKDAYS[days[0]]}到{spoken.WEEKDAYS[days[-1]]}"
    else:
        day_text = "、".join(spoken.WEEKDAYS[d] for d in days)
    first_day = [p for p in periods if p.weekday == days[0]]
    hours = "、".join(spoken.period(p.starts, p.ends) for p in sorted(first_day, key=lambda p: p.starts))
    return f"{day_text}，{hours}"


def nearest_free(session: Session, *, around: datetime, now: datetime, count: int = 2) -> list[Slot]:
    """Free slots nearest to `around` (later ones first on ties), never sooner than the lead time."""
    earliest = now + LEAD_TIME
    found: list[Slot] = []
    for offset in range(-1, SEARCH_DAYS):
        day = around.astimezone(SHANGHAI).date() + timedelta(days=offset)
        found += [s for s in slots_on(session, day) if s.start >= earliest and is_free(session, s)]
    found.sort(key=lambda s: (abs((s.start - around).total_seconds()), s.start < around))
    return found[:count]


def soonest_free(session: Session, *, now: datetime, count: int = 6) -> list[Slot]:
    """The first free slot of each service period from now on (so "明天上午", "明天下午", "后天上午"…
    rather than six slots in one morning): offered as buttons when the time is asked."""
    earliest = now + LEAD_TIME
    found: list[Slot] = []
    for offset in range(SEARCH_DAYS):
        day = now.astimezone(SHANGHAI).date() + timedelta(days=offset)
        periods = session.scalars(select(ClimberServicePeriod).where(ClimberServicePeriod.weekday == day.weekday()))
        for period in sorted(periods, key=lambda p: p.starts):
            start, end = _at(day, period.starts), _at(day, period.ends)
            free = (s for s in slots_on(session, day) if start <= s.start < end and s.start >= earliest)
            first = next((s for s in free if is_free(session, s)), None)
            if first is not None:
                found.append(first)
            if len(found) == count:
                return found
    return found


@dataclass(frozen=True)
class SlotChoice:
    slot: Slot | None  # a free slot that fits what was asked
    reason: str = ""  # why not: "past" | "closed" | "full"
    alternatives: tuple[Slot, ...] = ()


def choose_slot(session: Session, *, start: datetime, end: datetime, has_clock: bool, now: datetime) -> SlotChoice:
    """The slot for what the resident asked: with a clock time, the slot containing it; with only
    a day or part of a day, the first free slot inside that window."""
    if (end if not has_clock else start) < now:
        return SlotChoice(None, "past", tuple(nearest_free(session, around=now, now=now)))
    earliest = now + LEAD_TIME
    day_slots = slots_on(session, start.astimezone(SHANGHAI).date())
    if not has_clock:
        day_slots += slots_on(session, (end - timedelta(seconds=1)).astimezone(SHANGHAI).date())
        fitting = [s for s in day_slots if start <= s.start < end or (s.start < start < s.end)]
    else:
        fitting = [s for s in day_slots if s.start <= start < s.end]
    fitting = sorted({s.start: s for s in fitting if s.end > earliest}.values(), key=lambda s: s.start)
    if not fitting:
        reason = "past" if end <= earliest else "closed"
        return SlotChoice(None, reason, tuple(nearest_free(session, around=max(start, now), now=now)))
    for slot in fitting:
        if is_free(session, slot):
            return SlotChoice(slot)
    return SlotChoice(None, "full", tuple(nearest_free(session, around=fitting[0].start, now=now)))


def book(
    session: Session,
    *,
    idempotency_key: str,
    sender_id: str,
    channel: str,
    phone: str,
    slot_start: datetime,
    building: str,
    floor: int,
    room: str,
    direction: str,
    purpose: str,
    now: datetime,
) -> tuple[ClimberBooking, bool]:
    """Take the first free machine in the slot; SlotTaken when none is left (even under a race)."""
    existing = records.by_key(session, ClimberBooking, idempotency_key)
    if existing is not None:
        return existing, False
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    slot = next((s for s in slots_on(session, slot_start.astimezone(SHANGHAI).date()) if s.start == slot_start), None)
    if slot is None or slot.start < now:
        raise SlotTaken(nearest_free(session, around=slot_start, now=now))
    for machine in _machines(session):
        if machine.id in _taken(session, slot.start):
            continue
        row = ClimberBooking(
            idempotency_key=idempotency_key,
            sender_id=sender_id,
            channel=channel,
            phone=phone,
            machine_id=machine.id,
            slot_start=records.as_utc(slot.start),
            slot_end=records.as_utc(slot.end),
            building=building,
            floor=floor,
            room=room,
            direction=direction,
            purpose=purpose,
        )
        try:
            booking, created = records.insert_record(session, row)
        except IntegrityError:
            continue  # someone took this machine a moment ago: try the next one
        assert isinstance(booking, ClimberBooking)
        return booking, created
    raise SlotTaken(nearest_free(session, around=slot.start, now=now))


def cancel(session: Session, booking: ClimberBooking, *, actor: str) -> ClimberBooking:
    records.change_status(session, booking, status="已取消", actor=actor)  # frees the slot
    return booking


def slot_text(slot_start: datetime, *, now: datetime) -> str:
    local = records.as_utc(slot_start).astimezone(SHANGHAI)
    return spoken.day_name(local.date(), today=now.astimezone(SHANGHAI).date()) + spoken.clock(local.strftime("%H:%M"))


def describe(booking: ClimberBooking, *, now: datetime) -> str:
    start = records.as_utc(booking.slot_start).astimezone(SHANGHAI)
    end = records.as_utc(booking.slot_end).astimezone(SHANGHAI)
    window = spoken.day_name(start.date(), today=now.astimezone(SHANGHAI).date()) + spoken.period(
        start.strftime("%H:%M"), end.strftime("%H:%M")
    )
    number = spoken.record_number(booking.number)
    what = f"您{window}的爬楼机（编号{number}，{booking.building}{booking.floor}楼{booking.direction}）"
    if booking.status == "已预约":
        operator = booking.machine.operator_name if booking.machine else ""
        who = f"，{operator}会带机器上门" if operator else ""
        return f"{what}已经约好了{who}。"
    return f"{what}{booking.status}。"
