"""What bookings and requests have in common: short numbers, one write per idempotency key,
statuses with their history, and finding a resident's own records without leaking anyone else's.

Kinds: "taxi" (TaxiBooking), "climber" (ClimberBooking), "request" (ResidentRequest).
"""

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import ClimberBooking, ResidentRequest, StatusChange, TaxiBooking

Record = TaxiBooking | ClimberBooking | ResidentRequest

MODELS: dict[str, Any] = {"taxi": TaxiBooking, "climber": ClimberBooking, "request": ResidentRequest}
# The first digit of a number says what it is, so a number said back finds its table.
KIND_DIGIT = {"taxi": "3", "climber": "5", "request": "8"}
NUMBER_LENGTH = 6

TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "taxi": {"待派车": ("已派车", "已取消"), "已派车": ("已完成", "已取消")},
    "climber": {"已预约": ("已完成", "已取消")},
    "request": {
        "已受理": ("已派单", "处理中", "已撤销"),
        "已派单": ("处理中", "已撤销"),
        "处理中": ("已办结",),
        "已办结": ("已回访",),
    },
}
CANCELLED = {"taxi": "已取消", "climber": "已取消", "request": "已撤销"}


class StatusError(ValueError):
    """A status change that the record's current status does not allow."""


def kind_of(row: Record) -> str:
    return next(kind for kind, model in MODELS.items() if isinstance(row, model))


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC, so say so."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def by_key(session: Session, model: Any, key: str) -> Any:
    return session.scalar(select(model).where(model.idempotency_key == key))


def insert_record(session: Session, row: Record, *, actor: str = "resident") -> tuple[Record, bool]:
    """Store a new record under a fresh short number, once per idempotency key.

    Returns (row, created). A retry with the same key returns the first row and False. Any other
    integrity error (e.g. a stair-climber slot just taken) is raised for the caller to handle."""
    kind = kind_of(row)
    model = MODELS[kind]
    existing = by_key(session, model, row.idempotency_key)
    if existing is not None:
        return existing, False
    for _ in range(20):
        row.number = KIND_DIGIT[kind] + "".join(secrets.choice("0123456789") for _ in range(NUMBER_LENGTH - 1))
        session.add(row)
        try:
            session.flush()
            session.add(StatusChange(record_kind=kind, record_id=row.id, status=row.status, actor=actor))
            session.commit()
            return row, True
        except IntegrityError:
            session.rollback()
            existing = by_key(session, model, row.idempotency_key)
            if existing is not None:
                return existing, False
            if session.scalar(select(model.id).where(model.number == row.number)) is None:
                raise
    raise RuntimeError("no free record number")  # 100 000 numbers per kind: not in this life


def change_status(session: Session, row: Record, *, status: str, actor: str, note: str = "") -> Record:
    kind = kind_of(row)
    if status not in TRANSITIONS[kind].get(row.status, ()):
        raise StatusError(f"{row.status} → {status} is not allowed")
    row.status = status
    session.add(StatusChange(record_kind=kind, record_id=row.id, status=status, note=note, actor=actor))
    session.commit()
    return row


def history(session: Session, row: Record) -> list[StatusChange]:
    return list(
        session.scalars(
            select(StatusChange)
            .where(StatusChange.record_kind == kind_of(row), StatusChange.record_id == row.id)
            .order_by(StatusChange.id)
        )
    )


def find_own(
    session: Session, *, sender_id: str, kinds: list[str], now: datetime, days: int = 60, limit: int = 3
) -> list[Record]:
    """The resident's own recent records (same conversation id), newest first."""
    since = now - timedelta(days=days)
    found: list[Record] = []
    for kind in kinds:
        model = MODELS[kind]
        found += session.scalars(
            select(model).where(model.sender_id == sender_id, model.created_at >= since).order_by(model.id.desc())
        )
    found.sort(key=lambda r: as_utc(r.created_at), reverse=True)
    return found[:limit]


def by_number(session: Session, number: str) -> Record | None:
    """Any record by its number (staff use; residents go through find_by_number)."""
    kind = next((k for k, digit in KIND_DIGIT.items() if number.startswith(digit)), None)
    if kind is None:
        return None
    model = MODELS[kind]
    found: Record | None = session.scalar(select(model).where(model.number == number))
    return found


def find_by_number(session: Session, *, number: str, phone: str | None, sender_id: str) -> Record | None:
    """A record by its number, only for its owner: the same conversation or the phone on it.

    Unknown number and wrong phone give the same None, so guessing numbers learns nothing."""
    kind = next((k for k, digit in KIND_DIGIT.items() if number.startswith(digit)), None)
    if kind is None or len(number) != NUMBER_LENGTH:
        return None
    model = MODELS[kind]
    row: Record | None = session.scalar(select(model).where(model.number == number))
    if row is None:
        return None
    if row.sender_id == sender_id or (phone and row.phone == phone):
        return row
    return None


def is_open(row: Record) -> bool:
    """Still something that can be cancelled (not done, not cancelled)."""
    return CANCELLED[kind_of(row)] in TRANSITIONS[kind_of(row)].get(row.status, ())
