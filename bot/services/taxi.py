"""Taxi rides booked for residents: 待派车 → 已派车 (plate, car, ETA) → 已完成, or 已取消."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.models import TaxiBooking
from bot.services import alerts, records, spoken
from bot.services.dispatch import Dispatcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PASSENGERS = 4  # one ordinary taxi
BOOK_AHEAD = timedelta(days=30)


class TaxiError(ValueError):
    """Carries a short Chinese explanation for the resident."""


def check_pickup_time(pickup_at: datetime, *, now: datetime) -> None:
    if pickup_at < now - timedelta(minutes=5):
        raise TaxiError("这个时间已经过去了。请说一个以后的时间，比如：明天上午九点。")
    if pickup_at > now + BOOK_AHEAD:
        raise TaxiError("车子最多只能提前三十天约。请说一个近一点的时间。")


def book_taxi(
    session: Session,
    *,
    idempotency_key: str,
    sender_id: str,
    channel: str,
    phone: str,
    pickup: str,
    destination: str,
    pickup_at: datetime,
    asap: bool,
    passengers: int,
    assistance: str,
    dispatcher: Dispatcher,
    now: datetime,
) -> tuple[TaxiBooking, bool]:
    """Store the ride (once per key), hand it to the dispatcher, alert staff if it is urgent."""
    if not 1 <= passengers <= MAX_PASSENGERS:
        raise TaxiError(f"一部出租车最多坐{MAX_PASSENGERS}位。")
    check_pickup_time(pickup_at, now=now)
    row = TaxiBooking(
        idempotency_key=idempotency_key,
        sender_id=sender_id,
        channel=channel,
        phone=phone,
        pickup=pickup,
        destination=destination,
        pickup_at=records.as_utc(max(pickup_at, now) if asap else pickup_at),  # stored in UTC
        asap=asap,
        urgent=asap,
        passengers=passengers,
        assistance=assistance,
        dispatcher="staff",
    )
    booking, created = records.insert_record(session, row)
    if not created:
        return booking, False  # type: ignore[return-value]
    assert isinstance(booking, TaxiBooking)
    if booking.urgent:
        alerts.raise_alert(
            session,
            kind="急用车",
            source="taxi",
            sender_id=sender_id,
            channel=channel,
            message=f"{booking.number} {booking.pickup} → {booking.destination}",
            message_id=f"taxi:{booking.number}",
        )
    dispatched = dispatcher.submit(booking)
    if dispatched is not None:
        booking.dispatcher = dispatcher.name
        booking.provider_ref = dispatched.provider_ref
        if dispatched.plate:
            record_dispatch(
                session,
                booking,
                plate=dispatched.plate,
                car=dispatched.car or "",
                eta_at=dispatched.eta_at,
                actor=dispatcher.name,
            )
        else:
            session.commit()
    return booking, True


def record_dispatch(
    session: Session, booking: TaxiBooking, *, plate: str, car: str, eta_at: datetime | None, actor: str
) -> TaxiBooking:
    """Staff (or the provider) found a car: the resident hears plate and ETA when asking."""
    booking.plate, booking.car = plate, car
    booking.eta_at = records.as_utc(eta_at) if eta_at else None
    records.change_status(session, booking, status="已派车", actor=actor, note=f"{plate} {car}".strip())
    return booking


def cancel(session: Session, booking: TaxiBooking, *, dispatcher: Dispatcher, actor: str) -> TaxiBooking:
    records.change_status(session, booking, status="已取消", actor=actor)
    if booking.dispatcher == dispatcher.name:
        dispatcher.cancel(booking)
    return booking


def last_pickup(session: Session, *, sender_id: str, phone: str | None) -> str | None:
    """Where this resident was picked up last time: offered first in the next booking."""
    owner = TaxiBooking.sender_id == sender_id
    if phone:
        owner = or_(owner, TaxiBooking.phone == phone)
    return session.scalar(select(TaxiBooking.pickup).where(owner).order_by(TaxiBooking.id.desc()).limit(1))


def when_text(moment: datetime, *, now: datetime, asap: bool = False) -> str:
    if asap:
        return "马上"
    local = records.as_utc(moment).astimezone(SHANGHAI)
    return spoken.day_name(local.date(), today=now.date()) + spoken.clock(local.strftime("%H:%M"))


def describe(booking: TaxiBooking, *, now: datetime) -> str:
    """One spoken sentence about the ride and where it stands."""
    ride = (
        f"您{when_text(booking.pickup_at, now=now, asap=booking.asap)}从{booking.pickup}到{booking.destination}的车"
        f"（编号{spoken.record_number(booking.number)}）"
    )
    if booking.status == "已派车":
        eta = ""
        if booking.eta_at:
            arrives = records.as_utc(booking.eta_at).astimezone(SHANGHAI)
            eta = f"，预计{spoken.clock(arrives.strftime('%H:%M'))}到"
        car = f"，{booking.car}" if booking.car else ""
        return f"{ride}已经派车了：车牌{booking.plate}{car}{eta}。"
    if booking.status == "待派车":
        return f"{ride}已经登记，正在等工作人员派车，派好了会告诉您车牌。"
    return f"{ride}{booking.status}。"
