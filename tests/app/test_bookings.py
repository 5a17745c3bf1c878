"""Bookings and requests as records: one row per idempotency key, statuses, dispatch, the
stair-climber's slot rule under concurrent confirmation, and owners-only lookups."""

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Alert, ClimberBooking, ResidentRequest, StatusChange, TaxiBooking
from bot.services import stair_climber, taxi
from bot.services.dispatch import HttpDispatcher, StaffDispatcher
from tests.app.conftest import SATURDAY_10AM, SHANGHAI

MONDAY_8AM = datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)


def taxi_body(key: str, **changes: Any) -> dict[str, Any]:
    body = {
        "idempotency_key": key,
        "sender_id": "resident-1",
        "channel": "rest",
        "phone": "一三八一二三四五六七八",
        "pickup": "五号楼门口",
        "destination": "第六人民医院",
        "pickup_at": "2026-11-22T09:00:00+08:00",
        "passengers": 1,
        "assistance": "轮椅",
    }
    return {**body, **changes}


def count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_taxi_booking_is_stored_once_per_key(client: TestClient, seeded: sessionmaker[Session]) -> None:
    first = client.post("/api/taxi-bookings", json=taxi_body("sender-1:msg-9"))
    again = client.post("/api/taxi-bookings", json=taxi_body("sender-1:msg-9"))
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert first.json()["number"].startswith("3") and len(first.json()["number"]) == 8
    assert first.json()["status"] == "待派车"
    assert count(seeded, TaxiBooking) == 1
    with seeded() as session:
        row = session.scalars(select(TaxiBooking)).one()
        assert row.phone == "13812345678" and row.urgent is False and row.dispatcher == "staff"
        assert [c.status for c in session.scalars(select(StatusChange))] == ["待派车"]


