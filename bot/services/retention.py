"""Residents' personal data, kept only as long as needed: `Settings.retention_days` (180 by
default) after a record's last change, then deleted or anonymised by `python -m bot.cli
purge-old-data`, which `make run` runs at start and then every day.

What happens to what is older than the retention:
- Rasa's tracker store (`events`): each event is deleted. Rasa itself keeps a conversation for
  ever, and a WeChat resident's conversation id never changes, so it goes event by event, not
  conversation by conversation. Staff's notes on conversations go with them: a review once its
  conversation has no newer event, an intent correction once its message is gone (it holds the
  resident's words verbatim).
- Closed records — taxi and stair-climber bookings done or cancelled, requests 办结/回访/撤销,
  by their last change — acknowledged alerts (by the acknowledgement) and callbacks called back
  (by the request; no call time is kept): anonymised, never deleted. Phone, address, free text
  and conversation id are cleared; number, kind, category, status, satisfaction and dates stay,
  so the dashboard's figures do not change and the CSV keeps a line per record. The notes staff
  wrote in those records' status history (and the copies in the audit log) are cleared too, and
  the audit log's older views of conversations no longer say which conversation.
- Staff sign-in attempts (name and network address): deleted; only the last 15 minutes count.
- Callbacks an action server's outbox kept because the app refused them: deleted.
Open records, waiting callbacks, unacknowledged alerts and anything newer are never touched.
Every run writes one audit row with its counts; a second run finds nothing more to do. With
SQLite the rows are gone from the files too, not only from the tables (see _erase_for_real).
"""

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, cast, delete, inspect, literal, or_, select, update
from sqlalchemy.orm import Session

from bot.models import (
    Alert,
    AuditEntry,
    ClimberBooking,
    ConversationReview,
    HandoffRequest,
    IntentCorrection,
    LoginAttempt,
    ResidentRequest,
    StatusChange,
    TaxiBooking,
)
from bot.services import audit, handoff, staff_work
from bot.services.conversations import EVENTS

# The conversation id of an anonymised row: no conversation has an empty id.
ANONYMOUS = ""
# Tracker events are deleted in batches, each its own short transaction: with SQLite the engine
# writes to the same file, and one long delete would keep it waiting.
EVENT_BATCH = 5000
_IN_CHUNK = 500  # values per IN (…) list, well under SQLite's limit


@dataclass(frozen=True)
class RecordRule:
    model: Any
    closed: tuple[str, ...]  # the record is finished or cancelled
    cleared: dict[str, str | None]  # personal fields and what they become


RECORDS: dict[str, RecordRule] = {
    # pickup is usually the resident's home, destination often a hospital; the car's plate and
    # the provider's reference lead back to the ride. Kept: time, passengers, help needed
    # (轮椅/需要搀扶, a category), urgent, status.
    "taxi": RecordRule(
        TaxiBooking,
        ("已完成", "已取消"),
        {"phone": "", "pickup": "", "destination": "", "plate": None, "car": None, "provider_ref": None},
    ),
    # building and floor stay (where the machines are needed: a figure for planning lifts); the
    # room is what makes it an address.
    "climber": RecordRule(ClimberBooking, ("已完成", "已取消"), {"phone": "", "room": "", "purpose": ""}),
    # what the resident described and said at the follow-up may name people; category,
    # department, satisfaction and dates stay.
    "request": RecordRule(
        ResidentRequest,
        staff_work.CLOSED,
        {"phone": "", "description": "", "location": "", "followup_note": ""},
    ),
}


@dataclass
class Purged:
    """What one run did, in counts only (it is printed and goes into the audit log)."""

    cutoff: datetime
    days: int
    events: int = 0
    reviews: int = 0
    corrections: int = 0
    callbacks: int = 0
    alerts: int = 0
    taxi: int = 0
    climber: int = 0
    request: int = 0
    notes: int = 0
    audit: int = 0
    sign_ins: int = 0
    outbox: int = 0

    def summary(self) -> str:
        return (
            f"purge-old-data: older than {self.days} days (before {self.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"deleted {self.events} conversation events, {self.reviews} conversation reviews, "
            f"{self.corrections} intent corrections, {self.sign_ins} sign-in attempts, "
            f"{self.outbox} refused outbox callbacks; anonymised {self.taxi} taxi bookings, "
            f"{self.climber} stair-climber bookings, {self.request} requests, {self.alerts} alerts, "
            f"{self.callbacks} callbacks; cleared {self.notes} staff notes and {self.audit} audit entries' details"
        )


