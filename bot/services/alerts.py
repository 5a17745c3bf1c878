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


# The kiosk's red button: an alert straight from the socket, never through the NLU. Its type is
# not known (the resident only touched), so it takes the emergency action's general kind.
KIOSK_SOS_KIND = "未分类"
KIOSK_SOS_MESSAGE = "自助机上按了紧急求助"
KIOSK_COME_MESSAGE = "自助机上按了“请工作人员过来”：请马上去自助机"


def kiosk_place(kiosk_id: str, location: str) -> str:
    """Where to go: the kiosk's location and id, as the emergency action writes them."""
    return " ".join(part for part in (location, kiosk_id) if part)[:128]


def raise_kiosk_sos(
    session: Session, *, sender_id: str, message_id: str, kiosk_id: str, location: str, come: bool = False
) -> Alert:
    """The kiosk session's emergency (or its request that staff come over) as an alert. The same
    message id gives the same alert: the socket reuses it for a double tap (bot/api/routes/kiosk.py)."""
    return raise_alert(
        session,
        kind=KIOSK_SOS_KIND,
        sender_id=sender_id,
        channel="kiosk",
        message=KIOSK_COME_MESSAGE if come else KIOSK_SOS_MESSAGE,
        message_id=message_id,
        place=kiosk_place(kiosk_id, location),
    )
