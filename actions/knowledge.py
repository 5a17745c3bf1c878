"""Service hours and policy answers, fetched from the app so staff edits apply at once."""

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import app_client
from actions.touch import ANSWER, touch_only, words_of, words_of_event

# Tiles shown with "您想问哪个地方/哪方面": a touch asks the same question with the name in it.
MAX_TILES = 12


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    return next(tracker.get_latest_entity_values(entity), None)


def tiles(intent: str, entity: str, names: list[str]) -> list[dict[str, str]]:
    return [
        {"title": name, "payload": f"/{intent}{json.dumps({entity: name}, ensure_ascii=False)}"}
        for name in names[:MAX_TILES]
    ]


async def ask_which(
    dispatcher: CollectingDispatcher, tracker: Tracker, response: str, intent: str, entity: str
) -> None:
    """ "您想问哪个地方？" with a tile for each one the app knows (none if it cannot be reached)."""
    try:
        if entity == "facility":
            buttons = tiles(intent, entity, await app_client.facilities())
        else:  # the knowledge base's most-asked entries, each a question asked by its title; 更多
            page = (
                int(latest_entity(tracker, "page") or 1) if str(latest_entity(tracker, "page") or "1").isdigit() else 1
            )
            shown = await app_client.knowledge_tiles(page)
            more = [{"title": "更多", "payload": f'/ask_policy{{"page": "{page + 1}"}}'}] if shown["more"] else []
            buttons = [asking(title) for title in shown["titles"]] + more
    except app_client.AppUnavailable:
        buttons = []
    pressed = f"{response}_by_touch" if touch_only(tracker) else response
    dispatcher.utter_message(response=pressed, buttons=buttons)


def asking(title: str) -> dict[str, str]:
    """A tile that asks an entry's question by its title (the knowledge base matches it exactly)."""
    return {"title": title, "payload": f"/ask_policy{json.dumps({ANSWER: title}, ensure_ascii=False)}"}


UNSURE = "具体以居委会答复为准。"  # after an answer staff have not confirmed yet (待核实)
NEITHER = "都不是"  # the last button of "A 还是 B？": the question stays unanswered, a callback offered


async def answer_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    question: str,
    *,
    unknown_said: bool = True,
    strict: bool = False,
) -> bool:
    """The knowledge base's answer: the entry (spoken short, details on screen), "A 还是 B？", or
    an honest "还不知道" with a callback offered (unless `unknown_said` is False: then nothing is
    said and False returned). The knowledge base is the judge: a policy topic the NLU named in a
    question it did not match is only offered ("您是想问……吗？"), never answered, and not at all
    when asked strictly."""
    try:
        found = await app_client.knowledge_answer(
            question=question[:500],
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "",
            strict=strict,
        )
    except (app_client.AppUnavailable, app_client.Rejected):
        if not unknown_said:
            return False  # only a second try (an unsure guess, out of scope): the usual answer follows
        dispatcher.utter_message(response="utter_app_unavailable")
        return True
    if found["outcome"] == "answered":
        entry = found["entry"]
        spoken = entry["spoken"] + (UNSURE if entry["needs_confirmation"] else "")
        details = entry.get("details") or []  # [label, text] pairs, for the screen only
        dispatcher.utter_message(text=spoken, json_message={"details": details} if details else None)
        return True
    if found["outcome"] == "asked_which":
        offer(dispatcher, found["choices"][:2])
        return True
    topic = latest_entity(tracker, "policy_topic")
    if topic and not strict and await offer_topic(dispatcher, topic):
        return True
    if not unknown_said:
        return False
    say_unknown(dispatcher)
    return True


async def offer_topic(dispatcher: CollectingDispatcher, topic: str) -> bool:
    try:
        title = (await app_client.policy(topic))["title"]
    except (app_client.NotFound, app_client.AppUnavailable, app_client.Rejected):
        return False
    offer(dispatcher, [title])
    return True


