"""Taxi rides, stair-climber bookings and residents' requests: created by the actions (with an
idempotency key), looked up and cancelled by their owner, moved along by staff."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from bot.api.clients import ClientsDep
from bot.api.deps import NowDep, SessionDep
from bot.models import ClimberBooking, TaxiBooking
from bot.services import lookup_limit, records, resident_requests, spoken, stair_climber, taxi
from bot.services import phone as phones
from bot.services.dispatch import get_dispatcher
from bot.services.forms.lookup import describe, resolve

router = APIRouter(tags=["bookings"])
Kind = Literal["taxi", "climber", "request"]

Key = Field(min_length=8, max_length=200, description="the same key on a retry returns the first record")
Sender = Field(min_length=1, max_length=128)


def _phone(value: str) -> str:
    try:
        return phones.normalize_phone(value)
    except phones.PhoneError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def _answer(response: Response, created: bool) -> None:
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK


class RecordOut(BaseModel):
    number: str
    status: str
    urgent: bool = False
    text: str


# --- taxi -----------------------------------------------------------------------------------


class CreateIn(BaseModel):
    # the resident answers by touch at a kiosk without speech: "请按‘我的预约/报修’", not "跟我说"
    touch_only: bool = False


def _fields(body: CreateIn) -> dict[str, Any]:
    """The record's own fields, for the service (the phone read as digits)."""
    return {**body.model_dump(exclude={"touch_only"}), "phone": _phone(getattr(body, "phone", ""))}


def _how_to_check(body: CreateIn, said: str) -> str:
    return "以后要查，请按“我的预约/报修”。" if body.touch_only else said


class TaxiIn(CreateIn):
    idempotency_key: str = Key
    sender_id: str = Sender
    channel: str = Field(default="", max_length=32)
    phone: str = Field(max_length=40)
    pickup: str = Field(min_length=1, max_length=200)
    destination: str = Field(min_length=1, max_length=200)
    pickup_at: AwareDatetime
    asap: bool = False
    passengers: int = Field(default=1, ge=1, le=taxi.MAX_PASSENGERS)
    assistance: str = Field(default="", max_length=100)


@router.post("/taxi-bookings", response_model=RecordOut, status_code=201)
def create_taxi_booking(
    body: TaxiIn, session: SessionDep, now: NowDep, response: Response, clients: ClientsDep
) -> RecordOut:
    try:
        booking, created = taxi.book_taxi(
            session,
            **_fields(body),
            dispatcher=get_dispatcher(clients.provider),
            now=now,
        )
    except taxi.TaxiError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    _answer(response, created)
    if booking.status == "已派车":
        text = f"好的，车叫好了，编号{spoken.record_number(booking.number)}。{taxi.describe(booking, now=now)}"
    else:
        text = (
            f"好的，已经登记了，编号{spoken.record_number(booking.number)}。"
            f"工作人员会用申程出行帮您派车，派好了会打{booking.phone}"
            "告诉您车牌。" + _how_to_check(body, "您也可以问我“车子到哪里了”。")
        )
    return RecordOut(number=booking.number, status=booking.status, urgent=booking.urgent, text=text)


# --- stair-climber --------------------------------------------------------------------------


class ClimberIn(CreateIn):
    idempotency_key: str = Key
    sender_id: str = Sender
    channel: str = Field(default="", max_length=32)
    phone: str = Field(max_length=40)
    slot_start: AwareDatetime
    building: str = Field(min_length=1, max_length=32)
    floor: int = Field(ge=1, le=40)
    room: str = Field(default="", max_length=16)
    direction: Literal["下楼", "上楼", "往返"]
    purpose: str = Field(default="", max_length=200)


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    free: bool


@router.post("/stair-climber/bookings", response_model=RecordOut, status_code=201)
def create_climber_booking(body: ClimberIn, session: SessionDep, now: NowDep, response: Response) -> RecordOut:
    try:
        booking, created = stair_climber.book(session, **_fields(body), now=now)
    except stair_climber.SlotTaken as taken:
        alternatives = [stair_climber.slot_text(s.start, now=now) for s in taken.alternatives]
        offer = f"{alternatives[0]}还有空，" if alternatives else ""
        raise HTTPException(
            status_code=409,
            detail={
                "message": f"不好意思，这个时间刚刚被别人约走了。{offer}请再约一次。",
                "alternatives": [s.start.isoformat() for s in taken.alternatives],
            },
        ) from taken
    _answer(response, created)
    text = (
        f"好的，约好了，编号{spoken.record_number(booking.number)}。{stair_climber.describe(booking, now=now)}"
        f"来之前会打{booking.phone}联系您。"
    )
    return RecordOut(number=booking.number, status=booking.status, text=text)


SLOT_DAYS_AHEAD = 60  # slots further out (or in the past) are nobody's question


