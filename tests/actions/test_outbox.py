"""The app unreachable when a resident confirms: the bot says so and that staff will call back,
and what was confirmed is kept in the action server's outbox and delivered to the app as a
callback request once it answers again — once, however often delivery is tried."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import outbox
from actions.conversation import ActionHumanHandoff
from actions.taxi import ActionBookTaxi, ValidateTaxiForm
from tests.actions.conftest import free_port, rows, tracker
from tests.actions.test_forms import DOMAIN, filled_taxi, in_form

READ_BACK = "我读一遍：明天上午9点，从五号楼门口到六院，2位，带轮椅，电话13812345678。对吗？"
WHAT_WAS_CONFIRMED = "明天上午9点，从五号楼门口到六院，2位，带轮椅，电话13812345678。"


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """An outbox of its own, retried quickly, and the app unreachable until the test says."""
    monkeypatch.setenv("LINLI_OUTBOX", str(tmp_path / "outbox.sqlite"))
    monkeypatch.setenv("LINLI_OUTBOX_RETRY_SECONDS", "0.2")
    monkeypatch.setenv("LINLI_APP_URL", f"http://127.0.0.1:{free_port()}")
    yield app
    if outbox._flusher is not None:
        outbox._flusher.cancel()


def app_back(monkeypatch: pytest.MonkeyPatch, app: dict[str, Any]) -> None:
    monkeypatch.setenv("LINLI_APP_URL", app["url"])


async def arrived(app: dict[str, Any], sender: str) -> list[tuple[Any, ...]]:
    for _ in range(50):  # the background delivery retries every 0.2 s
        found = rows(app["db"], "SELECT phone, message, status FROM handoff_request WHERE sender_id = ?", sender)
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_a_plain_yes_to_the_read_back_closes_the_form_without_the_app(kept: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    said = in_form(filled_taxi("taxi-offline", "对的"), "taxi_form", "taxi_confirmed")
    said.slots["taxi_confirmed"] = None
    events = await ValidateTaxiForm().run(dispatcher, said, DOMAIN)
    assert events == [SlotSet("taxi_confirmed", True), SlotSet("requested_slot", None)]
    assert dispatcher.messages == []
    # a "不对" (or anything else) still needs the app to understand it: asked again, answers kept
    said = in_form(tracker("时间不对", "deny", slots={"taxi_phone": "13812345678"}), "taxi_form", "taxi_confirmed")
    events = await ValidateTaxiForm().run(dispatcher, said, DOMAIN)
    assert dispatcher.messages[-1]["response"] == "utter_say_again_later"
    assert SlotSet("taxi_confirmed", True) not in events


async def test_a_confirmed_booking_is_kept_and_reaches_staff_once_the_app_is_back(
    kept: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    confirmed = filled_taxi("taxi-kept", "对的")
    confirmed.events.insert(0, {"event": "bot", "text": READ_BACK})
    for _ in range(2):  # the confirming message delivered twice while the app is away
        dispatcher = CollectingDispatcher()
        events = await ActionBookTaxi().run(dispatcher, confirmed, DOMAIN)
        assert [m["response"] for m in dispatcher.messages] == ["utter_kept_for_callback"]
        assert SlotSet("taxi_phone", None) in events
    assert len(outbox.waiting()) == 1
    assert rows(kept["db"], "SELECT id FROM taxi_booking WHERE sender_id = 'taxi-kept'") == []

    app_back(monkeypatch, kept)
    ((phone, message, status),) = await arrived(kept, "taxi-kept")
    assert (phone, status) == ("13812345678", "待回电")
    assert message == f"【系统故障没能保存，请回电办理】叫出租车：{WHAT_WAS_CONFIRMED}"
    assert outbox.waiting() == []
    await outbox.deliver_waiting()  # nothing left to send a second time
    assert len(rows(kept["db"], "SELECT id FROM handoff_request WHERE sender_id = 'taxi-kept'")) == 1
    assert rows(kept["db"], "SELECT id FROM taxi_booking WHERE sender_id = 'taxi-kept'") == []


async def test_a_callback_asked_for_while_the_app_is_away_is_kept(
    kept: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher = CollectingDispatcher()
    asked = tracker("转人工", "human_handoff", slots={"callback_phone": "13912345678"}, sender_id="handoff-kept")
    await ActionHumanHandoff().run(dispatcher, asked, DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_kept_for_callback"]
    app_back(monkeypatch, kept)
    ((phone, message, status),) = await arrived(kept, "handoff-kept")
    assert (phone, message, status) == ("13912345678", "转人工", "待回电")


async def test_what_an_earlier_action_server_kept_goes_out_with_the_next_action(
    kept: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept_call = {"sender_id": "kept-before-restart", "phone": "13700000000", "message": "【…】", "message_id": "m-1"}
    outbox.put(kept_call)
    outbox._flusher.cancel()  # type: ignore[union-attr] # the process that kept it stopped …
    outbox._flusher = None  # … and a new one starts with nothing running
    app_back(monkeypatch, kept)
    called_off = filled_taxi("someone-else", "算了")
    called_off.slots["form_cancelled"] = True
    await ActionBookTaxi().run(CollectingDispatcher(), called_off, DOMAIN)
    assert await arrived(kept, "kept-before-restart")
