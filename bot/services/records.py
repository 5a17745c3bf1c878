"""What bookings and requests have in common: numbers a resident can read out, one write per
idempotency key, statuses with their history, and finding a resident's own records without
leaking anyone else's.

Kinds: "taxi" (TaxiBooking), "climber" (ClimberBooking), "request" (ResidentRequest).

Numbers: eight digits, "3" + six random digits + a Verhoeff check digit for a taxi ("5" a
stair-climber booking, "8" a request), said and shown in two groups of four ("3051 2746",
spoken.record_number). The six digits are drawn with `secrets` among the numbers still free, so
one number tells nothing about the next; the check digit catches every single wrong digit and
every swap of two neighbouring digits (and most other slips), so a misheard number is answered
"please check it" instead of costing one of the few tries lookup_limit allows. Numbers issued
before (six digits: kind digit + five, no check digit) are kept as they are and still found.
"""

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import verhoeff

from bot.models import ClimberBooking, ResidentRequest, StatusChange, TaxiBooking
from bot.services import lookup_limit

Record = TaxiBooking | ClimberBooking | ResidentRequest

MODELS: dict[str, Any] = {"taxi": TaxiBooking, "climber": ClimberBooking, "request": ResidentRequest}
# The first digit of a number says what it is, so a number said back finds its table.
KIND_DIGIT = {"taxi": "3", "climber": "5", "request": "8"}
NUMBER_LENGTH = 8  # kind digit, six random digits, check digit
RANDOM_DIGITS = NUMBER_LENGTH - 2
OLD_NUMBER_LENGTH = 6  # kind digit and five random digits, no check digit: still found
NUMBER_TRIES = 50  # draws before giving up; a million numbers per kind, so a clash is rare


class NumberError(ValueError):
    """Not a record number (wrong length, kind digit or check digit): `message` tells the resident
    in Chinese to look at the number again. No lookup was tried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


CHECK_AGAIN = "这个编号对不上，可能有一位听错了或者按错了。请对照登记时给您的编号，再说一遍。"
WRONG_LENGTH = "编号是八位数字（以前登记的是六位），请对照登记时给您的编号，再说一遍。"

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


def new_number(kind: str) -> str:
    """A fresh eight-digit number of this kind (not yet checked against the table)."""
    body = KIND_DIGIT[kind] + "".join(secrets.choice("0123456789") for _ in range(RANDOM_DIGITS))
    return body + verhoeff.calc_check_digit(body)


def check_number(said: str) -> str:
    """The record number in what was said or typed ("3051 2746", "3051-2746", an old "305127"),
    or NumberError with what to tell the resident: nothing is looked up for a number that cannot be
    one, so a slip costs no try."""
    number = re.sub(r"[\s\-—－]", "", said)
    if not re.fullmatch(r"[0-9]+", number) or len(number) not in (NUMBER_LENGTH, OLD_NUMBER_LENGTH):
        raise NumberError(WRONG_LENGTH)
    if number[0] not in KIND_DIGIT.values():
        raise NumberError(CHECK_AGAIN)
    if len(number) == NUMBER_LENGTH and not verhoeff.is_valid(number):
        raise NumberError(CHECK_AGAIN)
    return number


def _model_of(number: str) -> Any:
    return next(MODELS[kind] for kind, digit in KIND_DIGIT.items() if number.startswith(digit))


def insert_record(session: Session, row: Record, *, actor: str = "resident") -> tuple[Record, bool]:
    """Store a new record under a fresh short number, once per idempotency key.

    Returns (row, created). A retry with the same key returns the first row and False. Any other
    integrity error (e.g. a stair-climber slot just taken) is raised for the caller to handle."""
    kind = kind_of(row)
    model = MODELS[kind]
    existing = by_key(session, model, row.idempotency_key)
    if existing is not None:
        return existing, False
    for _ in range(NUMBER_TRIES):
        row.number = new_number(kind)
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
    raise RuntimeError(f"no free record number of kind {kind} after {NUMBER_TRIES} draws")


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
    """Any record by its number, as staff type it (spaces and dashes allowed; residents go
    through find_by_number)."""
    try:
        number = check_number(number)
    except NumberError:
        return None
    model = _model_of(number)
    found: Record | None = session.scalar(select(model).where(model.number == number))
    return found


def find_by_number(
    session: Session, *, number: str, phone: str | None, sender_id: str, client: str | None, now: datetime
) -> Record | None:
    """A record by its number, only for its owner: the same conversation, or the phone on it.

    Unknown number and wrong phone give the same None, so guessing learns nothing; each such
    number-plus-phone try counts against the conversation and the client's address, and past
    lookup_limit's allowance TooManyFailures is raised before the phone is compared. NumberError
    for what cannot be a number (check digit, length): no try spent."""
    number = check_number(number)
    model = _model_of(number)
    row: Record | None = session.scalar(select(model).where(model.number == number))
    if row is not None and row.sender_id == sender_id:
        return row
    if not phone:
        return None  # a number alone shows nothing and tells nothing: no try
    lookup_limit.check(session, sender_id=sender_id, client=client, now=now)
    if row is not None and row.phone == phone:
        return row
    lookup_limit.record_failure(session, sender_id=sender_id, client=client, now=now)
    return None


def is_open(row: Record) -> bool:
    """Still something that can be cancelled (not done, not cancelled)."""
    return CANCELLED[kind_of(row)] in TRANSITIONS[kind_of(row)].get(row.status, ())
