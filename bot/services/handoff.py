"""Callback requests: a resident wants a person. Staff see them in the queue and call back."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.models import HandoffRequest
from bot.services import knowledge
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
