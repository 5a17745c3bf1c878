"""The audit log: who viewed or changed a request, booking or content item."""

from sqlalchemy.orm import Session

from bot.models import AuditEntry


def record(session: Session, *, actor: str, action: str, kind: str, object_id: str = "", detail: str = "") -> None:
    """Added to the caller's transaction; the caller commits (so the change and its entry land together)."""
    session.add(AuditEntry(actor=actor, action=action, object_kind=kind, object_id=object_id, detail=detail[:2000]))
