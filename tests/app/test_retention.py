"""Residents' data kept only as long as needed: what is older than the retention (180 days) is
deleted or anonymised, open records and anything newer are untouched, a second run changes
nothing, every run leaves an audit row; `make run` purges at start and then every day."""

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot import launcher
from bot.cli import migrate
from bot.config import tracker_database_url
from bot.db import Base, make_engine
from bot.models import (
    Alert,
    AuditEntry,
    ClimberBooking,
    ClimberMachine,
    ConversationReview,
    HandoffRequest,
    IntentCorrection,
    LoginAttempt,
    ResidentRequest,
    StatusChange,
    TaxiBooking,
)
from bot.services import alerts, audit, handoff, records, resident_requests, retention, staff_work, stair_climber
from tests.app.conftest import SATURDAY_10AM

DAYS = 180
OLD = SATURDAY_10AM - timedelta(days=DAYS + 1)  # just past the retention
RECENT = SATURDAY_10AM - timedelta(days=DAYS - 1)  # just inside it
PHONE = "13812345678"

# Rasa's SQLTrackerStore table as the engine creates it (rasa/core/tracker_store.py, SQLEvent).
RASA = MetaData()
RASA_EVENTS = Table(
    "events",
    RASA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@pytest.fixture
def tracker(database_url: str) -> Iterator[Engine]:
    """The tracker store beside the app's database: the same PostgreSQL, SQLite's second file."""
    engine = make_engine(tracker_database_url(database_url))
    RASA.create_all(engine)
    yield engine
    engine.dispose()


def add_event(tracker: Engine, sender: str, kind: str, at: datetime, *, text: str = "", name: str = "") -> int:
    moment = at.timestamp()
    if kind == "user":
        data = {
            "event": "user", "timestamp": moment, "text": text, "input_channel": "rest",
            "parse_data": {"intent": {"name": name, "confidence": 0.93}, "entities": []},
        }  # fmt: skip
    elif kind == "bot":
        data = {"event": "bot", "timestamp": moment, "text": text}
    else:
        data = {"event": "action", "timestamp": moment, "name": name}
    row = {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": moment,
        "intent_name": name if kind == "user" else None,
        "action_name": name if kind == "action" else None,
        "data": json.dumps(data, ensure_ascii=False),
    }
    with tracker.begin() as conn:
        return int(conn.execute(insert(RASA_EVENTS).values(row)).inserted_primary_key[0])


def event_ids(tracker: Engine) -> list[int]:
    with tracker.connect() as conn:
        return list(conn.scalars(select(RASA_EVENTS.c.id).order_by(RASA_EVENTS.c.id)))


def make_outbox(path: Path, old: datetime = OLD, recent: datetime = RECENT) -> None:
    """An action server's outbox file (actions/outbox.py's table), with three kept callbacks."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE callback (key TEXT PRIMARY KEY, fields TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, refused TEXT, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        fields = json.dumps({"sender_id": "web-old", "phone": PHONE, "message": "叫车 3号楼"}, ensure_ascii=False)
        for key, refused, at in (
            ("refused-old", "电话号码不对", old),
            ("refused-recent", "电话号码不对", recent),
            ("waiting-old", None, old),  # not delivered yet: still due to staff
        ):
            stamp = at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            db.execute(
                "INSERT INTO callback (key, fields, refused, created_at) VALUES (?, ?, ?, ?)",
                (key, fields, refused, stamp),
            )
    db.close()


def outbox_keys(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        keys = [key for (key,) in db.execute("SELECT key FROM callback ORDER BY key")]
    db.close()
    return keys


def taxi(session: Session, key: str) -> TaxiBooking:
    row, _ = records.insert_record(
        session,
        TaxiBooking(
            idempotency_key=f"wx-{key}:taxi", sender_id=f"wx-{key}", channel="wechat", phone=PHONE,
            pickup="幸福小区3号楼502室", destination="瑞金医院", pickup_at=OLD, passengers=2, assistance="轮椅",
        ),
    )  # fmt: skip
    assert isinstance(row, TaxiBooking)
    return row


def climber(session: Session, key: str, slot: datetime) -> ClimberBooking:
    machine = session.scalars(select(ClimberMachine).order_by(ClimberMachine.id)).first()
    assert machine is not None
    row, _ = records.insert_record(
        session,
        ClimberBooking(
            idempotency_key=f"web-{key}:climber", sender_id=f"web-{key}", channel="socketio", phone=PHONE,
            machine_id=machine.id, slot_start=slot, slot_end=slot + timedelta(hours=2), building="7号楼", floor=6,
            room="601", direction="下楼", purpose="去医院复查，我女儿李红陪",
        ),
    )  # fmt: skip
    assert isinstance(row, ClimberBooking)
    return row


def request(session: Session, key: str) -> ResidentRequest:
    row, _ = resident_requests.file_request(
        session, idempotency_key=f"kiosk-{key}:request", sender_id=f"kiosk-{key}", channel="kiosk", phone=PHONE,
        category="房屋报修", description="楼上王家漏水到我家厨房", location="5号楼302室",
    )  # fmt: skip
    return row


def build(session_factory: sessionmaker[Session], tracker: Engine, clock: dict[str, Any]) -> dict[str, Any]:
    """Residents' data of every kind, some just past the retention, some just inside it, some open."""
    made: dict[str, Any] = {}
    with session_factory() as session:
        clock["now"] = OLD
        done = taxi(session, "done")
        staff_work.dispatch(session, done, plate="沪A12345", car="白色大众", eta_at=None, actor="xiaoli")
        staff_work.move(session, done, status="已完成", note="送到了，李阿姨说谢谢", actor="xiaoli")
        made["taxi_done"] = done.id
        made["taxi_open"] = taxi(session, "open").id  # still 待派车 after 181 days: open, untouched
        late = taxi(session, "late")
        staff_work.dispatch(session, late, plate="沪B54321", car="", eta_at=None, actor="xiaoli")
        made["taxi_late"] = late.id  # completed only 179 days ago (below): its last change is recent

        slot = OLD + timedelta(days=2)
        cancelled = climber(session, "cancelled", slot)
        stair_climber.cancel(session, cancelled, actor="resident")
        made["climber_cancelled"] = cancelled.id

        followed = request(session, "followed")
        staff_work.move(session, followed, status="处理中", note="物业老张去看了", actor="xiaoli")
        staff_work.move(session, followed, status="已办结", note="", actor="xiaoli")
        staff_work.follow_up(session, followed, satisfaction="满意", note="王阿姨说修好了", actor="xiaoli")
        made["request_followed"] = followed.id
        made["request_open"] = request(session, "open").id

        called = handoff.request_callback(
            session, sender_id="web-called", channel="socketio", phone=PHONE, message="想问问老年卡", message_id="m1"
        )
        handoff.mark_called(session, called.id, actor="xiaoli")
        made["callback_called"] = called.id
        made["callback_waiting"] = handoff.request_callback(
            session, sender_id="web-waiting", channel="socketio", phone=PHONE, message="请回电", message_id="m2"
        ).id
        acknowledged = alerts.raise_alert(
            session, kind="急病受伤", sender_id="kiosk-fall", channel="kiosk", message="我老伴摔倒了",
            message_id="m3", place="党群服务站", phone=PHONE,
        )  # fmt: skip
        staff_work.acknowledge(session, acknowledged.id, actor="xiaoli", now=OLD)
        made["alert_acknowledged"] = acknowledged.id
        made["alert_open"] = alerts.raise_alert(
            session, kind="火灾", sender_id="kiosk-smoke", channel="kiosk", message="楼道冒烟", message_id="m4",
            phone=PHONE,
        ).id  # fmt: skip
        made["alert_late"] = alerts.raise_alert(
            session,
            kind="治安",
            sender_id="kiosk-late",
            channel="kiosk",
            message="有人撬门",
            message_id="m5",
            phone=PHONE,
        ).id
        session.add(LoginAttempt(username="xiaoli", client="10.0.0.7", succeeded=False))
        audit.record(session, actor="xiaoli", action="view", kind="conversation", object_id="wx-gone")
        session.commit()

        clock["now"] = RECENT
        staff_work.move(session, late, status="已完成", note="", actor="xiaoli")
        staff_work.acknowledge(session, made["alert_late"], actor="xiaoli", now=RECENT)
        recent_done = taxi(session, "recent")
        staff_work.move(session, recent_done, status="已取消", note="家里人送了", actor="xiaoli")
        made["taxi_recent"] = recent_done.id
        recent_call = handoff.request_callback(
            session, sender_id="web-recent", channel="socketio", phone=PHONE, message="请回电", message_id="m6"
        )
        handoff.mark_called(session, recent_call.id, actor="xiaoli")
        made["callback_recent"] = recent_call.id
        session.add(LoginAttempt(username="xiaoli", client="10.0.0.7", succeeded=True))
        audit.record(session, actor="xiaoli", action="view", kind="conversation", object_id="wx-back")
        session.commit()

        # Conversations: "wx-gone" only long ago; "wx-back" long ago and again lately.
        gone_text = add_event(tracker, "wx-gone", "user", OLD, text="我电话13812345678", name="inform")
        add_event(tracker, "wx-gone", "action", OLD, name="action_listen")
        add_event(tracker, "wx-gone", "bot", OLD, text="好的")
        back_old = add_event(tracker, "wx-back", "user", OLD, text="叫车去瑞金医院", name="book_taxi")
        back_new = add_event(tracker, "wx-back", "user", RECENT, text="居委会几点开门", name="ask_service_hours")
        add_event(tracker, "wx-back", "bot", RECENT, text="居委会今天8点半开门")
        made["events_kept"] = event_ids(tracker)[-2:]
        for sender, event_id, intent in (
            ("wx-gone", gone_text, "inform"),
            ("wx-back", back_old, "book_taxi"),
            ("wx-back", back_new, "ask_service_hours"),
        ):
            session.add(IntentCorrection(sender_id=sender, event_id=event_id, text="…", intent=intent, actor="xiaoli"))
        session.add_all(
            [ConversationReview(sender_id="wx-gone", tags=["叫车"]), ConversationReview(sender_id="wx-back", tags=[])]
        )
        session.commit()
        made["correction_kept"] = back_new
    clock["now"] = SATURDAY_10AM
    return made


def purge(session_factory: sessionmaker[Session], tracker: Engine, outboxes: list[Path]) -> retention.Purged:
    with session_factory() as session:
        return retention.purge(session, now=SATURDAY_10AM, days=DAYS, tracker=tracker, outboxes=outboxes)


def snapshot(session_factory: sessionmaker[Session], tracker: Engine) -> dict[str, list[Any]]:
    """Every row of every app table (but the audit log, which gains a row per run) and the tracker."""
    with session_factory() as session:
        found = {
            table.name: [tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables
            if table.name != "audit_log"
        }
        found["audit details"] = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action != "purge")))
    found["events"] = event_ids(tracker)
    return found