def offer(dispatcher: CollectingDispatcher, titles: list[str]) -> None:
    """ "您是想问“A”吗？" or "您是想问“A”，还是“B”？", each a button, and 都不是."""
    which = "”，还是“".join(titles)
    dispatcher.utter_message(
        text=f"您是想问“{which}”{'？' if len(titles) > 1 else '吗？'}",
        buttons=[asking(title) for title in [*titles, NEITHER]],
    )


def say_unknown(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        response="utter_knowledge_unknown", buttons=[{"title": "请工作人员打电话", "payload": "/human_handoff"}]
    )


def _known(detail: Any) -> list[str]:
    return [str(name) for name in detail.get("known", [])] if isinstance(detail, dict) else []


def _known_list(detail: Any) -> str:
    return "、".join(_known(detail))


async def answer_hours(dispatcher: CollectingDispatcher, facility: str, when: str) -> list[EventType]:
    try:
        hours = await app_client.facility_hours(facility, when)
    except app_client.NotFound as missing:
        dispatcher.utter_message(
            text=f"“{facility}”的开放时间我不知道。我知道的地方有：{_known_list(missing.detail)}。",
            buttons=tiles("ask_service_hours", "facility", _known(missing.detail)),
        )
        return [SlotSet("facility", None)]
    except app_client.AppUnavailable:
        dispatcher.utter_message(response="utter_app_unavailable")
        return []
    dispatcher.utter_message(text=hours["text"])
    return [SlotSet("facility", hours["facility"])]


async def answer_policy(dispatcher: CollectingDispatcher, topic: str) -> list[EventType]:
    try:
        found = await app_client.policy(topic)
    except app_client.NotFound as missing:
        dispatcher.utter_message(
            text=f"“{topic}”这方面我还答不上来。我能讲的有：{_known_list(missing.detail)}。其他问题请说“转人工”。",
            buttons=tiles("ask_policy", "policy_topic", _known(missing.detail)),
        )
        return [SlotSet("policy_topic", None)]
    except app_client.AppUnavailable:
        dispatcher.utter_message(response="utter_app_unavailable")
        return []
    dispatcher.utter_message(text=found["answer"])
    return [SlotSet("policy_topic", found["topic"])]


class ActionServiceHours(Action):
    def name(self) -> str:
        return "action_service_hours"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        facility = latest_entity(tracker, "facility") or tracker.get_slot("facility")
        if not facility:
            await ask_which(dispatcher, tracker, "utter_ask_which_facility", "ask_service_hours", "facility")
            return []
        return await answer_hours(dispatcher, facility, words_of(tracker.latest_message))


class ActionPolicyAnswer(Action):
    def name(self) -> str:
        return "action_policy_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        words = words_of(tracker.latest_message)
        topic = latest_entity(tracker, "policy_topic")
        if not words and not topic:  # the menu's 政策咨询 (or its 更多): which one?
            await ask_which(dispatcher, tracker, "utter_ask_which_policy", "ask_policy", "policy_topic")
            return []
        if words == NEITHER:  # neither of the two offered: the question was kept for staff already
            say_unknown(dispatcher)
            return []
        if not words and topic:  # a touch naming a topic
            return await answer_policy(dispatcher, topic)
        await answer_question(dispatcher, tracker, words)
        return []


def _previous_user_text(tracker: Tracker) -> str:
    user_texts = [words_of_event(e) for e in tracker.events if e.get("event") == "user"]
    return user_texts[-2] if len(user_texts) >= 2 else ""


class ActionAnswerInform(Action):
    """A bare "卫生站" or "加梯": usually the answer to our "您想问哪个……？"."""

    def name(self) -> str:
        return "action_answer_inform"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        facility = latest_entity(tracker, "facility")
        if facility:
            # "礼拜六开门伐" … "居委会": the day was said in the question before.
            when = f"{_previous_user_text(tracker)} {words_of(tracker.latest_message)}"
            return await answer_hours(dispatcher, facility, when)
        topic = latest_entity(tracker, "policy_topic")
        if topic:
            return await answer_policy(dispatcher, topic)
        dispatcher.utter_message(response="utter_help")
        return []
