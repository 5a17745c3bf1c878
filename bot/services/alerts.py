"""Urgent alerts for staff. Recording one must never fail twice for the same message."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Alert

EMERGENCY_KINDS = ("急病受伤", "火灾", "燃气泄漏", "治安", "电梯困人", "未分类")


def raise_alert(
    session: Session,
    *,
    kind: str,
    sender_id: str,
    channel: str,
    message: str,
    message_id: str | None = None,
    source: str = "emergency",
) -> Alert:
    """Record an alert; the same (sender, message id) delivered twice gives the same alert."""
    if message_id:
        existing = session.scalar(select(Alert).where(Alert.sender_id == sender_id, Alert.message_id == message_id))
        if existing is not None:
            return existing
    alert = Alert(
        source=source, kind=kind, sender_id=sender_id, channel=channel, message=message, message_id=message_id
    )
    session.add(alert)
    try:
        session.commit()
    except IntegrityError:  # a concurrent duplicate won the race: return the stored one
        session.rollback()
        return session.scalars(select(Alert).where(Alert.sender_id == sender_id, Alert.message_id == message_id)).one()
    return alert


def open_alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.acknowledged_at.is_(None)).order_by(Alert.created_at.desc())))