def test_old_closed_data_goes_open_and_recent_data_stays(
    seeded: sessionmaker[Session], tracker: Engine, clock: dict[str, Any], tmp_path: Path
) -> None:
    made = build(seeded, tracker, clock)
    outbox = tmp_path / "outbox-5055.sqlite"
    make_outbox(outbox)

    result = purge(seeded, tracker, [outbox])

    assert (result.events, result.reviews, result.corrections) == (4, 1, 2)
    assert (result.taxi, result.climber, result.request, result.alerts, result.callbacks) == (1, 1, 1, 1, 1)
    assert (result.sign_ins, result.outbox) == (1, 1)
    # status notes: the taxi's dispatch and 已完成, the request's 处理中 and 已回访; their copies in
    # the audit log, and the old view of a conversation
    assert (result.notes, result.audit) == (4, 5)

    assert event_ids(tracker) == made["events_kept"]
    with seeded() as session:
        assert [r.sender_id for r in session.scalars(select(ConversationReview))] == ["wx-back"]
        assert [c.event_id for c in session.scalars(select(IntentCorrection))] == [made["correction_kept"]]

        done = session.get_one(TaxiBooking, made["taxi_done"])
        assert (done.phone, done.pickup, done.destination, done.plate, done.car, done.sender_id) == (
            "",
            "",
            "",
            None,
            None,
            "",
        )
        assert done.idempotency_key == f"purged:taxi:{done.id}"
        # what the figures need stays: number, status, dates, passengers, the help asked for
        assert (done.status, done.passengers, done.assistance, done.channel) == ("已完成", 2, "轮椅", "wechat")
        assert records.as_utc(done.created_at) == OLD and records.as_utc(done.updated_at) == OLD
        for key in ("taxi_open", "taxi_late", "taxi_recent"):
            kept = session.get_one(TaxiBooking, made[key])
            assert (kept.phone, kept.pickup, kept.sender_id) == (PHONE, "幸福小区3号楼502室", f"wx-{key[5:]}")

        cancelled = session.get_one(ClimberBooking, made["climber_cancelled"])
        assert (cancelled.phone, cancelled.room, cancelled.purpose, cancelled.sender_id) == ("", "", "", "")
        assert (cancelled.building, cancelled.floor, cancelled.direction, cancelled.status) == (
            "7号楼",
            6,
            "下楼",
            "已取消",
        )

        followed = session.get_one(ResidentRequest, made["request_followed"])
        assert (followed.phone, followed.description, followed.location, followed.followup_note) == ("", "", "", "")
        assert (followed.category, followed.status, followed.satisfaction) == ("房屋报修", "已回访", "满意")
        still = session.get_one(ResidentRequest, made["request_open"])
        assert (still.phone, still.description, still.location) == (PHONE, "楼上王家漏水到我家厨房", "5号楼302室")

        notes = {
            (c.record_kind, c.record_id, c.status): c.note
            for c in session.scalars(select(StatusChange).where(StatusChange.note != ""))
        }
        assert notes == {
            ("taxi", made["taxi_late"], "已派车"): "沪B54321",
            ("taxi", made["taxi_recent"], "已取消"): "家里人送了",
        }
        details = [
            (e.object_id, e.action, e.detail)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.object_id == followed.number).order_by(AuditEntry.id)
            )
        ]
        assert details == [
            (followed.number, "status", "处理中"),
            (followed.number, "status", "已办结"),
            (followed.number, "status", "已回访"),
        ]

        called = session.get_one(HandoffRequest, made["callback_called"])
        assert (called.phone, called.message, called.sender_id, called.message_id) == (None, "", "", None)
        assert (called.status, called.channel) == ("已回电", "socketio")
        for key in ("callback_waiting", "callback_recent"):
            assert session.get_one(HandoffRequest, made[key]).phone == PHONE

        seen = session.get_one(Alert, made["alert_acknowledged"])
        assert (seen.phone, seen.message, seen.sender_id) == (None, "", "")
        assert (seen.kind, seen.place, seen.acknowledged_by) == ("急病受伤", "党群服务站", "xiaoli")
        for key in ("alert_open", "alert_late"):
            assert session.get_one(Alert, made[key]).phone == PHONE

        assert [a.succeeded for a in session.scalars(select(LoginAttempt))] == [True]
        views = session.scalars(
            select(AuditEntry).where(AuditEntry.object_kind == "conversation").order_by(AuditEntry.id)
        )
        assert [(v.actor, v.object_id) for v in views] == [("xiaoli", ""), ("xiaoli", "wx-back")]
    assert outbox_keys(outbox) == ["refused-recent", "waiting-old"]


