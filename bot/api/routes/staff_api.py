"""The staff console's JSON API under /api/staff/ (signed-in staff only): the same services as
the pages, for scripts and the alerts poll. Phone numbers and addresses appear only here and in
the pages, both behind sign-in, and every read of them is in the audit log as a page view is
(bot/services/audit.py): who, what, when."""

from datetime import date, datetime
from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, Field

from bot.api.deps import NowDep, SessionDep
from bot.api.staff import SHANGHAI, StaffDep
from bot.services import alerts as alert_service
from bot.services import audit, content_admin, conversations, records, staff_work
from bot.services.content import ContentError
from bot.services.forms.lookup import describe

router = APIRouter(prefix="/staff", tags=["staff"])

ALERT_LABELS = {"emergency": "紧急求助", "request": "紧急诉求", "taxi": "急用车"}


class AlertOut(BaseModel):
    id: int
    source: str
    kind: str
    label: str
    message: str
    time: str
    created_at: datetime
    where: str = ""  # the kiosk's location, else the channel
    phone: str | None = None
    conversation: str = ""  # the staff page of the conversation


@router.get("/alerts", response_model=list[AlertOut])
def alerts(user: StaffDep, session: SessionDep) -> list[AlertOut]:
    shown = alert_service.open_alerts(session)
    audit.record_first(session, actor=user.username, action="view", kind="alert", object_ids=[str(a.id) for a in shown])
    session.commit()
    return [
        AlertOut(
            id=a.id,
            source=a.source,
            kind=a.kind,
            label=f"{ALERT_LABELS.get(a.source, '紧急')}·{a.kind}",
            message=a.message[:200],
            time=records.as_utc(a.created_at).astimezone(SHANGHAI).strftime("%H:%M"),
            created_at=a.created_at,
            where=a.place or conversations.CHANNELS.get(a.channel, a.channel),
            phone=a.phone,
            conversation=f"/staff/conversations/{quote(a.sender_id, safe='')}",
        )
        for a in shown
    ]


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def acknowledge(alert_id: int, user: StaffDep, session: SessionDep, now: NowDep) -> AlertOut:
    alert = staff_work.acknowledge(session, alert_id, actor=user.username, now=now)
    if alert is None:
        raise HTTPException(status_code=404, detail="no such alert")
    return AlertOut(
        id=alert.id, source=alert.source, kind=alert.kind, label=alert.kind, message=alert.message[:200],
        time="", created_at=alert.created_at,
    )  # fmt: skip


class SummaryOut(BaseModel):
    sender_id: str
    channel: str
    started: datetime
    last: datetime
    user_messages: int
    first_text: str
    intents: list[str]
    min_confidence: float | None
    fallback: bool
    handoff: bool
    emergency: bool
    booked: bool
    reviewed: bool
    tags: list[str]


@router.get("/conversations", response_model=list[SummaryOut])
def conversation_list(
    user: StaffDep,
    session: SessionDep,
    channel: str = "",
    since: date | None = None,
    until: date | None = None,
    intent: str = "",
    flag: Literal["", "low_confidence", "fallback", "handoff", "emergency", "booked", "unreviewed"] = "",
) -> list[SummaryOut]:
    filters = conversations.Filters(channel, since, until, intent, flag)
    audit.record(session, actor=user.username, action="view", kind="conversation", object_id="list")
    session.commit()
    return [
        SummaryOut(**{**s.__dict__, "intents": sorted(s.intents)})
        for s in conversations.summaries(session)
        if filters.keep(s, SHANGHAI)
    ]


class MessageOut(BaseModel):
    event_id: int
    at: datetime
    kind: str
    text: str
    intent: str
    confidence: float | None
    entities: list[dict[str, object]]
    action: str
    corrected: str


@router.get("/conversations/{sender_id}", response_model=list[MessageOut])
def conversation(sender_id: str, user: StaffDep, session: SessionDep) -> list[MessageOut]:
    messages = conversations.transcript(session, sender_id=sender_id)
    if not messages:
        raise HTTPException(status_code=404, detail="no such conversation")
    audit.record(session, actor=user.username, action="view", kind="conversation", object_id=sender_id)
    session.commit()
    return [MessageOut(**m.__dict__) for m in messages]


class ReviewIn(BaseModel):
    reviewed: bool = True
    tags: list[str] = Field(default_factory=list, max_length=20)


@router.post("/conversations/{sender_id}/review", status_code=204)
def review(sender_id: str, body: ReviewIn, user: StaffDep, session: SessionDep, now: NowDep) -> None:
    conversations.review(
        session, sender_id=sender_id, actor=user.username, reviewed=body.reviewed, tags=body.tags, now=now
    )


class CorrectionIn(BaseModel):
    event_id: int
    intent: str = Field(min_length=2, max_length=64)


