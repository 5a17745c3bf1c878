"""The staff's daily work: the request queue (due dates, assignment, statuses, follow-up call),
the taxi board, the stair-climber day view, alerts, and the CSV exports."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Alert, ClimberBooking, ClimberMachine, ResidentRequest, TaxiBooking
from bot.services import audit, records, stair_climber, taxi

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEPARTMENTS = ("居委会", "物业", "街道房办", "城运中心", "派出所", "业委会")
SATISFACTION = ("满意", "基本满意", "不满意")
# Working days staff have to finish a request, by category; safety comes first.
DUE_DAYS = {
    "飞线充电": 1,
    "电梯故障": 1,
    "房屋报修": 3,
    "楼道堆物": 3,
    "乱停车": 2,
    "噪音扰民": 3,
    "物业投诉": 5,
    "环境卫生": 2,
    "公共设施损坏": 5,
    "其他": 7,
}
CLOSED = ("已办结", "已回访", "已撤销")


def due_at(request: ResidentRequest) -> datetime:
    return records.as_utc(request.created_at) + timedelta(days=DUE_DAYS.get(request.category, 7))


def is_overdue(request: ResidentRequest, *, now: datetime) -> bool:
    return request.status not in CLOSED and due_at(request) < now


@dataclass
class RequestFilter:
    status: str = ""
    category: str = ""
    urgent: bool = False
    overdue: bool = False


def request_queue(session: Session, *, filters: RequestFilter, now: datetime) -> list[ResidentRequest]:
    """Urgent first, then overdue, then oldest."""
    query = select(ResidentRequest)
    if filters.status:
        query = query.where(ResidentRequest.status == filters.status)
    if filters.category:
        query = query.where(ResidentRequest.category == filters.category)
    if filters.urgent:
        query = query.where(ResidentRequest.urgent.is_(True))
    rows = list(session.scalars(query))
    if filters.overdue:
        rows = [r for r in rows if is_overdue(r, now=now)]
    rows.sort(key=lambda r: (r.status in CLOSED, not r.urgent, not is_overdue(r, now=now), r.created_at))
    return rows


def find_request(session: Session, number: str) -> ResidentRequest | None:
    return session.scalar(select(ResidentRequest).where(ResidentRequest.number == number))


def assign(session: Session, request: ResidentRequest, *, department: str, assignee: str, actor: str) -> None:
    if department and department not in DEPARTMENTS:
        raise ValueError(f"department must be one of {', '.join(DEPARTMENTS)}")
    request.department, request.assignee = department, assignee[:64]
    audit.record(
        session,
        actor=actor,
        action="assign",
        kind="request",
        object_id=request.number,
        detail=f"{department} {assignee}",
    )
    session.commit()


def move(
    session: Session, request: ResidentRequest | TaxiBooking | ClimberBooking, *, status: str, note: str, actor: str
) -> None:
    audit.record(
        session,
        actor=actor,
        action="status",
        kind=records.kind_of(request),
        object_id=request.number,
        detail=f"{status} {note}",
    )
    records.change_status(session, request, status=status, actor=actor, note=note)


def follow_up(session: Session, request: ResidentRequest, *, satisfaction: str, note: str, actor: str) -> None:
    """The 回访 call after 办结: what the resident said; moves the request to 已回访."""
    if satisfaction not in SATISFACTION:
        raise ValueError(f"satisfaction must be one of {SATISFACTION}")
    request.satisfaction, request.followup_note = satisfaction, note[:1000]
    move(session, request, status="已回访", note=f"{satisfaction} {note}".strip(), actor=actor)


def taxi_board(session: Session, *, now: datetime) -> list[TaxiBooking]:
    """Rides still to be driven: urgent first, then the soonest pickup."""
    rows = session.scalars(select(TaxiBooking).where(TaxiBooking.status.in_(("待派车", "已派车"))))
    return sorted(rows, key=lambda b: (not b.urgent, b.status != "待派车", records.as_utc(b.pickup_at)))


def dispatch(
    session: Session, booking: TaxiBooking, *, plate: str, car: str, eta_at: datetime | None, actor: str
) -> None:
    """Staff called 申程出行 and got a car: the resident hears plate, car and ETA when asking."""
    audit.record(
        session, actor=actor, action="dispatch", kind="taxi", object_id=booking.number, detail=f"{plate} {car}"
    )
    taxi.record_dispatch(session, booking, plate=plate, car=car, eta_at=eta_at, actor=actor)


def find_taxi(session: Session, number: str) -> TaxiBooking | None:
    return session.scalar(select(TaxiBooking).where(TaxiBooking.number == number))


@dataclass
class DayColumn:
    machine: ClimberMachine
    cells: list[tuple[stair_climber.Slot, ClimberBooking | None]]


def climber_day(session: Session, *, day: date) -> list[DayColumn]:
    """For each machine, every slot of the day and the live booking in it (or None)."""
    slots = stair_climber.slots_on(session, day)
    start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
    live = list(
        session.scalars(
            select(ClimberBooking).where(
                ClimberBooking.status != "已取消",
                ClimberBooking.slot_start >= records.as_utc(start),
                ClimberBooking.slot_start < records.as_utc(start + timedelta(days=1)),
            )
        )
    )
    taken = {(b.machine_id, records.as_utc(b.slot_start)): b for b in live}
    machines = session.scalars(select(ClimberMachine).where(ClimberMachine.active).order_by(ClimberMachine.id))
    return [DayColumn(m, [(s, taken.get((m.id, records.as_utc(s.start)))) for s in slots]) for m in machines]


def find_climber(session: Session, number: str) -> ClimberBooking | None:
    return session.scalar(select(ClimberBooking).where(ClimberBooking.number == number))


def reschedule(session: Session, booking: ClimberBooking, *, slot_start: datetime, actor: str, now: datetime) -> None:
    """Move a booking to another slot (any free machine); the unique index still guards the slot."""
    slot = next(
        (s for s in stair_climber.slots_on(session, slot_start.astimezone(SHANGHAI).date()) if s.start == slot_start),
        None,
    )
    if slot is None or slot.start < now:
        raise ValueError("not a bookable slot")
    machines = session.scalars(select(ClimberMachine).where(ClimberMachine.active).order_by(ClimberMachine.id))
    for machine in machines:
        booking.machine_id, booking.slot_start, booking.slot_end = (
            machine.id,
            records.as_utc(slot.start),
            records.as_utc(slot.end),
        )
        audit.record(
            session,
            actor=actor,
            action="reschedule",
            kind="climber",
            object_id=booking.number,
            detail=slot.start.isoformat(),
        )
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            session.refresh(booking)
    raise stair_climber.SlotTaken(stair_climber.nearest_free(session, around=slot.start, now=now))


def acknowledge(session: Session, alert_id: int, *, actor: str, now: datetime) -> Alert | None:
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
        audit.record(session, actor=actor, action="acknowledge", kind="alert", object_id=str(alert_id))
        session.commit()
    return alert


def _local(moment: datetime | None) -> str:
    return records.as_utc(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


# A spreadsheet reads a cell that begins with one of these as a formula: =HYPERLINK(…) typed by a
# resident into a request would run on the office PC that opens the export (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell that would start a formula, with an apostrophe before it (shown as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _SafeWriter:
    """csv.writer whose every text cell is spreadsheet_safe: no export can forget it."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: list[object]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])


