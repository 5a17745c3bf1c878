from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Alert, HandoffRequest


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_alert_is_recorded_once_per_message(client: TestClient, seeded: sessionmaker[Session]) -> None:
    body = {"kind": "燃气泄漏", "sender_id": "r1", "channel": "rest", "message": "燃气漏了", "message_id": "m1"}
    first = client.post("/api/alerts", json=body)
    again = client.post("/api/alerts", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    with seeded() as session:
        rows = session.scalars(select(Alert)).all()
    assert [(a.kind, a.sender_id, a.message, a.acknowledged_at) for a in rows] == [("燃气泄漏", "r1", "燃气漏了", None)]


def test_staff_see_where_whom_to_call_and_the_conversation(staff: TestClient, seeded: sessionmaker[Session]) -> None:
    kiosk = {"kind": "急病受伤", "sender_id": "k/1", "channel": "kiosk", "message": "跌倒了", "message_id": "m1",
             "place": "3号楼门厅 lobby-1", "phone": "一三八 一二三四 五六七八"}  # fmt: skip
    chat = {"kind": "火灾", "sender_id": "c1", "channel": "webchat", "message": "着火了", "message_id": "m2",
            "phone": "12345"}  # fmt: skip
    assert staff.post("/api/alerts", json=kiosk).status_code == 201
    assert staff.post("/api/alerts", json=chat).status_code == 201  # a phone it cannot read never loses the alert
    shown = {a["message"]: a for a in staff.get("/api/staff/alerts").json()}
    assert (shown["跌倒了"]["where"], shown["跌倒了"]["phone"]) == ("3号楼门厅 lobby-1", "13812345678")
    assert shown["跌倒了"]["conversation"] == "/staff/conversations/k%2F1"
    assert (shown["着火了"]["where"], shown["着火了"]["phone"]) == ("网页聊天", None)


def test_alert_of_unknown_kind_is_refused_and_nothing_written(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    response = client.post("/api/alerts", json={"kind": "外星人", "sender_id": "r1"})
    assert response.status_code == 422
    assert count(seeded, Alert) == 0


def test_callback_request_stores_the_spoken_phone_as_digits(client: TestClient, seeded: sessionmaker[Session]) -> None:
    response = client.post(
        "/api/handoffs",
        json={
            "sender_id": "r2",
            "channel": "rest",
            "phone": "一三八 一二三四 五六七八",
            "message": "转人工",
            "message_id": "m9",
        },
    )
    assert response.status_code == 201
    assert "居委会" in response.json()["staff_hours"]
    with seeded() as session:
        row = session.scalars(select(HandoffRequest)).one()
    assert (row.sender_id, row.phone, row.status) == ("r2", "13812345678", "待回电")


def test_callback_request_with_an_impossible_phone_is_refused_in_chinese(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    response = client.post("/api/handoffs", json={"sender_id": "r3", "phone": "一三八一二三"})
    assert response.status_code == 422
    assert "11位" in response.json()["detail"]
    assert count(seeded, HandoffRequest) == 0


def test_callback_request_without_phone_is_kept(client: TestClient, seeded: sessionmaker[Session]) -> None:
    response = client.post("/api/handoffs", json={"sender_id": "r4", "message": "找工作人员"})
    assert response.status_code == 201
    assert count(seeded, HandoffRequest) == 1


def test_parse_phone(client: TestClient) -> None:
    assert client.post("/api/parse/phone", json={"text": "幺三九 零零幺幺 二二三三"}).json() == {"phone": "13900112233"}
    refused = client.post("/api/parse/phone", json={"text": "我不晓得"})
    assert refused.status_code == 422
    assert "号码" in refused.json()["detail"]


def test_callback_request_delivered_twice_is_stored_once(client: TestClient, seeded: sessionmaker[Session]) -> None:
    body = {"sender_id": "r5", "channel": "rest", "message": "转人工", "message_id": "m-twice"}
    first, again = client.post("/api/handoffs", json=body), client.post("/api/handoffs", json=body)
    assert first.json()["id"] == again.json()["id"]
    assert count(seeded, HandoffRequest) == 1
