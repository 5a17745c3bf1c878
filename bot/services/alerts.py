"""Urgent alerts for staff: emergencies now, later also urgent requests and rides."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Alert
from bot.services.once import insert_once

EMERGENCY_KINDS = ("急病受伤", "火灾", "燃气泄漏", "治安", "电梯困人", "诈骗", "未分类")


def raise_alert(
    session: Session,
    *,
    kind: str,
    sender_id: str,
    channel: str,
    message: str,
    message_id: str | None = None,
    source: str = "emergency",
    place: str = "",
    phone: str | None = None,
) -> Alert:
    """Record an alert; the same (sender, message id) delivered twice gives the same alert."""
    alert = Alert(
        source=source, kind=kind, sender_id=sender_id, channel=channel, message=message, message_id=message_id,
        place=place, phone=phone,
    )  # fmt: skip
    return insert_once(session, alert)


def open_alerts(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.acknowledged_at.is_(None)).order_by(Alert.created_at.desc())))
