"""The audit log: who viewed or changed a request, booking or content item, and when. Personal data
(phones, addresses, what residents said) is audited wherever staff read it: the console's pages
and the JSON API under /api/staff/ alike."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AuditEntry


def record(session: Session, *, actor: str, action: str, kind: str, object_id: str = "", detail: str = "") -> None:
    """Added to the caller's transaction; the caller commits (so the change and its entry land together).
    The object's id is cut to its column's 64 characters (a WeChat or web sender id can be longer)."""
    session.add(
        AuditEntry(actor=actor, action=action, object_kind=kind, object_id=object_id[:64], detail=detail[:2000])
    )


def record_first(session: Session, *, actor: str, action: str, kind: str, object_ids: list[str]) -> None:
    """One entry per object the first time this actor reads it: the alert bar polls every few
    seconds and shows the same alerts again, which would otherwise write thousands of identical
    rows a day; what an audit needs is who saw which phone first, and when."""
    if not object_ids:
        return
    seen = set(
        session.scalars(
            select(AuditEntry.object_id).where(
                AuditEntry.actor == actor,
                AuditEntry.action == action,
                AuditEntry.object_kind == kind,
                AuditEntry.object_id.in_([i[:64] for i in object_ids]),
            )
        )
    )
    for object_id in dict.fromkeys(object_ids):
        if object_id[:64] not in seen:
            record(session, actor=actor, action=action, kind=kind, object_id=object_id)
