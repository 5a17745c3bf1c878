"""The kiosk's red 紧急求助 button: an {"type": "sos"} frame is an alert row for staff, stored
before the page is told so, straight from the socket (no engine, no NLU, no rate limit)."""

from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketTestSession

from bot.config import get_settings
from bot.models import Alert
from bot.services import alerts
from voice import bot_client


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "engine_url", "http://127.0.0.1:9")  # nothing listens there


def stored(seeded: sessionmaker[Session]) -> list[tuple[str, str, str, str, str]]:
    with seeded() as session:
        return [
            (a.kind, a.place, a.channel, a.message, a.sender_id)
            for a in session.scalars(select(Alert).order_by(Alert.id))
        ]


def hello(ws: WebSocketTestSession) -> str:
    ws.send_json({"type": "hello", "kiosk_id": "lobby-1", "location": "党群服务站"})
    ready = ws.receive_json()
    assert ready["type"] == "ready"
    return str(ready["session"])


def test_the_sos_frame_stores_an_alert_with_the_kiosk_before_saying_so(
    client: TestClient, seeded: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_when_told: list[Any] = []
    real = alerts.raise_kiosk_sos

    def watched(session: Session, **kwargs: Any) -> Alert:
        alert = real(session, **kwargs)
        seen_when_told.append(stored(seeded))  # what another connection reads once it is stored
        return alert

    monkeypatch.setattr(alerts, "raise_kiosk_sos", watched)
    with client.websocket_connect("/kiosk/ws") as ws:
        sender = hello(ws)
        assert stored(seeded) == []
        ws.send_json({"type": "sos"})
        told = ws.receive_json()
        assert told["type"] == "sos" and told["told"] is True and told["come"] is False
        row = ("未分类", "党群服务站 lobby-1", "kiosk", alerts.KIOSK_SOS_MESSAGE, sender)
        assert seen_when_told == [[row]]  # committed before the page heard "told"
        assert stored(seeded) == [row]
        with seeded() as session:
            assert told["alert"] == session.scalar(select(Alert.id))
            assert [a.id for a in alerts.open_alerts(session)] == [told["alert"]]  # the staff alert bar's list


def test_a_double_tap_is_one_alert_and_staff_coming_is_a_second(
    client: TestClient, seeded: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    with client.websocket_connect("/kiosk/ws") as ws:
        hello(ws)
        ws.send_json({"type": "sos"})
        ws.send_json({"type": "sos"})
        first, second = ws.receive_json(), ws.receive_json()
        assert first["told"] and second["told"] and first["alert"] == second["alert"]
        assert len(stored(seeded)) == 1
        ws.send_json({"type": "sos", "come": True})
        ws.send_json({"type": "sos", "come": True})
        come, again = ws.receive_json(), ws.receive_json()
        assert come["come"] is True and come["told"] and come["alert"] == again["alert"] != first["alert"]
        assert [r[3] for r in stored(seeded)] == [alerts.KIOSK_SOS_MESSAGE, alerts.KIOSK_COME_MESSAGE]
        # pressed again a good while later: staff are told again
        clock["now"] = clock["now"].replace(minute=5)
        ws.send_json({"type": "sos"})
        later = ws.receive_json()
        assert later["told"] and later["alert"] not in (first["alert"], come["alert"])
        assert len(stored(seeded)) == 3


def test_the_database_refusing_is_said_plainly_and_a_second_touch_tries_again(
    client: TestClient, seeded: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alerts.raise_kiosk_sos

    def refused(session: Session, **kwargs: Any) -> Alert:
        raise OperationalError("INSERT INTO alert", {}, Exception("database is locked"))

    monkeypatch.setattr(alerts, "raise_kiosk_sos", refused)
    with client.websocket_connect("/kiosk/ws") as ws:
        hello(ws)
        ws.send_json({"type": "sos"})
        assert ws.receive_json() == {"type": "sos", "come": False, "told": False}
        assert stored(seeded) == []
        monkeypatch.setattr(alerts, "raise_kiosk_sos", real)  # the database is back
        ws.send_json({"type": "sos"})
        assert ws.receive_json()["told"] is True
        assert len(stored(seeded)) == 1


def test_an_emergency_is_never_too_fast_and_never_waits_for_the_engine(
    client: TestClient, seeded: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow_engine(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        await anyio.sleep(3)
        raise bot_client.BotUnavailable("no engine")

    with client.websocket_connect("/kiosk/ws") as ws:
        hello(ws)
        burst = get_settings().kiosk_sender_burst
        for _ in range(burst + 1):
            ws.send_json({"type": "text", "text": "办事时间"})
        answers = [ws.receive_json() for _ in range(burst + 1)]
        assert answers[-1]["type"] == "busy"  # touches are limited…
        ws.send_json({"type": "sos"})
        assert ws.receive_json()["told"] is True  # …an emergency is not
    # a fresh session (the other's turns are used up): a touch stuck at the engine, then sos
    monkeypatch.setattr(bot_client, "ask", slow_engine)
    with client.websocket_connect("/kiosk/ws") as ws:
        hello(ws)
        ws.send_json({"type": "text", "text": "办事时间"})
        ws.send_json({"type": "sos"})
        first = ws.receive_json()
        assert first["type"] == "sos" and first["told"] is True  # ahead of the engine's answer
        assert ws.receive_json()["message"] == "对不起，助手暂时没有反应，请找工作人员。"


def test_malformed_sos_frames_are_answered_like_other_bad_frames(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    with client.websocket_connect("/kiosk/ws") as ws:
        hello(ws)
        ws.send_json({"type": "sos", "come": "maybe"})
        assert ws.receive_json() == {"type": "error", "message": "消息格式不对。"}
        assert stored(seeded) == []


def test_a_script_opening_socket_after_socket_cannot_bury_the_alert_bar(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    """(Tried by an independent tester: 300 sockets, 600 alerts with made-up places in 3.6 s.)"""
    from bot.api.limits import SOS_RATE

    answers = []
    for _ in range(SOS_RATE.burst + 2):
        with client.websocket_connect("/kiosk/ws") as ws:
            hello(ws)
            ws.send_json({"type": "sos"})
            answers.append(ws.receive_json()["told"])
    assert answers == [True] * SOS_RATE.burst + [False, False]  # then said plainly: not told
    assert len(stored(seeded)) == SOS_RATE.burst


def test_another_sites_page_cannot_open_the_kiosk_socket(client: TestClient, seeded: sessionmaker[Session]) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/kiosk/ws", headers={"Origin": "http://evil.example"}) as ws,
    ):
        ws.send_json({"type": "sos"})
        ws.receive_json()
    assert stored(seeded) == []
    with client.websocket_connect("/kiosk/ws", headers={"Origin": "http://testserver"}) as ws:  # the kiosk page
        hello(ws)
        ws.send_json({"type": "sos"})
        assert ws.receive_json()["told"] is True
