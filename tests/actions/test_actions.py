import json
from typing import Any

from rasa_sdk.events import ActionExecuted, SlotSet, UserUttered
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import (
    CARE_MARK,
    ActionAcceptGuess,
    ActionClarify,
    ActionHumanHandoff,
    ActionOutOfScope,
    ActionRepeat,
    ValidateHandoffForm,
)
from actions.emergency import ActionEmergency
from actions.knowledge import ActionAnswerInform, ActionPolicyAnswer, ActionServiceHours
from tests.actions.conftest import DOMAIN, rows, tracker


def responses(dispatcher: CollectingDispatcher) -> list[Any]:
    return [m.get("response") or m.get("text") for m in dispatcher.messages]


async def test_hours_for_a_named_day_come_from_the_app(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionServiceHours().run(
        dispatcher, tracker("居委会礼拜三开门伐", "ask_service_hours", {"facility": "居委会"}), {}
    )
    text = dispatcher.messages[0]["text"]
    assert text.startswith("居委会") and "星期三" in text
    assert events == [SlotSet("facility", "居委会")]


async def test_hours_without_a_facility_asks_which_with_a_tile_for_each(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionServiceHours().run(dispatcher, tracker("几点开门", "ask_service_hours"), {}) == []
    assert responses(dispatcher) == ["utter_ask_which_facility"]
    facilities = [name for (name,) in rows(app["db"], "SELECT name FROM facility ORDER BY id")]
    tiles = dispatcher.messages[0]["buttons"]
    assert [t["title"] for t in tiles] == facilities
    assert json.loads(tiles[0]["payload"].removeprefix("/ask_service_hours")) == {"facility": facilities[0]}


async def test_a_touch_only_kiosk_is_asked_to_press(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    touch = tracker("/ask_policy", "ask_policy", metadata={"touch_only": "1"}, channel="kiosk")
    await ActionPolicyAnswer().run(dispatcher, touch, {})
    assert responses(dispatcher) == ["utter_ask_which_policy_by_touch"] and dispatcher.messages[0]["buttons"]
    dispatcher = CollectingDispatcher()
    web = tracker("/ask_policy", "ask_policy", metadata={"touch_only": "1"}, channel="webchat")
    await ActionPolicyAnswer().run(dispatcher, web, {})  # only the kiosk channel's metadata counts
    assert responses(dispatcher) == ["utter_ask_which_policy"]


async def test_a_facility_tile_gets_today_s_hours(app: dict[str, Any]) -> None:
    """The touch's payload text is no day to read ("/ask_service_hours{…}"): today's hours."""
    dispatcher = CollectingDispatcher()
    touched = tracker('/ask_service_hours{"facility": "居委会"}', "ask_service_hours", {"facility": "居委会"})
    await ActionServiceHours().run(dispatcher, touched, {})
    assert dispatcher.messages[0]["text"].startswith("居委会今天")


async def test_policy_tiles_are_the_most_asked_entries_each_asked_by_its_title(app: dict[str, Any]) -> None:
    for _ in range(3):
        asked = tracker("阿拉敬老卡寻不着了，哪能补", "ask_policy")
        await ActionPolicyAnswer().run(CollectingDispatcher(), asked, {})
    (asked_most,) = rows(
        app["db"],
        "SELECT e.title FROM knowledge_question q JOIN knowledge_entry e ON e.id = q.entry_id "
        "WHERE q.outcome = 'answered' GROUP BY e.title ORDER BY count(*) DESC LIMIT 1",
    )
    dispatcher = CollectingDispatcher()
    await ActionPolicyAnswer().run(dispatcher, tracker("/ask_policy", "ask_policy"), {})
    assert responses(dispatcher) == ["utter_ask_which_policy"]
    tiles = dispatcher.messages[0]["buttons"]
    assert tiles[0] == {
        "title": asked_most[0],
        "payload": "/ask_policy" + json.dumps({"answer": asked_most[0]}, ensure_ascii=False),
    }
    assert len(tiles) == 8 and tiles[-1]["title"] == "更多"  # seven titles, and the next page
    dispatcher = CollectingDispatcher()
    touched = tracker(tiles[0]["payload"], "ask_policy", {"answer": asked_most[0]})
    await ActionPolicyAnswer().run(dispatcher, touched, {})  # the tile: its entry, word for word
    (spoken,) = rows(app["db"], "SELECT spoken FROM knowledge_entry WHERE title = ?", asked_most[0])
    assert dispatcher.messages[0]["text"].startswith(spoken[0])


async def test_a_question_no_entry_answers_is_said_so_and_kept_for_staff(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionPolicyAnswer().run(dispatcher, tracker("火星上能种土豆吗", "ask_policy", sender_id="mars-1"), {})
    assert responses(dispatcher) == ["utter_knowledge_unknown"]
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"
    assert rows(app["db"], "SELECT outcome FROM knowledge_question WHERE sender_id = 'mars-1'") == [("unknown",)]


async def test_an_unsure_question_is_offered_the_likely_entries_and_neither(app: dict[str, Any]) -> None:
    # several entries are about a 补贴: a question naming none of them is not answered with one
    dispatcher = CollectingDispatcher()
    await ActionPolicyAnswer().run(dispatcher, tracker("补贴去哪里申请", "ask_policy", sender_id="unsure-1"), {})
    (offer,) = dispatcher.messages
    buttons = offer["buttons"]
    assert offer["text"].startswith("您是想问“") and 2 <= len(buttons) <= 3
    titles = [json.loads(b["payload"].removeprefix("/ask_policy"))["answer"] for b in buttons]
    assert titles[-1] == "都不是" and [b["title"] for b in buttons] == titles
    known = {title for (title,) in rows(app["db"], "SELECT title FROM knowledge_entry")}
    assert set(titles[:-1]) <= known and all("补贴" in t or "津贴" in t for t in titles[:-1])
    assert rows(app["db"], "SELECT outcome FROM knowledge_question WHERE sender_id = 'unsure-1'") == [("asked_which",)]
    # 都不是: said so, a callback offered, and nothing more asked of the knowledge base
    neither = CollectingDispatcher()
    await ActionPolicyAnswer().run(
        neither, tracker(buttons[-1]["payload"], "ask_policy", {"answer": "都不是"}, sender_id="unsure-1"), {}
    )
    assert responses(neither) == ["utter_knowledge_unknown"] and neither.messages[0]["buttons"][0]["payload"] == (
        "/human_handoff"
    )
    assert len(rows(app["db"], "SELECT id FROM knowledge_question WHERE sender_id = 'unsure-1'")) == 1


async def test_a_topic_the_nlu_named_in_a_question_nothing_matched_is_offered_not_answered(
    app: dict[str, Any],
) -> None:
    (title,) = rows(app["db"], "SELECT title FROM knowledge_entry WHERE topic = '垃圾分类'")[0]
    dispatcher = CollectingDispatcher()
    await ActionPolicyAnswer().run(
        dispatcher, tracker("火星上能种土豆吗", "ask_policy", {"policy_topic": "垃圾分类"}), {}
    )
    (offer,) = dispatcher.messages
    assert offer["text"] == f"您是想问“{title}”吗？"
    assert [b["title"] for b in offer["buttons"]] == [title, "都不是"]
    # taken for out of scope by the NLU: asked strictly, nothing offered, the usual answer
    strictly = CollectingDispatcher()
    await ActionOutOfScope().run(
        strictly, tracker("火星上能种土豆吗", "out_of_scope", {"policy_topic": "垃圾分类"}), {}
    )
    assert responses(strictly) == ["utter_out_of_scope"]


async def test_unknown_facility_gets_the_list_of_known_ones(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionServiceHours().run(
        dispatcher, tracker("派出所几点开门", "ask_service_hours", {"facility": "派出所"}), {}
    )
    text = dispatcher.messages[0]["text"]
    assert "不知道" in text and "社区卫生站" in text and "长者食堂" in text
    assert events == [SlotSet("facility", None)]


async def test_policy_answer_is_the_stored_one(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionPolicyAnswer().run(
        dispatcher, tracker("加梯要多少人同意", "ask_policy", {"policy_topic": "加装电梯"}), {}
    )
    (stored,) = rows(app["db"], "SELECT spoken, needs_confirmation FROM knowledge_entry WHERE topic = ?", "加装电梯")
    # an answer staff have not confirmed (待核实) is said with "具体以居委会答复为准"
    assert dispatcher.messages[0]["text"] == stored[0] + ("具体以居委会答复为准。" if stored[1] else "")


async def test_bare_facility_answer_uses_the_day_from_the_question_before(app: dict[str, Any]) -> None:
    before = [{"event": "user", "text": "礼拜三开门伐", "parse_data": {}}]
    dispatcher = CollectingDispatcher()
    await ActionAnswerInform().run(
        dispatcher, tracker("卫生站", "inform", {"facility": "社区卫生站"}, events=before), {}
    )
    assert "社区卫生站" in dispatcher.messages[0]["text"] and "星期三" in dispatcher.messages[0]["text"]


async def test_app_down_gets_an_apology_not_a_crash(app_down: None) -> None:
    dispatcher = CollectingDispatcher()
    await ActionServiceHours().run(
        dispatcher, tracker("居委会几点开门", "ask_service_hours", {"facility": "居委会"}), {}
    )
    assert responses(dispatcher) == ["utter_app_unavailable"]


async def test_emergency_gives_the_number_then_records_an_alert(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("燃气漏了好重的味道", "emergency", {"emergency_type": "燃气泄漏"}, sender_id="gas-1")
    await ActionEmergency().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_emergency_gas", "utter_emergency_alert_sent"]
    assert rows(app["db"], "SELECT kind, channel, message FROM alert WHERE sender_id = ?", "gas-1") == [
        ("燃气泄漏", "rest", "燃气漏了好重的味道")
    ]
    await ActionEmergency().run(CollectingDispatcher(), t, {})  # the same message delivered again
    assert len(rows(app["db"], "SELECT id FROM alert WHERE sender_id = ?", "gas-1")) == 1


async def test_an_alert_says_where_the_kiosk_is_and_whom_to_call(app: dict[str, Any]) -> None:
    t = tracker(
        "阿拉老头子跌倒了 起勿来", "emergency", {"emergency_type": "急病受伤"}, sender_id="kiosk-fall-1",
        slots={"taxi_phone": "13812345678"}, metadata={"kiosk_id": "lobby-1", "location": "3号楼门厅"},
        channel="kiosk",
    )  # fmt: skip
    await ActionEmergency().run(CollectingDispatcher(), t, {})
    assert rows(app["db"], "SELECT kind, place, phone FROM alert WHERE sender_id = ?", "kiosk-fall-1") == [
        ("急病受伤", "3号楼门厅 lobby-1", "13812345678")
    ]


async def test_a_scam_in_progress_gets_fraud_advice_and_an_alert(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("电话里讲我卡冻结了 要我转到安全账户", "emergency", {"emergency_type": "诈骗"}, sender_id="scam-1")
    await ActionEmergency().run(dispatcher, t, {})
    assert responses(dispatcher) == ["utter_emergency_fraud", "utter_emergency_alert_sent"]
    assert rows(app["db"], "SELECT kind FROM alert WHERE sender_id = ?", "scam-1") == [("诈骗",)]


async def test_emergency_without_a_type_gives_all_numbers(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionEmergency().run(dispatcher, tracker("救命啊", "emergency", sender_id="help-1"), {})
    assert responses(dispatcher) == ["utter_emergency_general", "utter_emergency_alert_sent"]
    assert rows(app["db"], "SELECT kind FROM alert WHERE sender_id = ?", "help-1") == [("未分类",)]


async def test_emergency_with_the_app_down_still_gives_the_number(app_down: None) -> None:
    dispatcher = CollectingDispatcher()
    await ActionEmergency().run(dispatcher, tracker("我摔倒了", "emergency", {"emergency_type": "急病受伤"}), {})
    assert responses(dispatcher) == ["utter_emergency_medical", "utter_emergency_alert_failed"]


async def test_callback_phone_is_validated_by_the_app(app: dict[str, Any]) -> None:
    form = ValidateHandoffForm()
    dispatcher = CollectingDispatcher()
    ok = await form.validate_callback_phone("一三八 一二三四 五六七八", dispatcher, tracker("x"), {})
    assert ok == {"callback_phone": "13812345678"} and dispatcher.messages == []
    bad = await form.validate_callback_phone("一三八一二", dispatcher, tracker("x"), {})
    assert bad == {"callback_phone": None}
    assert "11位" in dispatcher.messages[0]["text"]


async def test_handoff_records_a_callback_request(app: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker("转人工", "human_handoff", slots={"callback_phone": "13812345678"}, sender_id="handoff-1")
    events = await ActionHumanHandoff().run(dispatcher, t, {})
    assert rows(app["db"], "SELECT phone, message, status FROM handoff_request WHERE sender_id = ?", "handoff-1") == [
        ("13812345678", "转人工", "待回电")
    ]
    text = dispatcher.messages[0]["text"]
    assert "13812345678" in text and "居委会" in text
    assert events == [SlotSet("callback_phone", None), SlotSet("care_offered", False)]


async def test_out_of_scope_is_refused_politely() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionOutOfScope().run(dispatcher, tracker("明朝落雨伐", "out_of_scope"), {})
    assert responses(dispatcher) == ["utter_out_of_scope"] and events == [SlotSet("care_offered", False)]


async def test_loneliness_is_offered_a_visit_and_staff_see_a_care_callback(app: dict[str, Any]) -> None:
    lonely = "老伴走了 屋里厢冷清 一个人孤单"
    dispatcher = CollectingDispatcher()
    offered = await ActionOutOfScope().run(dispatcher, tracker(lonely, "out_of_scope", {"care": "孤单"}), {})
    assert responses(dispatcher) == ["utter_care_offer"] and offered == [SlotSet("care_offered", True)]
    heard = {"intent": {"name": "out_of_scope"}, "entities": [{"entity": "care", "value": "孤单"}]}
    before = [{"event": "user", "text": lonely, "timestamp": 1.0, "message_id": "m-lonely", "parse_data": heard}]
    t = tracker("13900001111", "inform", slots={"callback_phone": "13900001111"}, events=before, sender_id="care-1")
    await ActionHumanHandoff().run(CollectingDispatcher(), t, {})
    ((phone, message),) = rows(app["db"], "SELECT phone, message FROM handoff_request WHERE sender_id = ?", "care-1")
    assert phone == "13900001111" and message == CARE_MARK + lonely
    assert rows(app["db"], "SELECT id FROM alert WHERE sender_id = ?", "care-1") == []  # no alarm


async def test_repeat_says_the_last_answer_again_slowly_when_asked() -> None:
    said = [{"event": "bot", "text": "居委会今天的开放时间是上午9点到11点半。", "data": {}}]
    dispatcher = CollectingDispatcher()
    await ActionRepeat().run(dispatcher, tracker("说慢一点", "repeat", events=said), {})
    (message,) = dispatcher.messages
    assert message["text"] == said[0]["text"]
    assert message["custom"] == {"repeat": True, "speech_rate": "slow"}


async def test_the_slower_button_is_a_payload_and_still_slows_the_repeat() -> None:
    said = [{"event": "bot", "text": "请按一下您的手机号码。", "data": {}}]
    dispatcher = CollectingDispatcher()
    touched = tracker('/repeat{"answer": "说慢一点"}', "repeat", {"answer": "说慢一点"}, events=said)
    await ActionRepeat().run(dispatcher, touched, {})
    assert dispatcher.messages[0]["custom"]["speech_rate"] == "slow"


async def test_repeat_with_nothing_said_yet() -> None:
    dispatcher = CollectingDispatcher()
    await ActionRepeat().run(dispatcher, tracker("再说一遍", "repeat"), {})
    assert responses(dispatcher) == ["utter_nothing_to_repeat"]


async def test_clarify_asks_about_the_best_real_guess_with_its_entities() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(
        "居委会那个开门",
        "nlu_fallback",
        {"facility": "居委会"},
        ranking=[("nlu_fallback", 0.5), ("greet", 0.3), ("ask_service_hours", 0.2)],
    )
    events = await ActionClarify().run(dispatcher, t, DOMAIN)
    (message,) = dispatcher.messages
    assert message["text"] == "您是想问办事时间（居委会）吗？"
    assert [b["payload"] for b in message["buttons"]] == ['/ask_service_hours{"facility": "居委会"}', "/deny"]
    assert events[0]["value"]["intent"] == "ask_service_hours"


async def test_spoken_yes_replays_the_guess() -> None:
    guess = {
        "intent": "ask_service_hours",
        "entities": [{"entity": "facility", "value": "居委会"}],
        "text": "居委会那个开门",
    }
    events = await ActionAcceptGuess().run(
        CollectingDispatcher(), tracker("是的", "affirm", slots={"fallback_guess": guess}), {}
    )
    assert events[0] == SlotSet("fallback_guess", None)
    assert events[1] == ActionExecuted("action_listen")
    replay = events[2]
    assert replay["event"] == UserUttered("x")["event"]
    assert replay["parse_data"]["intent"] == {"name": "ask_service_hours", "confidence": 1.0}
    assert replay["parse_data"]["entities"] == guess["entities"]
