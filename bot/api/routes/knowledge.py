"""Facility hours and policy answers for the bot."""

from datetime import date
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from bot.api.deps import NowDep, SessionDep
from bot.services import chinese_time, knowledge, knowledge_base

router = APIRouter(tags=["knowledge"])


class HoursOut(BaseModel):
    facility: str
    date: date
    weekday: int
    periods: list[tuple[str, str]]
    exception: bool
    note: str
    open_now: bool | None
    location: str
    phone: str
    text: str


class PolicyOut(BaseModel):
    topic: str
    title: str  # its entry's: what "您是想问……吗？" offers, and the question its button asks
    answer: str
    needs_confirmation: bool


@router.get("/facilities")
def list_facilities(session: SessionDep) -> list[str]:
    return knowledge.facility_names(session)


@router.get("/facilities/{name}/hours", response_model=HoursOut)
def facility_hours(name: str, session: SessionDep, now: NowDep, when: str = "") -> HoursOut:
    """Hours on the day `when` speaks of (a resident's words: 礼拜六, 明朝, 下礼拜一), else today."""
    day = chinese_time.find_day(when, now=now) if when else None
    hours = knowledge.hours_on(session, facility=name, day=day or now.date(), now=now)
    if hours is None:
        raise HTTPException(
            status_code=404,
            detail={"message": f"没有“{name}”这个地方的资料", "known": knowledge.facility_names(session)},
        )
    return HoursOut(
        facility=hours.facility,
        date=hours.day,
        weekday=hours.day.weekday(),
        periods=hours.periods,
        exception=hours.exception,
        note=hours.note,
        open_now=hours.open_now,
        location=hours.location,
        phone=hours.phone,
        text=hours.text,
    )


@router.get("/policies")
def list_policies(session: SessionDep) -> list[str]:
    return knowledge.policy_topics(session)


@router.get("/policies/{topic}", response_model=PolicyOut)
def policy(topic: str, session: SessionDep) -> PolicyOut:
    """The knowledge entry for a policy topic the NLU named."""
    row = knowledge.get_policy(session, topic=topic)
    if row is None:
        raise HTTPException(
            status_code=404,
            detail={"message": f"没有“{topic}”的政策解答", "known": knowledge.policy_topics(session)},
        )
    return PolicyOut(topic=topic, title=row.title, answer=row.spoken, needs_confirmation=row.needs_confirmation)


class QuestionIn(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    sender_id: str = Field(default="", max_length=128)
    channel: str = Field(default="", max_length=32)
    strict: bool = False  # the NLU took it for out of scope: answer only when sure (knowledge_base.decide)


class EntryOut(BaseModel):
    title: str
    spoken: str
    details: list[tuple[str, str]]  # (label, text), for the screen and chat
    needs_confirmation: bool


class KnowledgeAnswerOut(BaseModel):
    outcome: Literal["answered", "asked_which", "unknown"]
    entry: EntryOut | None
    choices: list[str]  # when asked_which, one or two titles, best first ("您是想问 A 吗？", "A 还是 B？")
    score: float


@router.post("/knowledge/answer", response_model=KnowledgeAnswerOut)
def knowledge_answer(body: QuestionIn, session: SessionDep, now: NowDep) -> KnowledgeAnswerOut:
    """A resident's question matched against every entry's ways of asking, and kept for staff."""
    result = knowledge_base.answer(
        session, question=body.question, sender_id=body.sender_id, channel=body.channel, now=now, strict=body.strict
    )
    entry = result.entry
    return KnowledgeAnswerOut(
        outcome=result.outcome,
        entry=EntryOut(
            title=entry.title,
            spoken=entry.spoken,
            details=knowledge_base.labelled_details(entry),
            needs_confirmation=entry.needs_confirmation,
        )
        if entry
        else None,
        choices=[c.title for c in result.choices],
        score=result.candidates[0].score if result.candidates else 0.0,
    )


class TilesOut(BaseModel):
    titles: list[str]
    more: bool  # another page follows


@router.get("/knowledge/tiles", response_model=TilesOut)
def tiles(session: SessionDep, now: NowDep, page: int = Query(default=1, ge=1, le=100)) -> TilesOut:
    """A page of titles for the 政策咨询 tiles: the most-asked of the last 30 days first."""
    titles, more = knowledge_base.tiles_page(session, now=now, page=page)
    return TilesOut(titles=titles, more=more)