def test_a_second_run_changes_nothing_and_each_run_is_audited(
    seeded: sessionmaker[Session], tracker: Engine, clock: dict[str, Any], tmp_path: Path
) -> None:
    build(seeded, tracker, clock)
    outbox = tmp_path / "outbox-5055.sqlite"
    make_outbox(outbox)
    first = purge(seeded, tracker, [outbox])
    after_first = snapshot(seeded, tracker)

    second = purge(seeded, tracker, [outbox])

    assert snapshot(seeded, tracker) == after_first
    counts = [v for k, v in vars(second).items() if k not in ("cutoff", "days")]
    assert counts == [0] * len(counts)
    with seeded() as session:
        audited = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "purge").order_by(AuditEntry.id)))
    assert [(a.actor, a.object_kind, a.detail) for a in audited] == [
        ("system", "personal_data", first.summary()),
        ("system", "personal_data", second.summary()),
    ]
    assert audited[0].object_id == (SATURDAY_10AM - timedelta(days=DAYS)).astimezone(timezone.utc).date().isoformat()
    assert "deleted 4 conversation events" in first.summary() and "anonymised 1 taxi bookings" in first.summary()
    assert PHONE not in first.summary() and "5678" not in first.summary()


def test_without_a_tracker_store_yet_the_app_data_is_still_purged(
    seeded: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    with seeded() as session:
        clock["now"] = OLD
        called = handoff.request_callback(session, sender_id="web-a", channel="socketio", phone=PHONE, message="回电")
        handoff.mark_called(session, called.id, actor="xiaoli")
        clock["now"] = SATURDAY_10AM
        # the engine has not yet had a conversation: no `events` table (it creates it on the first)
        result = retention.purge(session, now=SATURDAY_10AM, days=DAYS, tracker=None)
        assert (result.events, result.callbacks) == (0, 1)
        with pytest.raises(ValueError):
            retention.purge(session, now=SATURDAY_10AM, days=0, tracker=None)


def test_with_sqlite_what_was_purged_is_gone_from_the_files_too(clock: dict[str, Any], tmp_path: Path) -> None:
    """Not only out of the tables: SQLite keeps deleted rows in free space and old page versions
    in its write-ahead log unless told otherwise."""
    database_url = f"sqlite:///{tmp_path / 'linli.db'}"
    migrate(database_url)
    app_engine, tracker = make_engine(database_url), make_engine(tracker_database_url(database_url))
    RASA.create_all(tracker)
    seeded = sessionmaker(bind=app_engine, expire_on_commit=False)
    phone, words = "13900007777", "我住在幸福小区九号楼四零一"
    with seeded() as session:
        clock["now"] = OLD
        row = taxi(session, "erased")
        row.phone = phone
        session.commit()
        staff_work.move(session, row, status="已取消", note="", actor="xiaoli")
        called = handoff.request_callback(session, sender_id="web-e", channel="socketio", phone=phone, message=words)
        handoff.mark_called(session, called.id, actor="xiaoli")
    add_event(tracker, "wx-erased", "user", OLD, text=words, name="inform")
    app_file = Path(database_url.split("///", 1)[1])
    files = [app_file, app_file.with_name("rasa_tracker.db")]

    def on_disk() -> bytes:
        return b"".join(f.read_bytes() for base in files for f in (base, Path(f"{base}-wal")) if f.exists())

    assert phone.encode() in on_disk() and words.encode() in on_disk()
    purge(seeded, tracker, [])
    assert phone.encode() not in on_disk()
    assert words.encode() not in on_disk()
    app_engine.dispose()
    tracker.dispose()


def test_the_launchers_purge_runs_the_command_and_prints_counts(
    database_url: str, seeded: sessionmaker[Session], clock: dict[str, Any], tmp_path: Path, capfd: Any
) -> None:
    """The real `python -m bot.cli purge-old-data` as `make run` starts it; it reads the wall clock,
    so the old records here are years old."""
    long_ago = datetime(2020, 3, 2, 9, 0, tzinfo=timezone.utc)
    engine = make_engine(tracker_database_url(database_url))
    RASA.create_all(engine)
    add_event(engine, "wx-2020", "user", long_ago, text="叫车", name="book_taxi")
    with seeded() as session:
        clock["now"] = long_ago
        done = taxi(session, "done")
        staff_work.move(session, done, status="已取消", note="", actor="xiaoli")
        still = taxi(session, "open")
    stack = launcher.Stack(database_url=database_url, log_dir=tmp_path / "logs")
    make_outbox(stack.outbox, old=long_ago, recent=long_ago)
    capfd.readouterr()

    assert stack.purge_old_data().wait(timeout=120) == 0

    printed = capfd.readouterr().out
    assert "deleted 1 conversation events" in printed
    assert "anonymised 1 taxi bookings" in printed
    assert "2 refused outbox callbacks" in printed
    assert PHONE not in printed
    assert outbox_keys(stack.outbox) == ["waiting-old"]
    assert event_ids(engine) == []
    engine.dispose()
    with seeded() as session:
        assert session.get_one(TaxiBooking, done.id).phone == ""
        assert session.get_one(TaxiBooking, still.id).phone == PHONE
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "purge")) == 1