def test_urgent_taxi_raises_an_alert_and_past_time_is_refused(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    urgent = client.post(
        "/api/taxi-bookings", json=taxi_body("k-urgent-1", asap=True, pickup_at=SATURDAY_10AM.isoformat())
    )
    assert urgent.status_code == 201 and urgent.json()["urgent"] is True
    with seeded() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.source == "taxi" and urgent.json()["number"] in alert.message
    past = client.post("/api/taxi-bookings", json=taxi_body("k-past-1", pickup_at="2026-11-21T08:00:00+08:00"))
    assert past.status_code == 422 and "已经过去" in past.json()["detail"]
    assert count(seeded, TaxiBooking) == 1


def test_staff_dispatch_gives_plate_and_eta_to_the_status_answer(staff: TestClient) -> None:
    client = staff
    number = client.post("/api/taxi-bookings", json=taxi_body("k-dispatch-1")).json()["number"]
    dispatched = client.post(
        f"/api/staff/taxi/{number}/dispatch",
        json={"plate": "沪A12345", "car": "白色大众", "eta_at": "2026-11-22T08:55:00+08:00"},
    )
    assert dispatched.status_code == 200 and dispatched.json()["status"] == "已派车"
    status = client.post("/api/records/status", json={"sender_id": "resident-1", "kinds": ["taxi"]}).json()
    assert status["count"] == 1
    assert "沪A12345" in status["texts"][0] and "白色大众" in status["texts"][0] and "8点55分" in status["texts"][0]
    finished = client.post(f"/api/staff/records/{number}/status", json={"status": "已完成"})
    assert finished.status_code == 200 and finished.json()["status"] == "已完成"
    too_late = client.post(f"/api/records/{number}/cancel", json={"sender_id": "resident-1"})
    assert too_late.status_code == 409 and "已完成" in too_late.json()["detail"]["message"]


class FakeProvider(BaseHTTPRequestHandler):
    """A dispatch API on a real socket: records what it was sent, answers with a car."""

    received: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeProvider.received.append((self.path, self.headers.get("Authorization", ""), body))
        answer = {"id": "P-77", "plate": "沪B54321", "car": "黑色别克", "eta": "2026-11-22T08:50:00+08:00"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def provider_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeProvider.received = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_http_dispatcher_sends_the_ride_and_records_the_car(seeded: sessionmaker[Session], provider_url: str) -> None:
    dispatcher = HttpDispatcher(provider_url, "secret-key")
    with seeded() as session:
        booking, created = taxi.book_taxi(
            session,
            idempotency_key="k-http-1",
            sender_id="resident-1",
            channel="rest",
            phone="13812345678",
            pickup="五号楼门口",
            destination="六院",
            pickup_at=SATURDAY_10AM + timedelta(days=1),
            asap=False,
            passengers=2,
            assistance="",
            dispatcher=dispatcher,
            now=SATURDAY_10AM,
        )
        assert created and booking.status == "已派车" and booking.plate == "沪B54321"
        assert booking.dispatcher == "http" and booking.provider_ref == "P-77"
        taxi.cancel(session, booking, dispatcher=dispatcher, actor="resident")
    (path, auth, sent), (cancel_path, _, _) = FakeProvider.received
    assert path == "/rides" and auth == "Bearer secret-key" and sent["passengers"] == 2
    assert cancel_path == "/rides/P-77/cancel"


def test_provider_down_leaves_the_ride_with_staff(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        booking, _ = taxi.book_taxi(
            session,
            idempotency_key="k-down-1",
            sender_id="r",
            channel="",
            phone="13812345678",
            pickup="南门",
            destination="六院",
            pickup_at=SATURDAY_10AM + timedelta(hours=2),
            asap=False,
            passengers=1,
            assistance="",
            dispatcher=HttpDispatcher("http://127.0.0.1:9", "k", timeout=0.5),
            now=SATURDAY_10AM,
        )
        assert booking.status == "待派车" and booking.dispatcher == "staff"


def climber_body(key: str, sender: str, slot: datetime = MONDAY_8AM) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "sender_id": sender,
        "phone": "13812345678",
        "slot_start": slot.isoformat(),
        "building": "5号楼",
        "floor": 6,
        "room": "602",
        "direction": "下楼",
        "purpose": "去医院看病",
    }


def test_climber_slot_fills_up_and_cancelling_frees_it(client: TestClient, seeded: sessionmaker[Session]) -> None:
    first = client.post("/api/stair-climber/bookings", json=climber_body("climber-1", "a"))
    second = client.post("/api/stair-climber/bookings", json=climber_body("climber-2", "b"))
    assert first.status_code == 201 and second.status_code == 201
    third = client.post("/api/stair-climber/bookings", json=climber_body("climber-3", "c"))
    assert third.status_code == 409
    assert third.json()["detail"]["alternatives"][0].startswith("2026-11-23T10:00")
    slots = client.get("/api/stair-climber/slots", params={"day": "2026-11-23"}).json()
    assert [s["free"] for s in slots] == [False, True, True, True]
    assert client.post(f"/api/records/{first.json()['number']}/cancel", json={"sender_id": "a"}).status_code == 200
    fourth = client.post("/api/stair-climber/bookings", json=climber_body("climber-4", "c"))
    assert fourth.status_code == 201
    with seeded() as session:
        live = session.scalars(select(ClimberBooking).where(ClimberBooking.status == "已预约")).all()
        assert sorted(b.machine_id for b in live) == [1, 2]


def test_concurrent_confirmations_never_share_a_machine_and_slot(
    seeded: sessionmaker[Session], database_url: str
) -> None:
    """Eight residents confirm the same slot at the same moment; two machines: two succeed."""
    barrier = threading.Barrier(8)

    def confirm(n: int) -> str:
        with seeded() as session:
            barrier.wait()
            try:
                stair_climber.book(
                    session,
                    idempotency_key=f"race-key-{n}",
                    sender_id=f"r{n}",
                    channel="",
                    phone="13812345678",
                    slot_start=MONDAY_8AM,
                    building="3号楼",
                    floor=4,
                    room="",
                    direction="下楼",
                    purpose="",
                    now=SATURDAY_10AM,
                )
                return "booked"
            except stair_climber.SlotTaken:
                return "full"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(confirm, range(8)))
    assert outcomes.count("booked") == 2 and outcomes.count("full") == 6
    with seeded() as session:
        rows = session.scalars(select(ClimberBooking)).all()
        assert len(rows) == 2 and len({r.machine_id for r in rows}) == 2


def test_the_database_itself_refuses_a_double_booking(seeded: sessionmaker[Session]) -> None:
    from sqlalchemy.exc import IntegrityError

    with seeded() as session:
        booking, _ = stair_climber.book(
            session,
            idempotency_key="db-key-1",
            sender_id="a",
            channel="",
            phone="13812345678",
            slot_start=MONDAY_8AM,
            building="3号楼",
            floor=4,
            room="",
            direction="下楼",
            purpose="",
            now=SATURDAY_10AM,
        )
        twin = ClimberBooking(
            number="599999",
            idempotency_key="db-key-2",
            sender_id="b",
            phone="13812345678",
            machine_id=booking.machine_id,
            slot_start=booking.slot_start,
            slot_end=booking.slot_end,
            building="1号楼",
            floor=2,
            direction="上楼",
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.commit()


def request_body(key: str, **changes: Any) -> dict[str, Any]:
    body = {
        "idempotency_key": key,
        "sender_id": "owner",
        "phone": "13812345678",
        "category": "飞线充电",
        "description": "楼上从窗口拉电线充电瓶车",
        "location": "5号楼",
    }
    return {**body, **changes}


def test_request_number_statuses_and_urgent_alert(staff: TestClient, seeded: sessionmaker[Session]) -> None:
    client = staff
    filed = client.post("/api/requests", json=request_body("request-1"))
    assert filed.status_code == 201
    number = filed.json()["number"]
    assert number.startswith("8") and number.isdigit() and len(number) == 8
    assert filed.json()["urgent"] is True and filed.json()["status"] == "已受理"
    with seeded() as session:
        assert session.scalars(select(Alert)).one().source == "request"
    for status in ("已派单", "处理中", "已办结", "已回访"):
        moved = client.post(f"/api/staff/records/{number}/status", json={"status": status, "note": "ok"})
        assert moved.status_code == 200 and moved.json()["status"] == status
    backwards = client.post(f"/api/staff/records/{number}/status", json={"status": "处理中"})
    assert backwards.status_code == 409
    with seeded() as session:
        request = session.scalars(select(ResidentRequest)).one()
        assert request.status == "已回访"
        assert count(seeded, StatusChange) == 5


def test_nobody_reads_another_residents_record_by_guessing_its_number(client: TestClient) -> None:
    number = client.post("/api/requests", json=request_body("request-2", category="噪音扰民")).json()["number"]
    stranger = client.post("/api/records/status", json={"sender_id": "stranger", "number": number})
    assert stranger.json() == {"count": 0, "texts": [], "open_numbers": []}
    wrong_phone = client.post(
        "/api/records/status", json={"sender_id": "stranger", "number": number, "phone": "13900000000"}
    )
    assert wrong_phone.json()["count"] == 0
    cancel = client.post(f"/api/records/{number}/cancel", json={"sender_id": "stranger"})
    assert cancel.status_code == 404
    owner_phone = client.post(
        "/api/records/status", json={"sender_id": "stranger", "number": number, "phone": "13812345678"}
    )
    assert owner_phone.json()["count"] == 1 and f"{number[:4]} {number[4:]}" in owner_phone.json()["texts"][0]


def test_bad_input_gets_clear_errors(client: TestClient) -> None:
    assert client.post("/api/requests", json=request_body("request-3", category="外星人")).status_code == 422
    bad_phone = client.post("/api/requests", json=request_body("request-4", phone="12345"))
    assert bad_phone.status_code == 422 and "11位" in bad_phone.json()["detail"]
    naive = client.post("/api/taxi-bookings", json=taxi_body("k-naive-1", pickup_at="2026-11-22T09:00:00"))
    assert naive.status_code == 422
    assert client.post("/api/forms/no_such_form/turn", json={"mode": "answer", "sender_id": "x"}).status_code == 404


def test_staff_dispatcher_is_the_default() -> None:
    from bot.services.dispatch import get_dispatcher

    assert isinstance(get_dispatcher(), StaffDispatcher)


def test_a_touch_only_kiosk_is_told_to_press_to_check_later(client: TestClient) -> None:
    spoken = client.post("/api/requests", json=request_body("touch-hint-1", category="噪音扰民")).json()["text"]
    assert "跟我说" in spoken and "按" not in spoken
    touched = request_body("touch-hint-2", category="噪音扰民", touch_only=True)
    pressed = client.post("/api/requests", json=touched).json()
    assert "请按“我的预约/报修”" in pressed["text"] and "跟我说" not in pressed["text"]