def requests_csv(session: Session, *, now: datetime) -> str:
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(
        ["编号", "类别", "紧急", "状态", "部门", "经办人", "地点", "情况", "电话", "登记时间", "期限", "超期", "满意度"]
    )
    for r in session.scalars(select(ResidentRequest).order_by(ResidentRequest.id)):
        writer.writerow([
            r.number, r.category, "是" if r.urgent else "", r.status, r.department, r.assignee, r.location,
            r.description, r.phone, _local(r.created_at), _local(due_at(r)), "是" if is_overdue(r, now=now) else "",
            r.satisfaction,
        ])  # fmt: skip
    return out.getvalue()


def bookings_csv(session: Session) -> str:
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(["类型", "编号", "状态", "时间", "地点", "去向/方向", "人数/楼层", "电话", "车牌/机器", "登记时间"])
    for t in session.scalars(select(TaxiBooking).order_by(TaxiBooking.id)):
        writer.writerow([
            "出租车", t.number, t.status, _local(t.pickup_at), t.pickup, t.destination, t.passengers, t.phone,
            t.plate or "", _local(t.created_at),
        ])  # fmt: skip
    for c in session.scalars(select(ClimberBooking).order_by(ClimberBooking.id)):
        writer.writerow([
            "爬楼机", c.number, c.status, _local(c.slot_start), f"{c.building}{c.room}", c.direction, c.floor, c.phone,
            c.machine.name if c.machine else "", _local(c.created_at),
        ])  # fmt: skip
    return out.getvalue()