def purge(
    session: Session, *, now: datetime, days: int, tracker: Engine | None, outboxes: Sequence[Path] = ()
) -> Purged:
    """Delete or anonymise what is older than `days` before `now`; commits, with its audit row.

    The tracker store goes first: should the app's transaction fail after it, the next run still
    finds the reviews and corrections whose conversation is gone (every rule reads the present
    state, none remembers an earlier run)."""
    if days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=days)
    result = Purged(cutoff=cutoff, days=days)
    _erase_for_real(session.connection())
    if tracker is not None and inspect(tracker).has_table("events"):
        result.events = _delete_events(tracker, cutoff)
        result.reviews, result.corrections = _forget_conversation_notes(session, tracker, cutoff)
    result.callbacks = _anonymise_callbacks(session, cutoff)
    result.alerts = _anonymise_alerts(session, cutoff)
    for kind, rule in RECORDS.items():
        changed, notes, entries = _anonymise_records(session, kind, rule, cutoff)
        setattr(result, kind, changed)
        result.notes += notes
        result.audit += entries
    # who looked at a conversation stays in the audit log, not which one (a WeChat id is the openid)
    result.audit += _rowcount(
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.object_kind == "conversation", AuditEntry.at < cutoff, AuditEntry.object_id != "")
            .values(object_id=""),
            execution_options={"synchronize_session": False},
        )
    )
    result.sign_ins = _rowcount(session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff)))
    for path in outboxes:
        result.outbox += purge_outbox(path, cutoff)
    audit.record(
        session,
        actor="system",
        action="purge",
        kind="personal_data",
        object_id=cutoff.date().isoformat(),
        detail=result.summary(),
    )
    session.commit()
    for engine in {session.get_bind().engine, *([tracker] if tracker is not None else [])}:
        _empty_sqlite_log(engine)
    return result


def _erase_for_real(conn: Connection) -> None:
    """SQLite may leave deleted and overwritten rows in the file's free space until it is reused:
    have it write zeros over them instead (Debian's SQLite is built so; others, e.g. macOS's,
    are not). A setting of this connection."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")


def _empty_sqlite_log(engine: Engine) -> None:
    """SQLite's write-ahead log (the -wal file) still holds earlier versions of the pages: fold it
    into the database and empty it. Best effort: it waits at most 2 s for readers and writers (the
    engine's turns) and is done again on the next run. PostgreSQL's autovacuum frees dead rows."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout = 2000")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("PRAGMA busy_timeout = 15000")  # as bot.db sets it for the pool


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def _delete_events(tracker: Engine, cutoff: datetime) -> int:
    moment = cutoff.timestamp()  # Rasa stores seconds since the epoch
    deleted = 0
    while True:
        batch = select(EVENTS.c.id).where(EVENTS.c.timestamp < moment).order_by(EVENTS.c.id).limit(EVENT_BATCH)
        with tracker.begin() as conn:
            _erase_for_real(conn)
            count = _rowcount(conn.execute(delete(EVENTS).where(EVENTS.c.id.in_(batch))))
        deleted += count
        if count < EVENT_BATCH:
            return deleted


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _forget_conversation_notes(session: Session, tracker: Engine, cutoff: datetime) -> tuple[int, int]:
    """Reviews of conversations with nothing newer than the cutoff, corrections of messages
    older than it or no longer there."""
    moment = cutoff.timestamp()
    recent = or_(EVENTS.c.timestamp >= moment, EVENTS.c.timestamp.is_(None))  # no time: never judged old
    reviewed = list(session.scalars(select(ConversationReview.sender_id)))
    corrections = list(
        session.execute(select(IntentCorrection.id, IntentCorrection.sender_id, IntentCorrection.event_id))
    )
    alive: set[str] = set()
    kept_events: set[tuple[int, str]] = set()
    with tracker.connect() as conn:
        for chunk in _chunks(reviewed):
            alive |= set(
                conn.scalars(select(EVENTS.c.sender_id).where(EVENTS.c.sender_id.in_(chunk), recent).distinct())
            )
        for chunk in _chunks({c.event_id for c in corrections}):
            found = conn.execute(select(EVENTS.c.id, EVENTS.c.sender_id).where(EVENTS.c.id.in_(chunk), recent))
            kept_events |= {(row.id, row.sender_id) for row in found}
    gone_reviews = [sender for sender in reviewed if sender not in alive]
    gone_corrections = [c.id for c in corrections if (c.event_id, c.sender_id) not in kept_events]
    reviews = corrections_deleted = 0
    for chunk in _chunks(gone_reviews):
        reviews += _rowcount(session.execute(delete(ConversationReview).where(ConversationReview.sender_id.in_(chunk))))
    for chunk in _chunks(gone_corrections):
        corrections_deleted += _rowcount(
            session.execute(delete(IntentCorrection).where(IntentCorrection.id.in_(chunk)))
        )
    return reviews, corrections_deleted