@router.get("/stair-climber/slots", response_model=list[SlotOut])
def climber_slots(day: date, session: SessionDep, now: NowDep) -> list[SlotOut]:
    today = now.date()
    if not today - timedelta(days=1) <= day <= today + timedelta(days=SLOT_DAYS_AHEAD):
        raise HTTPException(status_code=422, detail=f"day must be within {SLOT_DAYS_AHEAD} days from today")
    return [
        SlotOut(start=s.start, end=s.end, free=stair_climber.is_free(session, s))
        for s in stair_climber.slots_on(session, day)
    ]


# --- requests -------------------------------------------------------------------------------


class RequestIn(CreateIn):
    idempotency_key: str = Key
    sender_id: str = Sender
    channel: str = Field(default="", max_length=32)
    phone: str = Field(max_length=40)
    category: Literal[resident_requests.CATEGORIES]  # type: ignore[valid-type]
    description: str = Field(default="", max_length=2000)
    location: str = Field(default="", max_length=200)


@router.post("/requests", response_model=RecordOut, status_code=201)
def create_request(body: RequestIn, session: SessionDep, response: Response) -> RecordOut:
    request, created = resident_requests.file_request(session, **_fields(body))
    _answer(response, created)
    urgent = "这个情况比较危险，已经马上通知工作人员了。" if request.urgent else ""
    text = (
        f"已经记下了，编号{spoken.record_number(request.number)}。{urgent}"
        f"工作人员会尽快处理，会打{request.phone}联系您。" + _how_to_check(body, "问进度就跟我说“我报的事情怎么样了”。")
    )
    return RecordOut(number=request.number, status=request.status, urgent=request.urgent, text=text)


# --- any kind: status and cancel for the owner ----------------------------------------------


# The resident's address as the engine's channel saw or was told it (connectors/rest.py): the
# source whose wrong number-plus-phone lookups are counted, beside the conversation.
Client = Field(default=None, max_length=64)


class LookupIn(BaseModel):
    sender_id: str = Sender
    number: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=40)
    kinds: list[Kind] = Field(default=["taxi", "climber", "request"])  # pydantic copies defaults
    client: str | None = Client


class LookupOut(BaseModel):
    count: int
    texts: list[str]
    open_numbers: list[str] = []  # those still open, which the owner may cancel


@contextmanager
def _lookup_refusals() -> Iterator[None]:
    """A lookup's refusals as HTTP errors: 422 for what cannot be a number (a slip of one digit:
    no try spent), 429 once the conversation or source has used up its tries (the detail says, in
    Chinese, where to go instead)."""
    try:
        yield
    except records.NumberError as wrong:
        raise HTTPException(status_code=422, detail=wrong.message) from wrong
    except lookup_limit.TooManyFailures as refused:
        raise HTTPException(status_code=429, detail=refused.message) from refused


@router.post("/records/status", response_model=LookupOut)
def record_status(body: LookupIn, session: SessionDep, now: NowDep) -> LookupOut:
    """Only the owner's records: the same conversation, or number plus the phone on it."""
    state = {"lookup_number": body.number, "lookup_phone": body.phone, "lookup_kinds": body.kinds}
    with _lookup_refusals():
        found = resolve(session, sender_id=body.sender_id, client=body.client, state=state, now=now)
    return LookupOut(
        count=len(found),
        texts=[describe(r, now=now) for r in found],
        open_numbers=[r.number for r in found if records.is_open(r)],
    )


class CancelIn(BaseModel):
    sender_id: str = Sender
    phone: str | None = Field(default=None, max_length=40)
    actor: str = Field(default="resident", max_length=64)
    client: str | None = Client


@router.post("/records/{number}/cancel", response_model=RecordOut)
def cancel_record(number: str, body: CancelIn, session: SessionDep, now: NowDep, clients: ClientsDep) -> RecordOut:
    with _lookup_refusals():
        record = records.find_by_number(
            session, number=number, phone=body.phone, sender_id=body.sender_id, client=body.client, now=now
        )
    if record is None:
        raise HTTPException(status_code=404, detail={"message": "没有找到这个编号，或者手机号对不上。"})
    if not records.is_open(record):
        raise HTTPException(status_code=409, detail={"message": f"这个已经{record.status}，不能再取消了。"})
    if isinstance(record, TaxiBooking):
        taxi.cancel(session, record, dispatcher=get_dispatcher(clients.provider), actor=body.actor)
        text = f"好的，编号{spoken.record_number(record.number)}的车已经取消了。"
    elif isinstance(record, ClimberBooking):
        stair_climber.cancel(session, record, actor=body.actor)
        text = f"好的，编号{spoken.record_number(record.number)}的爬楼机预约已经取消了，这个时间空出来给别人用。"
    else:
        resident_requests.withdraw(session, record, actor=body.actor)
        text = f"好的，编号{spoken.record_number(record.number)}的事情已经撤销了。"
    return RecordOut(number=record.number, status=record.status, text=text)
