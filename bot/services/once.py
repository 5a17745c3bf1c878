"""Store a row once per resident message: a retried delivery returns the row stored the first time.

Rows that come from a conversation carry the sender and the id of the message that caused them;
the tables have a unique constraint on the pair, which settles concurrent duplicates too."""

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

Row = TypeVar("Row", bound=Any)


def _stored(session: Session, model: Any, sender_id: str, message_id: str) -> Any:
    return session.scalar(select(model).where(model.sender_id == sender_id, model.message_id == message_id))


def insert_once(session: Session, row: Row) -> Row:
    model = type(row)
    row.message_id = row.message_id or None  # "" is no message id (NULLs never clash in the constraint)
    if row.message_id:
        existing = _stored(session, model, row.sender_id, row.message_id)
        if existing is not None:
            return existing  # type: ignore[no-any-return]
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if not row.message_id:
            raise
        return _stored(session, model, row.sender_id, row.message_id)  # type: ignore[no-any-return]
    return row
