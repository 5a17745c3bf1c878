"""Callback requests: a resident wants a person. Staff see them in the queue and call back."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import HandoffRequest
from bot.services import knowledge

STAFF_DESK = "居委会"


def request_callback(
    session: Session,
    *,
    sender_id: str,
    channel: str,
    phone: str | None,
    message: str,
    message_id: str | None = None,
) -> HandoffRequest:
    if message_id:
        existing = session.scalar(
            select(HandoffRequest).where(HandoffRequest.sender_id == sender_id, HandoffRequest.message_id == message_id)
        )
        if existing is not None:
            return existing
    row = HandoffRequest(sender_id=sender_id, channel=channel, phone=phone, message=message, message_id=message_id)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.scalars(
            select(HandoffRequest).where(HandoffRequest.sender_id == sender_id, HandoffRequest.message_id == message_id)
        ).one()
    return row


def where_to_find_staff(session: Session, *, now: datetime) -> str:
    """When and where staff can be reached in person: today's desk hours, or the next opening."""
    for ahead in range(0, 8):
        day = (now + timedelta(days=ahead)).date()
        hours = knowledge.hours_on(session, facility=STAFF_DESK, day=day, now=now)
        if hours is None:
            return ""
        still_open_today = ahead == 0 and any(c > now.strftime("%H:%M") for _, c in hours.periods)
        if hours.periods and (ahead > 0 or still_open_today):
            return hours.text
    return ""