class NoProcesses(launcher.Stack):
    """A stack with nothing running, whose purge is a process that ends at once (counted)."""

    def __init__(self) -> None:
        super().__init__(log_dir=Path("/tmp"))
        self.purges = 0

    def purge_old_data(self, outboxes: list[Path] | None = None) -> "subprocess.Popen[bytes]":
        self.purges += 1
        return subprocess.Popen([sys.executable, "-c", "pass"])


def test_make_run_purges_at_start() -> None:
    stack = NoProcesses()
    stop = launcher.StopRequest(from_signals=False)
    stop.received = True  # Ctrl-C already: supervise only stops
    assert launcher.supervise(stack, stop) == 0
    assert stack.purges == 1


def test_the_purge_comes_again_after_its_interval_never_twice_at_once() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def quick() -> "subprocess.Popen[bytes]":
        started.append(subprocess.Popen([sys.executable, "-c", "pass"]))
        return started[-1]

    daily = launcher.Daily(quick, every=0.3)
    daily.tick()
    daily.tick()
    assert len(started) == 1  # not yet due
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        daily.tick()
        time.sleep(0.05)
    assert 3 <= len(started) <= 8

    slow: list[subprocess.Popen[bytes]] = []

    def long_running() -> "subprocess.Popen[bytes]":
        slow.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
        return slow[-1]

    daily = launcher.Daily(long_running, every=0.05)
    try:
        for _ in range(10):
            daily.tick()
            time.sleep(0.05)
        assert len(slow) == 1  # still running: the next waits for it
    finally:
        for process in slow:
            process.kill()
            process.wait()
