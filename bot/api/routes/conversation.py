"""What the dialogue records for staff: emergency alerts and callback requests."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import AfterValidator, BaseModel, Field

from bot.api.deps import NowDep, SessionDep
from bot.services import alerts, handoff, phone

router = APIRouter(tags=["conversation"])


# What the resident said, kept with an alert or a callback request: never refused for its length
# (an emergency must be recorded however long the message), only the first part is stored.
def _first(count: int) -> AfterValidator:
    return AfterValidator(lambda text: text[:count])


SaidText = Annotated[str, Field(max_length=100_000), _first(2000)]
PhoneText = Annotated[str, Field(max_length=100_000), _first(200)]  # a phone is in the first words


class AlertIn(BaseModel):
    kind: str = Field(max_length=32)
    sender_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(default="", max_length=32)
    message: SaidText = ""
    message_id: str | None = Field(default=None, max_length=64)
    place: str = Field(default="", max_length=128)  # the kiosk's id and location
    phone: str | None = Field(default=None, max_length=200)  # a phone the conversation gave, as said


class AlertOut(BaseModel):
    id: int
    kind: str
    created_at: datetime


class HandoffIn(BaseModel):
    sender_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(default="", max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    message: SaidText = ""
    message_id: str | None = Field(default=None, max_length=64)


class HandoffOut(BaseModel):
    id: int
    staff_hours: str


class PhoneIn(BaseModel):
    text: PhoneText


class PhoneOut(BaseModel):
    phone: str


@router.post("/alerts", status_code=201, response_model=AlertOut)
def create_alert(body: AlertIn, session: SessionDep) -> AlertOut:
    if body.kind not in alerts.EMERGENCY_KINDS:
        raise HTTPException(status_code=422, detail=f"kind must be one of {', '.join(alerts.EMERGENCY_KINDS)}")
    try:  # an alert is never refused for a phone it cannot read: it is kept without one
        number = phone.normalize_phone(body.phone) if body.phone else None
    except phone.PhoneError:
        number = None
    row = alerts.raise_alert(session, **{**body.model_dump(), "phone": number})
    return AlertOut(id=row.id, kind=row.kind, created_at=row.created_at)


@router.post("/handoffs", status_code=201, response_model=HandoffOut)
def create_handoff(body: HandoffIn, session: SessionDep, now: NowDep) -> HandoffOut:
    number = None
    if body.phone:
        try:
            number = phone.normalize_phone(body.phone)
        except phone.PhoneError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    row = handoff.request_callback(session, **{**body.model_dump(), "phone": number})
    return HandoffOut(id=row.id, staff_hours=handoff.where_to_find_staff(session, now=now))


@router.post("/parse/phone", response_model=PhoneOut)
def parse_phone(body: PhoneIn) -> PhoneOut:
    """Digits from what the resident said; 422 carries the Chinese explanation to read back."""
    try:
        return PhoneOut(phone=phone.normalize_phone(body.text))
    except phone.PhoneError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