@router.post("/conversations/{sender_id}/corrections", status_code=201)
def correct(sender_id: str, body: CorrectionIn, user: StaffDep, session: SessionDep) -> dict[str, str]:
    try:
        row = conversations.correct_intent(
            session, sender_id=sender_id, event_id=body.event_id, intent=body.intent, actor=user.username
        )
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return {"text": row.text, "intent": row.intent}


@router.get("/corrections.yml", response_class=PlainTextResponse)
def corrections(user: StaffDep, session: SessionDep) -> str:
    audit.record(session, actor=user.username, action="export", kind="correction")
    session.commit()
    return conversations.corrections_yaml(session)


class RecordOut(BaseModel):
    number: str
    status: str
    text: str


class DispatchIn(BaseModel):
    plate: str = Field(min_length=2, max_length=16)
    car: str = Field(default="", max_length=64)
    eta_at: AwareDatetime | None = None


@router.post("/taxi/{number}/dispatch", response_model=RecordOut)
def dispatch(number: str, body: DispatchIn, user: StaffDep, session: SessionDep, now: NowDep) -> RecordOut:
    booking = staff_work.find_taxi(session, number)
    if booking is None:
        raise HTTPException(status_code=404, detail={"message": f"no taxi booking {number}"})
    try:
        staff_work.dispatch(session, booking, plate=body.plate, car=body.car, eta_at=body.eta_at, actor=user.username)
    except records.StatusError as exc:
        raise HTTPException(status_code=409, detail={"message": str(exc)}) from exc
    return RecordOut(number=number, status=booking.status, text=describe(booking, now=now))


class StatusIn(BaseModel):
    status: Literal["已派车", "已完成", "已取消", "已派单", "处理中", "已办结", "已回访", "已撤销"]
    note: str = Field(default="", max_length=1000)


@router.post("/records/{number}/status", response_model=RecordOut)
def move(number: str, body: StatusIn, user: StaffDep, session: SessionDep, now: NowDep) -> RecordOut:
    """Move a booking or request along (records.TRANSITIONS); 409 when not allowed from its status."""
    record = records.by_number(session, number)
    if record is None:
        raise HTTPException(status_code=404, detail={"message": f"no record {number}"})
    try:
        staff_work.move(session, record, status=body.status, note=body.note, actor=user.username)
    except records.StatusError as exc:
        raise HTTPException(status_code=409, detail={"message": str(exc)}) from exc
    return RecordOut(number=number, status=record.status, text=describe(record, now=now))


class AssignIn(BaseModel):
    department: str = Field(max_length=32)
    assignee: str = Field(default="", max_length=64)


@router.post("/requests/{number}/assign", response_model=RecordOut)
def assign(number: str, body: AssignIn, user: StaffDep, session: SessionDep, now: NowDep) -> RecordOut:
    request = staff_work.find_request(session, number)
    if request is None:
        raise HTTPException(status_code=404, detail={"message": f"no request {number}"})
    try:
        staff_work.assign(session, request, department=body.department, assignee=body.assignee, actor=user.username)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return RecordOut(number=number, status=request.status, text=describe(request, now=now))


class FollowUpIn(BaseModel):
    satisfaction: Literal["满意", "基本满意", "不满意"]
    note: str = Field(default="", max_length=1000)


@router.post("/requests/{number}/follow-up", response_model=RecordOut)
def follow_up(number: str, body: FollowUpIn, user: StaffDep, session: SessionDep, now: NowDep) -> RecordOut:
    request = staff_work.find_request(session, number)
    if request is None:
        raise HTTPException(status_code=404, detail={"message": f"no request {number}"})
    try:
        staff_work.follow_up(session, request, satisfaction=body.satisfaction, note=body.note, actor=user.username)
    except records.StatusError as exc:
        raise HTTPException(status_code=409, detail={"message": str(exc)}) from exc
    return RecordOut(number=number, status=request.status, text=describe(request, now=now))


class WeeklyIn(BaseModel):
    weekly: dict[int, str] = Field(description='weekday (0 = Monday) → "08:30-11:30, 13:30-17:00"; "" closed')


@router.put("/facilities/{name}/weekly", status_code=204)
def set_weekly(name: str, body: WeeklyIn, user: StaffDep, session: SessionDep) -> None:
    facility = content_admin.get_facility(session, name)
    if facility is None:
        raise HTTPException(status_code=404, detail="no such facility")
    if set(body.weekly) - set(range(7)):
        raise HTTPException(status_code=422, detail="weekdays are 0..6")
    try:
        content_admin.set_weekly(session, facility, weekly=body.weekly, actor=user.username)
    except ContentError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


class PolicyIn(BaseModel):
    answer: str = Field(min_length=1, max_length=2000)


@router.put("/policies/{topic}", status_code=204)
def set_policy(topic: str, body: PolicyIn, user: StaffDep, session: SessionDep) -> None:
    from bot.services.knowledge import get_policy

    policy = get_policy(session, topic=topic)
    if policy is None:
        raise HTTPException(status_code=404, detail="no such topic")
    content_admin.set_policy(session, policy, answer=body.answer, actor=user.username)
