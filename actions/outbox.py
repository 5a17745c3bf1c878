"""Callback requests that could not reach the app, kept on the action server's disk until it answers.

When a resident confirms a booking or request and the app (the database's owner) cannot be
reached, the bot says it could not save it and that staff will call back. What the resident
confirmed must not be lost with it: it goes here, into a small SQLite file beside the action
server (LINLI_OUTBOX, one per action server), and is delivered to the app as a callback request
(handoff_request, "待回电") with the phone number and what was confirmed, as soon as the app
answers again. Staff then see it in the console's callback queue and call back.

Delivery is at least once; the app stores a callback once per (sender, message id), so a retry
after a lost answer does not make a second one. A callback the app refuses (it cannot be valid
later either) stays in the file with the reason, for a person to look at, and is not retried.
"""

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actions import app_client

logger = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
_flusher: asyncio.Task[None] | None = None


def path() -> Path:
    default = Path(__file__).resolve().parents[1] / ".run" / "outbox.sqlite"
    return Path(os.environ.get("LINLI_OUTBOX") or default)


@contextmanager
def _outbox() -> Iterator[sqlite3.Connection]:
    """The outbox file, created on first use; what is done inside is committed, then it is closed."""
    where = path()
    where.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(where, timeout=10)
    try:
        with db:  # one transaction
            db.execute(
                "CREATE TABLE IF NOT EXISTS callback ("
                " key TEXT PRIMARY KEY,"  # sender:message id; a second put of the same key changes nothing
                " fields TEXT NOT NULL,"  # JSON for POST /api/handoffs
                " attempts INTEGER NOT NULL DEFAULT 0,"
                " refused TEXT,"  # why the app refused it, if it did
                " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            yield db
    finally:
        db.close()


def put(fields: dict[str, Any]) -> None:
    """Keep a callback request (the fields of POST /api/handoffs) and make sure it gets delivered."""
    key = f"{fields['sender_id']}:{fields.get('message_id') or ''}"
    with _outbox() as db:
        db.execute("INSERT OR IGNORE INTO callback (key, fields) VALUES (?, ?)", (key, json.dumps(fields)))
    logger.warning("app unreachable: a callback request is kept in the outbox until it answers")
    start_delivering()


def waiting() -> list[tuple[str, dict[str, Any]]]:
    with _outbox() as db:
        found = db.execute("SELECT key, fields FROM callback WHERE refused IS NULL ORDER BY created_at").fetchall()
    return [(key, json.loads(fields)) for key, fields in found]


async def deliver_waiting() -> int:
    """Hand every waiting callback to the app; returns how many are still waiting."""
    left = 0
    for key, fields in waiting():
        try:
            await app_client.request_callback(**fields)
        except app_client.AppUnavailable:
            left += 1
            with _outbox() as db:
                db.execute("UPDATE callback SET attempts = attempts + 1 WHERE key = ?", (key,))
            continue
        except app_client.Rejected as refused:
            logger.error("outbox: the app refused a kept callback request: %s", refused.message)
            with _outbox() as db:
                db.execute("UPDATE callback SET refused = ? WHERE key = ?", (refused.message, key))
            continue
        with _outbox() as db:
            db.execute("DELETE FROM callback WHERE key = ?", (key,))
        logger.info("outbox: a kept callback request reached the app")
    return left


async def _deliver_until_empty() -> None:
    while await deliver_waiting():
        await asyncio.sleep(float(os.environ.get("LINLI_OUTBOX_RETRY_SECONDS") or RETRY_SECONDS))


def start_delivering() -> None:
    """Deliver in the background until the outbox is empty; called whenever an action runs, so
    what an earlier run of the action server kept goes out too."""
    global _flusher
    if _flusher is not None and not _flusher.done():
        return
    if not path().exists() or not waiting():
        return
    _flusher = asyncio.get_running_loop().create_task(_deliver_until_empty())