def _anonymise_callbacks(session: Session, cutoff: datetime) -> int:
    # A callback keeps no time of its call back; it is made within days of the request.
    statement = (
        update(HandoffRequest)
        .where(
            HandoffRequest.status == handoff.CALLED,
            HandoffRequest.created_at < cutoff,
            or_(
                HandoffRequest.phone.is_not(None),
                HandoffRequest.message != "",
                HandoffRequest.sender_id != ANONYMOUS,
                HandoffRequest.message_id.is_not(None),
            ),
        )
        .values(phone=None, message="", sender_id=ANONYMOUS, message_id=None)
    )
    return _rowcount(session.execute(statement, execution_options={"synchronize_session": False}))


def _anonymise_alerts(session: Session, cutoff: datetime) -> int:
    # Kept: kind, source, channel, the kiosk's place, when it came and who acknowledged it when.
    statement = (
        update(Alert)
        .where(
            Alert.acknowledged_at.is_not(None),
            Alert.acknowledged_at < cutoff,
            or_(
                Alert.phone.is_not(None),
                Alert.message != "",
                Alert.sender_id != ANONYMOUS,
                Alert.message_id.is_not(None),
            ),
        )
        .values(phone=None, message="", sender_id=ANONYMOUS, message_id=None)
    )
    return _rowcount(session.execute(statement, execution_options={"synchronize_session": False}))


def _anonymise_records(session: Session, kind: str, rule: RecordRule, cutoff: datetime) -> tuple[int, int, int]:
    """(records anonymised, status notes cleared, audit entries cut) for one kind of booking or request."""
    model = rule.model
    old_and_closed = (model.status.in_(rule.closed), model.updated_at < cutoff)
    still_personal = or_(
        model.sender_id != ANONYMOUS,
        *(getattr(model, f) != v if v is not None else getattr(model, f).is_not(None) for f, v in rule.cleared.items()),
    )
    statement = (
        update(model)
        .where(*old_and_closed, still_personal)
        .values(
            **rule.cleared,
            sender_id=ANONYMOUS,
            # unique, and it held the conversation id
            idempotency_key=literal(f"purged:{kind}:", String) + cast(model.id, String),
            # the last change stays the record's own (closed, dispatched …), not this purge
            updated_at=model.updated_at,
        )
    )
    changed = _rowcount(session.execute(statement, execution_options={"synchronize_session": False}))

    ids = select(model.id).where(*old_and_closed)
    notes = _rowcount(
        session.execute(
            update(StatusChange)
            .where(StatusChange.record_kind == kind, StatusChange.record_id.in_(ids), StatusChange.note != "")
            .values(note=""),
            execution_options={"synchronize_session": False},
        )
    )
    # The audit log keeps who changed what when; its copy of the note goes (a status entry keeps
    # the status, a dispatch entry the fact of it).
    numbers = select(model.number).where(*old_and_closed)
    entries = session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_kind == kind,
            AuditEntry.object_id.in_(numbers),
            AuditEntry.action.in_(("status", "dispatch")),
        )
    )
    cut = 0
    for entry in entries:
        kept = entry.detail.split(" ", 1)[0] if entry.action == "status" else ""
        if entry.detail != kept:
            cut += entry.detail.strip() != kept  # "已办结 " held no note
            entry.detail = kept
    session.flush()
    return changed, notes, cut


def purge_outbox(path: Path, cutoff: datetime) -> int:
    """Callbacks an action server kept (actions/outbox.py) that the app refused, older than the
    cutoff. Those still waiting to be delivered are not due yet: they stay."""
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, timeout=10)) as db, db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'callback'").fetchone() is None:
            return 0
        db.execute("PRAGMA secure_delete = ON")
        # created_at is SQLite's CURRENT_TIMESTAMP: UTC, "YYYY-MM-DD HH:MM:SS", which sorts as text
        moment = cutoff.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        found = db.execute("DELETE FROM callback WHERE refused IS NOT NULL AND created_at < ?", (moment,))
        return int(found.rowcount)
