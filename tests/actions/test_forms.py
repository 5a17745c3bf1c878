"""The booking and request actions against a running app: what the form's validation returns
(slot events, the question, a step aside for interruptions) and the rows the submit writes."""

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.records import ActionCancelBooking, ActionCheckStatus, ValidateCancelForm, ValidateStatusForm
from actions.requests import ActionFileRequest, ValidateRequestForm
from actions.stair_climber import ActionBookStairClimber
from actions.taxi import ActionBookTaxi, ValidateTaxiForm
from tests.actions.conftest import ROOT, rows, tracker

DOMAIN: dict[str, Any] = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# The app runs on the real clock: bookings are made for days ahead of today.
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
TOMORROW_9AM = (TODAY + timedelta(days=1, hours=9)).isoformat()
NEXT_MONDAY_8AM = (TODAY + timedelta(days=7 - TODAY.weekday(), hours=8)).isoformat()


def in_form(base: Tracker, form: str, requested: str | None) -> Tracker:
    base.active_loop = {"name": form}
    base.slots["requested_slot"] = requested
    return base


def read_out(number: str) -> str:
    """A record number as the bot says it: two groups of four."""
    return f"{number[:4]} {number[4:]}"


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_activation_fills_what_was_said_and_asks_the_next_question(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ValidateTaxiForm().run(dispatcher, tracker("明天上午九点叫部车去六院", "book_taxi"), DOMAIN)
    slots = slot_events(events)
    assert slots["taxi_destination"] == "六院" and slots["taxi_time"].startswith("20")
    assert slots["requested_slot"] == "taxi_phone"
    assert "手机号码" in dispatcher.messages[-1]["text"]


async def test_touch_entry_and_slow_repeat_reach_the_channel(app: dict[str, Any]) -> None:
    """The kiosk draws a number pad from the question's entry, and 说慢一点 mid-form is asked again
    at the slow speech rate (both travel as the message's custom part)."""
    dispatcher = CollectingDispatcher()
    await ValidateTaxiForm().run(dispatcher, tracker("叫部车", "book_taxi"), DOMAIN)
    assert dispatcher.messages[-1]["custom"] == {"entry": {"kind": "digits", "label": "手机号码", "length": 11}}
    dispatcher = CollectingDispatcher()
    slower = in_form(tracker("说慢一点", "repeat"), "taxi_form", "taxi_phone")
    await ValidateTaxiForm().run(dispatcher, slower, DOMAIN)
    assert "手机号码" in dispatcher.messages[-1]["text"]
    assert dispatcher.messages[-1]["custom"]["speech_rate"] == "slow"


async def test_emergency_and_unanswered_interruptions_make_the_form_step_aside(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    emergency = in_form(tracker("我摔倒了", "emergency"), "taxi_form", "taxi_phone")
    assert await ValidateTaxiForm().run(dispatcher, emergency, DOMAIN) == []
    hours = in_form(tracker("居委会几点开门", "ask_service_hours"), "taxi_form", "taxi_phone")
    assert await ValidateTaxiForm().run(dispatcher, hours, DOMAIN) == []
    assert dispatcher.messages == []


async def test_a_trapped_person_in_a_request_gets_the_emergency_answer_at_once(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    said = tracker("电梯坏了 里面关了人", "file_request", sender_id="trapped-1")
    await ValidateRequestForm().run(dispatcher, said, DOMAIN)
    assert [m.get("response") for m in dispatcher.messages[:2]] == [
        "utter_emergency_elevator",
        "utter_emergency_alert_sent",
    ]
    assert rows(app["db"], "SELECT kind, source FROM alert WHERE sender_id = 'trapped-1'") == [("电梯困人", "request")]


def filled_taxi(sender: str, message: str) -> Tracker:
    return tracker(
        message,
        "affirm",
        slots={
            "taxi_phone": "13812345678",
            "taxi_pickup": "五号楼门口",
            "taxi_destination": "六院",
            "taxi_time": TOMORROW_9AM,
            "taxi_passengers": 2,
            "taxi_assistance": "轮椅",
            "taxi_confirmed": True,
        },
        sender_id=sender,
    )


async def test_submit_writes_one_row_even_when_retried(app: dict[str, Any]) -> None:
    for _ in range(2):  # the same confirming message, delivered twice
        dispatcher = CollectingDispatcher()
        events = await ActionBookTaxi().run(dispatcher, filled_taxi("taxi-owner", "对的"), DOMAIN)
        assert "编号3" in dispatcher.messages[0]["text"]
        assert SlotSet("taxi_phone", None) in events
    stored = rows(
        app["db"], "SELECT phone, passengers, assistance, status FROM taxi_booking WHERE sender_id = 'taxi-owner'"
    )
    assert stored == [("13812345678", 2, "轮椅", "待派车")]


async def test_called_off_form_writes_nothing(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    called_off = filled_taxi("taxi-quitter", "算了")
    called_off.slots["form_cancelled"] = True
    await ActionBookTaxi().run(dispatcher, called_off, DOMAIN)
    assert dispatcher.messages == []
    assert rows(app["db"], "SELECT id FROM taxi_booking WHERE sender_id = 'taxi-quitter'") == []


async def test_status_and_cancel_of_own_booking(app: dict[str, Any]) -> None:
    await ActionBookTaxi().run(CollectingDispatcher(), filled_taxi("taxi-status", "对"), DOMAIN)
    number = rows(app["db"], "SELECT number FROM taxi_booking WHERE sender_id = 'taxi-status'")[0][0]
    dispatcher = CollectingDispatcher()
    await ActionCheckStatus().run(
        dispatcher,
        tracker("我叫的车到哪里了", "check_status", slots={"lookup_kinds": ["taxi"]}, sender_id="taxi-status"),
        DOMAIN,
    )
    assert read_out(number) in dispatcher.messages[0]["text"] and "等工作人员派车" in dispatcher.messages[0]["text"]
    # 取消 by touch from here: the number shown, as the answer of a cancel_booking payload
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "取消这个", "payload": "/cancel_booking" + json.dumps({"answer": number})}
    ]
    dispatcher = CollectingDispatcher()
    await ActionCancelBooking().run(
        dispatcher,
        tracker("对", "affirm", slots={"cancel_target": number, "cancel_confirmed": True}, sender_id="taxi-status"),
        DOMAIN,
    )
    assert "取消" in dispatcher.messages[0]["text"]
    assert rows(app["db"], "SELECT status FROM taxi_booking WHERE number = ?", number) == [("已取消",)]


async def test_a_touch_answer_reaches_the_app_as_its_words(app: dict[str, Any]) -> None:
    """`/inform{"answer": "13812345678"}`: the app reads the words, the NLU guessed nothing."""
    dispatcher = CollectingDispatcher()
    touched = in_form(
        tracker('/inform{"answer": "13812345678"}', "inform", {"answer": "13812345678"}), "taxi_form", "taxi_phone"
    )
    events = await ValidateTaxiForm().run(dispatcher, touched, DOMAIN)
    assert slot_events(events)["taxi_phone"] == "13812345678"
    assert slot_events(events)["requested_slot"] == "taxi_pickup"


async def test_status_by_number_and_phone_lets_a_touch_cancel_without_asking_again(app: dict[str, Any]) -> None:
    await ActionBookTaxi().run(CollectingDispatcher(), filled_taxi("taxi-elsewhere", "对"), DOMAIN)
    number = rows(app["db"], "SELECT number FROM taxi_booking WHERE sender_id = 'taxi-elsewhere'")[0][0]
    dispatcher = CollectingDispatcher()
    shown = tracker(
        "", "check_status", slots={"lookup_number": number, "lookup_phone": "13812345678"}, sender_id="kiosk-x"
    )
    events = await ActionCheckStatus().run(dispatcher, shown, DOMAIN)
    assert slot_events(events)["lookup_verified"] == {"number": number, "phone": "13812345678"}
    (cancel,) = dispatcher.messages[0]["buttons"]
    dispatcher = CollectingDispatcher()
    touched = tracker(
        cancel["payload"], "cancel_booking", {"answer": number}, slots=slot_events(events), sender_id="kiosk-x"
    )
    events = await ValidateCancelForm().run(dispatcher, touched, DOMAIN)
    assert slot_events(events)["requested_slot"] == "cancel_confirmed"
    assert "要取消这个吗" in dispatcher.messages[-1]["text"]


async def test_slot_taken_meanwhile_is_explained(app: dict[str, Any]) -> None:
    slots = {
        "climber_phone": "13812345678",
        "climber_building": "5号楼",
        "climber_floor": 6,
        "climber_direction": "下楼",
        "climber_time": NEXT_MONDAY_8AM,
        "climber_purpose": "看病",
        "climber_confirmed": True,
    }
    texts = []
    for n in range(3):  # two machines: the third resident hears the slot was just taken
        dispatcher = CollectingDispatcher()
        await ActionBookStairClimber().run(
            dispatcher, tracker(f"对 {n}", "affirm", slots=slots, sender_id=f"c{n}"), DOMAIN
        )
        texts.append(dispatcher.messages[0]["text"])
    assert "约好了" in texts[0] and "约好了" in texts[1] and "约走了" in texts[2]
    assert len(rows(app["db"], "SELECT id FROM climber_booking WHERE status = '已预约'")) == 2


async def test_request_is_filed_with_a_number(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    slots = {
        "request_category": "楼道堆物",
        "request_description": "楼道里堆满纸板箱",
        "request_location": "三号楼",
        "request_phone": "13812345678",
    }
    await ActionFileRequest().run(dispatcher, tracker("13812345678", "inform", slots=slots, sender_id="req-1"), DOMAIN)
    number = rows(app["db"], "SELECT number FROM resident_request WHERE sender_id = 'req-1'")[0][0]
    assert f"编号{read_out(number)}" in dispatcher.messages[0]["text"]


async def test_app_down_mid_form_keeps_the_answers_already_given(app_down: None) -> None:
    dispatcher = CollectingDispatcher()
    said = in_form(tracker("五号楼门口", "inform", slots={"taxi_phone": "13812345678"}), "taxi_form", "taxi_pickup")
    events = await ValidateTaxiForm().run(dispatcher, said, DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_say_again_later"
    assert events == [SlotSet("taxi_pickup", None), SlotSet("requested_slot", "taxi_pickup")]
    assert all(e.get("name") != "taxi_phone" for e in events)  # the phone is not cleared


async def test_the_same_form_run_confirmed_again_under_a_new_message_id_saves_once(app: dict[str, Any]) -> None:
    """An engine died after saving but before storing the conversation: the resident says 对 again
    (a new message, on the other engine) and hears the same booking."""
    started = {"event": "active_loop", "name": "taxi_form", "timestamp": 1763800000.25}
    told = []
    for said in ("对的", "对"):  # different texts, so different message ids
        confirmed = filled_taxi("taxi-engine-died", said)
        confirmed.events.insert(0, started)
        dispatcher = CollectingDispatcher()
        await ActionBookTaxi().run(dispatcher, confirmed, DOMAIN)
        told.append(dispatcher.messages[0]["text"])
    assert told[0] == told[1] and "编号3" in told[0]
    assert len(rows(app["db"], "SELECT id FROM taxi_booking WHERE sender_id = 'taxi-engine-died'")) == 1


# --- guessing numbers, through the actions as the engine runs them -------------------------------


# Well-formed taxi numbers a guesser tries: kind digit, six digits, a right Verhoeff check digit
# (worked out with python-stdnum, which lives in the app's environment, not the engine's).
GUESSES = [
    "39000009", "39000370", "39000740", "39001110", "39001480", "39001856", "39002220", "39002594", "39002967",
    "39003338", "39003703", "39004071", "39004442", "39004810", "39005186", "39005559", "39005920", "39006298",
    "39006660", "39007030", "39007409",
]  # fmt: skip


def guessed(n: int) -> str:
    return GUESSES[n]


def asking(sender: str, client: str, number: str, phone: str) -> Tracker:
    """The status form filled by a resident whose message came from `client` (the address the
    engine's channel put in the message's metadata)."""
    slots = {"lookup_number": number, "lookup_phone": phone, "lookup_kinds": ["taxi"]}
    return tracker("查一下", "inform", slots=slots, sender_id=sender, metadata={"client": client})


async def test_a_guesser_with_fresh_conversations_is_stopped_by_his_address(app: dict[str, Any]) -> None:
    await ActionBookTaxi().run(CollectingDispatcher(), filled_taxi("taxi-guessed", "对"), DOMAIN)
    number = rows(app["db"], "SELECT number FROM taxi_booking WHERE sender_id = 'taxi-guessed'")[0][0]
    heard = []
    for n in range(11):  # a new sender id for every guess, all from one address
        dispatcher = CollectingDispatcher()
        await ActionCheckStatus().run(
            dispatcher, asking(f"fresh-{n}", "203.0.113.77", guessed(n), "13812345678"), DOMAIN
        )
        heard.append(dispatcher.messages[0]["text"])
    assert all("没有查到" in h for h in heard[:10])
    assert "暂停查询" in heard[10] and "居委会" in heard[10]  # the app's refusal, read out as it is
    dispatcher = CollectingDispatcher()
    await ActionCheckStatus().run(dispatcher, asking("fresh-hit", "203.0.113.77", number, "13812345678"), DOMAIN)
    assert "暂停查询" in dispatcher.messages[0]["text"]  # even the right number: he learns nothing
    # The resident, at another address, with the number and phone: the status, then the cancel.
    dispatcher = CollectingDispatcher()
    await ActionCheckStatus().run(dispatcher, asking("kiosk-resident", "198.51.100.77", number, "13812345678"), DOMAIN)
    assert read_out(number) in dispatcher.messages[0]["text"] and "等工作人员派车" in dispatcher.messages[0]["text"]
    cancel = asking("kiosk-resident", "198.51.100.77", number, "13812345678")
    cancel.slots.update({"cancel_target": number, "cancel_confirmed": True})
    dispatcher = CollectingDispatcher()
    await ActionCancelBooking().run(dispatcher, cancel, DOMAIN)
    assert "已经取消" in dispatcher.messages[0]["text"]
    assert rows(app["db"], "SELECT status FROM taxi_booking WHERE number = ?", number) == [("已取消",)]


async def test_the_form_at_a_locked_address_says_where_to_go_and_closes(app: dict[str, Any]) -> None:
    for n in range(10):
        await ActionCheckStatus().run(
            CollectingDispatcher(), asking(f"lobby-{n}", "192.0.2.77", guessed(n), "13812345678"), DOMAIN
        )
    dispatcher = CollectingDispatcher()
    said = tracker("3051 2743", "inform", sender_id="lobby-next", metadata={"client": "192.0.2.77"})
    events = await ValidateStatusForm().run(dispatcher, in_form(said, "status_form", "lookup_number"), DOMAIN)
    assert "暂停查询" in dispatcher.messages[-1]["text"]
    assert slot_events(events)["form_cancelled"] is True and slot_events(events)["requested_slot"] is None


async def test_a_misheard_number_is_told_to_be_checked(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    said = tracker("3051 2734", "inform", sender_id="slip-1", metadata={"client": "198.51.100.78"})
    events = await ValidateStatusForm().run(dispatcher, in_form(said, "status_form", "lookup_number"), DOMAIN)
    assert "对不上" in dispatcher.messages[0]["text"]
    assert slot_events(events)["requested_slot"] == "lookup_number"
    # A hand-made slot reaching the submit: the app's 422, read out.
    dispatcher = CollectingDispatcher()
    await ActionCheckStatus().run(dispatcher, asking("slip-1", "198.51.100.78", "30512734", "13812345678"), DOMAIN)
    assert "对不上" in dispatcher.messages[0]["text"]
    assert rows(app["db"], "SELECT COUNT(*) FROM lookup_failure WHERE source = '198.51.100.78'") == [(0,)]
