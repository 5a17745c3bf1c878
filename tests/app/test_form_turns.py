"""Form turns through the API, as the action server drives them: what is asked, what is filled,
what a correction changes, and the kind explanations for past times, full slots and bad phones.
The clock is Saturday 2026-11-21 10:00 in Shanghai."""

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker


def read_payload(payload: str) -> tuple[str, list[dict[str, Any]]]:
    """A button's payload as Rasa reads it: the intent, and the entities of its JSON."""
    found = re.fullmatch(r"/(\w+)(\{.*\})?", payload)
    assert found, f"not a payload: {payload!r}"  # a button must carry meaning, never words
    given = json.loads(found.group(2) or "{}")
    return found.group(1), [{"entity": k, "value": v} for k, v in given.items()]


class FormDriver:
    """Plays the Rasa side: keeps the slots and the requested slot between turns."""

    def __init__(self, client: TestClient, form: str, sender: str = "resident-1") -> None:
        self.client, self.form, self.sender = client, form, sender
        self.slots: dict[str, Any] = {}
        self.requested: str | None = None
        self.said: list[str] = []
        self.buttons: list[dict[str, str]] = []
        self.turns = 0
        self.client_address = ""  # where the resident is, as the engine's channel vouches (connectors/rest.py)

    def _turn(self, mode: str, text: str, intent: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        self.turns += 1
        response = self.client.post(
            f"/api/forms/{self.form}/turn",
            json={
                "mode": mode,
                "text": text,
                "intent": intent,
                "entities": entities or [],
                "slots": self.slots,
                "requested_slot": self.requested,
                "sender_id": self.sender,
                "channel": "rest",
                "message_id": f"m{self.turns}",
                "client": self.client_address,
            },
        )
        assert response.status_code == 200, response.text
        reply: dict[str, Any] = response.json()
        self.slots.update(reply["slots"])
        self.requested = reply["next_slot"]
        self.said = [s["text"] for s in reply["say"]]
        self.buttons = [b for s in reply["say"] for b in s["buttons"]]
        return reply

    def start(self, text: str, intent: str = "", entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return self._turn("activate", text, intent, entities)

    def answer(self, text: str, intent: str = "inform") -> dict[str, Any]:
        return self._turn("answer", text, intent)

    def touch(self, button: dict[str, str]) -> dict[str, Any]:
        """A button touched: what reaches the app once Rasa has read the payload (its regex
        handler: `/intent{"entity": "value"}`) and the action server has taken the answer's words
        out of the `answer` entity (actions/touch.py)."""
        intent, entities = read_payload(button["payload"])
        words = next((e["value"] for e in entities if e["entity"] == "answer"), "")
        return self._turn("answer", words, intent, [e for e in entities if e["entity"] != "answer"])

    def titles(self) -> list[str]:
        return [b["title"] for b in self.buttons]

    def button(self, title: str) -> dict[str, str]:
        return next(b for b in self.buttons if b["title"] == title)

    @property
    def last(self) -> str:
        return " ".join(self.said)


def test_taxi_form_collects_everything_and_reads_it_back(client: TestClient) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("明天上午九点帮我叫部车去六院", "book_taxi")
    assert form.slots["taxi_destination"] == "六院"
    assert form.slots["taxi_time"].startswith("2026-11-22T09:00")
    assert form.requested == "taxi_phone"
    form.answer("一三八一二三四五六七八")
    assert form.slots["taxi_phone"] == "13812345678"
    assert form.requested == "taxi_pickup" and "上车" in form.last
    form.answer("五号楼门口")
    assert form.requested == "taxi_passengers"
    form.answer("两个人")
    assert form.requested == "taxi_assistance"
    form.answer("要带轮椅")
    assert form.slots["taxi_assistance"] == "轮椅"
    assert form.requested == "taxi_confirmed"
    assert "明天" in form.last and "9点" in form.last and "五号楼门口" in form.last and "六院" in form.last
    assert "2位" in form.last and "13812345678" in form.last and form.last.endswith("对吗？")
    form.answer("对的", "affirm")
    assert form.slots["taxi_confirmed"] is True and form.requested is None


def test_taxi_correction_changes_one_item_and_reads_back_again(client: TestClient) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("叫车去瑞金医院", "book_taxi")
    for answer in ("13812345678", "小区南门", "明天上午九点", "就我一个", "不用"):
        form.answer(answer)
    assert form.requested == "taxi_confirmed"
    form.answer("时间不对，是后天上午", "deny")
    assert form.slots["taxi_time"].startswith("2026-11-23T09:00")
    assert form.slots["taxi_destination"] == "瑞金医院"  # nothing else lost
    assert form.requested == "taxi_confirmed" and "后天" in form.last
    form.answer("不是瑞金 是华山医院", "deny")
    assert form.slots["taxi_destination"] == "华山医院"
    form.answer("地址不对", "deny")  # named but no new value: asked again
    assert form.requested == "taxi_pickup" and form.slots["taxi_pickup"] is None
    form.answer("十二号楼楼下")
    assert form.requested == "taxi_confirmed" and "十二号楼楼下" in form.last
    form.answer("不对", "deny")
    assert "哪一项" in form.last and form.requested == "taxi_confirmed"


def test_taxi_asap_is_urgent_and_past_times_are_explained(client: TestClient) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("叫部车", "book_taxi")
    form.answer("13812345678")
    form.answer("五号楼门口")
    form.answer("六院")
    assert form.requested == "taxi_time"
    form.answer("今天早上八点")
    assert "已经过去" in form.last and form.requested == "taxi_time"
    form.answer("明天")
    assert form.requested == "taxi_time" and "几点" in form.last
    form.answer("九点")
    assert form.slots["taxi_time"].startswith("2026-11-22T09:00")
    form = FormDriver(client, "taxi_form", sender="resident-2")
    form.start("马上要车 急", "book_taxi")
    assert form.slots["taxi_asap"] is True


@pytest.mark.parametrize(("said", "explains"), [("一三八一二三", "11位"), ("我不晓得", "没有听到号码")])
def test_impossible_phone_gets_an_explanation_and_the_question_again(
    client: TestClient, said: str, explains: str
) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("叫车", "book_taxi")
    form.answer(said)
    assert explains in form.last
    assert form.requested == "taxi_phone" and form.slots.get("taxi_phone") is None


def test_cancel_phrase_ends_the_form(client: TestClient) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("叫车去六院", "book_taxi")
    reply = form.answer("算了 不叫了", "deny")
    assert reply["next_slot"] is None and form.slots["form_cancelled"] is True
    assert form.slots["taxi_destination"] is None


def test_not_understood_is_flagged_so_an_interruption_can_take_over(client: TestClient) -> None:
    form = FormDriver(client, "taxi_form")
    form.start("叫车", "book_taxi")
    reply = form.answer("居委会几点开门", "ask_service_hours")
    assert reply["understood"] is False and form.requested == "taxi_phone"


def take_both_machines(client: TestClient, slot_start: str, *, who: str) -> None:
    """Two other residents book the slot, one on each machine: it is full."""
    for n in range(2):
        response = client.post(
            "/api/stair-climber/bookings",
            json={
                "idempotency_key": f"{who}-{n}-key",
                "sender_id": f"{who}-{n}",
                "phone": "13900001111",
                "slot_start": slot_start,
                "building": "3号楼",
                "floor": 5,
                "direction": "下楼",
            },
        )
        assert response.status_code == 201, response.text


def test_climber_full_slot_offers_the_nearest_free_one(client: TestClient) -> None:
    take_both_machines(client, "2026-11-23T08:00:00+08:00", who="other")  # Monday 08:00-10:00
    form = FormDriver(client, "stair_climber_form")
    form.start("约个爬楼机 下楼", "book_stair_climber")
    assert form.slots["climber_direction"] == "下楼"
    form.answer("13812345678")
    form.answer("五号楼六楼602室")
    assert form.slots["climber_building"] == "5号楼" and form.slots["climber_floor"] == 6
    assert form.slots["climber_room"] == "602"
    assert form.requested == "climber_time"
    form.answer("礼拜一上午八点")
    assert "约满" in form.last and "可以吗" in form.last
    offered = form.slots["climber_offer"]
    assert offered.startswith("2026-11-23T10:00")
    form.answer("好的", "affirm")
    assert form.slots["climber_time"] == offered
    form.answer("去医院看毛病")
    assert form.requested == "climber_confirmed" and "602室" in form.last


def test_climber_outside_service_hours_is_explained(client: TestClient) -> None:
    form = FormDriver(client, "stair_climber_form")
    form.start("约爬楼机", "book_stair_climber")
    form.answer("13812345678")
    form.answer("三号楼五楼")
    form.answer("下楼")
    form.answer("礼拜天下午三点")
    assert "服务时间" in form.last and "星期一到星期六" in form.last
    assert form.slots["climber_time"] is None and form.slots["climber_offer"]


def test_request_form_with_category_from_the_first_sentence(client: TestClient) -> None:
    form = FormDriver(client, "request_form")
    form.start(
        "阿拉屋里卫生间天花板漏水了",
        "file_request",
        [{"entity": "request_category", "value": "房屋报修"}],
    )
    assert form.slots["request_category"] == "房屋报修"
    assert "漏水" in form.slots["request_description"]
    assert form.requested == "request_location"
    form.answer("七号楼301室")
    form.answer("13812345678")
    assert form.requested is None and form.slots["request_phone"] == "13812345678"


def test_a_dark_stairwell_is_a_broken_public_facility(client: TestClient) -> None:
    form = FormDriver(client, "request_form")
    form.start("楼道里的灯坏了 晚上看不见", "file_request")
    assert form.slots["request_category"] == "公共设施损坏"
    assert form.requested == "request_location"


def test_request_with_someone_trapped_raises_an_alert_at_once(client: TestClient) -> None:
    form = FormDriver(client, "request_form")
    reply = form.start("电梯坏了 里面关了人", "file_request")
    assert reply["danger"] == "电梯困人"
    assert form.slots["request_category"] == "电梯故障"


def test_status_lookup_asks_number_then_phone_for_someone_elses_device(client: TestClient) -> None:
    created = client.post(
        "/api/requests",
        json={
            "idempotency_key": "owner-request-1",
            "sender_id": "owner",
            "phone": "13812345678",
            "category": "楼道堆物",
            "description": "楼道里堆满纸板箱",
            "location": "三号楼",
        },
    ).json()
    form = FormDriver(client, "status_form", sender="kiosk-session")
    form.start("我上次报修的怎么样了", "check_status")
    assert form.requested == "lookup_number"
    form.answer(" ".join(created["number"]))
    assert form.slots["lookup_number"] == created["number"] and form.requested == "lookup_phone"
    form.answer("13812345678")
    assert form.requested is None
    mine = FormDriver(client, "status_form", sender="owner")
    mine.start("我报的事情怎么样了", "check_status")
    assert mine.requested is None  # own records: nothing to ask


def test_every_climber_question_can_be_answered_by_touch(client: TestClient) -> None:
    """The kiosk answers without speech: a number pad for the phone, a building/floor/room pad, and
    buttons for the direction, the soonest free slots (full ones never offered) and the purpose."""
    form = FormDriver(client, "stair_climber_form")
    reply = form.start("我要约爬楼机", "book_stair_climber")
    assert reply["say"][-1]["entry"] == {"kind": "digits", "label": "手机号码", "length": 11}
    reply = form.answer("13912345678")
    assert reply["say"][-1]["entry"] == {"kind": "address"}
    reply = form.answer("5号楼6楼602室")
    assert [b["title"] for b in reply["say"][-1]["buttons"]] == ["下楼", "上楼", "往返"]
    reply = form.answer("下楼")
    offered = reply["say"][-1]["buttons"]
    assert len(offered) == 6 and len({b["payload"] for b in offered}) == 6
    first = offered[0]
    # someone takes both machines at the first offered time meanwhile
    take_both_machines(client, form_slot_start(client, form, first["payload"]), who="touch")
    again = form.answer("再说一遍", "repeat")["say"][-1]["buttons"]
    assert first["payload"] not in [b["payload"] for b in again]  # a full slot is never a button
    reply = form.touch(again[0])
    assert form.requested == "climber_purpose"
    assert next(b["title"] for b in reply["say"][-1]["buttons"]) == "去医院看病"
    reply = form.answer("去医院看病")
    assert form.requested == "climber_confirmed" and again[0]["title"] in form.last
    assert [b["title"] for b in reply["say"][-1]["buttons"]] == ["对", "不对"]


def form_slot_start(client: TestClient, form: FormDriver, payload: str) -> str:
    """The slot a time button stands for, read by a throw-away form exactly as the real one would."""
    probe = FormDriver(client, "stair_climber_form", sender="probe")
    probe.start("约爬楼机 下楼 5号楼6楼", "book_stair_climber")
    probe.answer("13900002222")
    probe.touch({"title": "", "payload": payload})
    start: str = probe.slots["climber_time"]
    return start


def test_taxi_and_request_questions_offer_touch_answers(client: TestClient) -> None:
    taxi = FormDriver(client, "taxi_form")
    assert taxi.start("叫车", "book_taxi")["say"][-1]["entry"]["kind"] == "digits"
    assert "小区大门口" in [b["title"] for b in taxi.answer("13812345678")["say"][-1]["buttons"]]
    assert "瑞金医院" in [b["title"] for b in taxi.answer("小区大门口")["say"][-1]["buttons"]]
    asked_time = taxi.answer("瑞金医院")["say"][-1]
    assert asked_time["entry"] == {"kind": "time"} and asked_time["buttons"][0]["title"] == "现在"
    taxi.answer("明天上午9点")  # what the kiosk's day-and-hour picker sends
    assert taxi.slots["taxi_time"].startswith("2026-11-22T09:00")
    request = FormDriver(client, "request_form")
    categories = request.start("我要反映问题", "file_request")["say"][-1]["buttons"]
    assert "楼道堆物" in [b["title"] for b in categories]
    request.touch(request.button("楼道堆物"))
    assert request.slots["request_category"] == "楼道堆物" and request.requested == "request_description"
    assert "楼道里堆了杂物" in request.titles() and request.titles()[-1] == "其他"
    request.touch(request.button("楼道里堆了纸箱"))
    assert request.slots["request_description"] == "楼道里堆了纸箱" and request.requested == "request_location"
    repair = FormDriver(client, "request_form", sender="resident-2")
    repair.start("我要报修", "file_request")
    assert repair.requested == "request_description" and "屋顶漏水" in repair.titles()
    repair.touch(repair.button("其他"))  # nothing more said by touch: staff call to ask
    assert repair.slots["request_description"] and repair.requested == "request_location"


def test_a_wrong_read_back_is_corrected_by_touch_alone(client: TestClient) -> None:
    """不对 → a tile for each item (no words to say) → that item's question with its picker →
    the new value → the read-back again, everything else kept."""
    form = FormDriver(client, "taxi_form")
    form.start("", "book_taxi")
    form.answer("13812345678")
    for title in ("小区南门", "瑞金医院", "现在", "2位", "不用"):
        form.touch(form.button(title))
    assert form.requested == "taxi_confirmed" and form.titles() == ["对", "不对"]
    form.touch(form.button("不对"))
    assert form.requested == "taxi_confirmed" and "哪一项" in form.last
    assert form.titles() == ["时间", "上车地点", "去的地方", "几位", "轮椅和搀扶", "电话", "都对"]
    form.touch(form.button("时间"))
    assert form.requested == "taxi_time" and form.slots["taxi_time"] is None
    form.answer("明天上午10点", "inform")  # the day-and-hour picker's words
    assert form.requested == "taxi_confirmed" and "明天" in form.last and "10点" in form.last
    assert form.slots["taxi_destination"] == "瑞金医院" and form.slots["taxi_passengers"] == 2
    form.touch(form.button("不对"))
    form.touch(form.button("去的地方"))
    assert form.requested == "taxi_destination" and "华山医院" in form.titles()
    form.touch(form.button("华山医院"))
    assert form.requested == "taxi_confirmed" and "华山医院" in form.last and "10点" in form.last
    form.touch(form.button("不对"))
    form.touch(form.button("都对"))
    assert form.slots["taxi_confirmed"] is True and form.requested is None


def test_every_tile_of_a_read_back_names_an_item_the_form_asks_again() -> None:
    from bot.services.forms import FORMS

    for form in FORMS.values():
        assert set(form.item_titles) <= set(form.slots), form.name
        if any(slot.endswith("_confirmed") for slot in form.slots) and form.corrections:
            assert set(form.item_titles) == set(form.corrections), form.name


def test_every_button_of_every_question_carries_a_payload(client: TestClient) -> None:
    """No button sends words for the NLU to guess: each is `/intent` or `/intent{json}`."""
    seen = 0
    for form_name, first in (("taxi_form", ""), ("stair_climber_form", ""), ("request_form", ""), ("status_form", "")):
        form = FormDriver(client, form_name, sender=f"touch-{form_name}")
        form.start(first, "")
        answers = iter(["13812345678", "5号楼6楼602室"])
        for _ in range(12):
            for b in form.buttons:
                read_payload(b["payload"])
                seen += 1
            if form.requested is None:
                break
            if form.buttons:
                form.touch(form.buttons[0])
            else:
                form.answer(next(answers, "13812345678"))
    assert seen > 30


def test_a_touch_only_kiosk_is_asked_to_press_not_to_speak(client: TestClient) -> None:
    spoken = FormDriver(client, "taxi_form", sender="voice-kiosk")
    assert "请说" in spoken.start("", "book_taxi")["say"][-1]["text"]
    response = client.post(
        "/api/forms/taxi_form/turn",
        json={"mode": "activate", "text": "", "intent": "book_taxi", "sender_id": "touch-kiosk", "touch_only": True},
    )
    asked = response.json()["say"][-1]["text"]
    assert "请按" in asked and "请说" not in asked


def test_cancel_from_a_status_just_shown_does_not_ask_for_the_phone_again(client: TestClient) -> None:
    created = client.post(
        "/api/requests",
        json={
            "idempotency_key": "owner-request-touch",
            "sender_id": "owner-elsewhere",
            "phone": "13812345678",
            "category": "楼道堆物",
            "description": "楼道里堆满纸板箱",
            "location": "三号楼",
        },
    ).json()
    number = created["number"]
    shown = client.post(
        "/api/records/status",
        json={"sender_id": "kiosk-2", "number": number, "phone": "13812345678", "kinds": ["request"]},
    ).json()
    assert shown["open_numbers"] == [number]
    cancel = FormDriver(client, "cancel_form", sender="kiosk-2")
    cancel.slots = {"lookup_verified": {"number": number, "phone": "13812345678"}}
    cancel.start(number, "cancel_booking")  # the 取消这个 button's words: the number shown
    assert cancel.requested == "cancel_confirmed" and "要取消这个吗" in cancel.last
    other = FormDriver(client, "cancel_form", sender="kiosk-2")
    other.slots = {"lookup_verified": {"number": "80000000", "phone": "13812345678"}}
    other.start(number, "cancel_booking")  # verified was another number: the phone is asked
    assert other.requested == "lookup_phone"


def test_destinations_beyond_the_usual_six_and_a_place_staff_add_are_tiles(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    from bot.services import taxi_places

    with seeded() as session:
        usual = taxi_places.places(session, kind="destination")
        taxi_places.set_places(session, kind="destination", names=[*usual, "区老年大学"], actor="staff-1")
    form = FormDriver(client, "taxi_form", sender="more-places")
    form.start("", "book_taxi")
    form.answer("13812345678")
    form.touch(form.button("小区南门"))
    assert form.titles() == [*usual[:6], "更多地方"]
    form.touch(form.button("更多地方"))
    assert form.requested == "taxi_destination" and form.titles() == [*usual[6:], "区老年大学"]
    form.touch(form.button("区老年大学"))
    assert form.slots["taxi_destination"] == "区老年大学" and form.requested == "taxi_time"
