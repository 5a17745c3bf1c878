"""Scripted conversations (bench/conversations.yml) driven over the REST channel, and the check of
the rows each one leaves. Shared by the dialogue report and the load generator."""

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from sqlalchemy import Engine, text

SCRIPTS = Path(__file__).with_name("conversations.yml")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Script:
    name: str
    turns: list[tuple[str, list[str]]]
    rows: dict[str, list[dict[str, Any]]]
    load: bool = False


@dataclass
class Outcome:
    script: Script
    sender: str
    latencies: list[float] = field(default_factory=list)
    failure: str | None = None  # the first thing that was wrong; None when every check held
    errors: int = 0  # turns that got no HTTP 200
    last_reply: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


def load_scripts(path: Path = SCRIPTS) -> list[Script]:
    scripts = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
        turns = []
        for turn in entry["turns"]:
            said, *expect = turn
            words = expect[0] if expect else []
            turns.append((str(said), [str(w) for w in ([words] if isinstance(words, (str, int)) else words)]))
        scripts.append(Script(entry["name"], turns, entry.get("rows") or {}, bool(entry.get("load"))))
    return scripts


async def converse(
    http: httpx.AsyncClient, engine_url: str, script: Script, sender: str, think: float = 0.0
) -> Outcome:
    """Says every turn (even after a wrong reply, so the conversation's rows are what they would be),
    pausing about `think` seconds (±50 %) before each, as a person reading the answer would."""
    outcome = Outcome(script, sender)
    for said, words in script.turns:
        if think:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
        started = time.perf_counter()
        try:
            response = await http.post(f"{engine_url}/webhooks/rest/webhook", json={"sender": sender, "message": said})
        except httpx.HTTPError as exc:
            outcome.errors += 1
            outcome.failure = outcome.failure or f"「{said}」: {type(exc).__name__} {exc}"
            continue
        outcome.latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            outcome.errors += 1
            outcome.failure = outcome.failure or f"「{said}」: HTTP {response.status_code}"
            continue
        reply = outcome.last_reply = " ".join(m.get("text", "") for m in response.json())
        missing = [w for w in words if w not in reply]
        if missing and outcome.failure is None:
            outcome.failure = f"「{said}」 → 「{reply}」 lacks {missing}"
    return outcome


def expected_date(value: str, today: date) -> date | None:
    if value.startswith("+") and value.endswith("d"):
        return today + timedelta(days=int(value[1:-1]))
    if value.startswith("@next-"):
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=WEEKDAYS.index(value.removeprefix("@next-")))
    return None


def local_date(value: Any) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # SQLite gives back the stored UTC time without its zone
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(SHANGHAI).date()


def matches(row: dict[str, Any], wanted: dict[str, Any], today: date) -> bool:
    for column, value in wanted.items():
        day = expected_date(value, today) if isinstance(value, str) else None
        if day is not None:
            if local_date(row[column]) != day:
                return False
        elif isinstance(value, bool):
            if bool(row[column]) != value:
                return False
        elif str(row[column]) != str(value):
            return False
    return True


def check_rows(db: Engine, outcome: Outcome, today: date) -> None:
    """Exactly the wanted rows for this sender, table by table; the first difference is the failure."""
    if outcome.failure:
        return
    with db.connect() as conn:
        for table, wanted in outcome.script.rows.items():
            found = [
                dict(r._mapping)
                for r in conn.execute(text(f"SELECT * FROM {table} WHERE sender_id = :s"), {"s": outcome.sender})
            ]
            if len(found) != len(wanted) or not all(any(matches(row, w, today) for row in found) for w in wanted):
                shown = [{k: row[k] for k in (wanted[0] if wanted else {"id": 0})} for row in found]
                outcome.failure = f"{table}: wanted {wanted}, found {shown}"
                return
