"""Facility hours and policy answers for the bot."""

from datetime import date
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from bot.api.deps import NowDep, SessionDep
from bot.services import chinese_time, knowledge

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
def list_policies(session: SessionDep, order: Literal["", "asked"] = "") -> list[str]:
    """The topics; `order=asked`: the most-asked first (the kiosk's topic tiles)."""
    return knowledge.policy_topics(session, most_asked_first=order == "asked")


@router.get("/policies/{topic}", response_model=PolicyOut)
def policy(topic: str, session: SessionDep) -> PolicyOut:
    """The answer given to a resident (and counted as asked once more)."""
    row = knowledge.answer_policy(session, topic=topic)
    if row is None:
        raise HTTPException(
            status_code=404,
            detail={"message": f"没有“{topic}”的政策解答", "known": knowledge.policy_topics(session)},
        )
    return PolicyOut(topic=row.topic, answer=row.answer, needs_confirmation=row.needs_confirmation)
