"""Callback requests: a resident wants a person. Staff see them in the queue and call back."""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import HandoffRequest
from bot.services import audit, knowledge
from bot.services.once import insert_once

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
    row = HandoffRequest(sender_id=sender_id, channel=channel, phone=phone, message=message, message_id=message_id)
    return insert_once(session, row)


WAITING = "待回电"
CALLED = "已回电"


def callback_queue(session: Session, *, now: datetime) -> list[HandoffRequest]:
    """Every callback still waiting (oldest first: they have waited longest), then those called
    back in the last seven days."""
    waiting = session.scalars(
        select(HandoffRequest).where(HandoffRequest.status == WAITING).order_by(HandoffRequest.created_at)
    )
    called = session.scalars(
        select(HandoffRequest)
        .where(HandoffRequest.status == CALLED, HandoffRequest.created_at >= now - timedelta(days=7))
        .order_by(HandoffRequest.created_at.desc())
    )
    return [*waiting, *called]


def mark_called(session: Session, callback_id: int, *, actor: str) -> HandoffRequest | None:
    row = session.get(HandoffRequest, callback_id)
    if row is None:
        return None
    if row.status != CALLED:
        row.status = CALLED
        audit.record(session, actor=actor, action="change", kind="callback", object_id=str(row.id), detail=CALLED)
        session.commit()
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
