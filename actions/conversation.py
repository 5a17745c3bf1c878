"""Repeat, the callback request for staff, and the two-stage fallback (guess, then staff)."""

import json
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet, UserUttered
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import app_client, knowledge, outbox
from actions.touch import answer_of, words_of, words_of_event

CARE_MARK = "【关怀：想请居委会来看看或打个电话】"
SLOWER = "慢"  # "说慢一点", "慢慢讲": the kiosk speaks the repeat at its slowest rate


def care_event(tracker: Tracker) -> dict[str, Any]:
    """The last message in which the NLU heard loneliness (entity `care`), if any."""
    for event in reversed(tracker.events):
        entities = (event.get("parse_data") or {}).get("entities") or [] if event.get("event") == "user" else []
        if any(e.get("entity") == "care" for e in entities):
            return event
    return {}


def last_user_event(tracker: Tracker, intent: str | None = None) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (
            intent is None or (event.get("parse_data") or {}).get("intent", {}).get("name") == intent
        ):
            return event
    return {}


class ActionRepeat(Action):
    def name(self) -> str:
        return "action_repeat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        said = next(
            (e for e in reversed(tracker.events) if e.get("event") == "bot" and e.get("text")),
            None,
        )
        if said is None:
            dispatcher.utter_message(response="utter_nothing_to_repeat")
            return []
        slow = SLOWER in words_of(tracker.latest_message)
        buttons = (said.get("data") or {}).get("buttons") or []
        dispatcher.utter_message(
            text=said["text"],
            buttons=buttons,
            json_message={"repeat": True, "speech_rate": "slow" if slow else "normal"},
        )
        return []


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        said = answer_of(tracker.latest_message) or str(value)  # a pad's digits come as the answer
        try:
            return {"callback_phone": await app_client.parse_phone(said)}
        except app_client.Rejected as rejected:
            dispatcher.utter_message(text=rejected.message)
            return {"callback_phone": None}
        except app_client.AppUnavailable:
            # Keep what was said: the request is still attempted, and fails kindly if the app is down.
            return {"callback_phone": said}


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        asked = last_user_event(tracker, "human_handoff")
        care = care_event(tracker)
        # a visit or call accepted after loneliness was heard is marked for staff as 关怀
        caring = bool(care) and (not asked or care.get("timestamp", 0) > asked.get("timestamp", 0))
        asked = (care if caring else asked) or last_user_event(tracker)
        phone = tracker.get_slot("callback_phone")
        fields = {
            "sender_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "",
            "phone": phone,
            "message": (CARE_MARK if caring else "") + words_of_event(asked),
            "message_id": asked.get("message_id"),
        }
        try:
            created = await app_client.request_callback(**fields)
        except app_client.AppUnavailable:
            outbox.put(fields)  # delivered as soon as the app answers again
            dispatcher.utter_message(response="utter_kept_for_callback")
            return [SlotSet("callback_phone", None), SlotSet("care_offered", False)]
        except app_client.Rejected:
            dispatcher.utter_message(response="utter_app_unavailable")
            return [SlotSet("callback_phone", None), SlotSet("care_offered", False)]
        if phone:
            text = f"好的，已经记下了，工作人员会打{phone}给您回电话。"
        else:
            text = "好的，已经记下了，工作人员看到后会跟您联系。"
        if created.get("staff_hours"):
            text += f"您也可以直接去找他们：{created['staff_hours']}"
        dispatcher.utter_message(text=text)
        return [SlotSet("callback_phone", None), SlotSet("care_offered", False)]


class ActionOutOfScope(Action):
    """Not something we do; but loneliness heard (the NLU's `care` entity) gets a kind word and
    the offer of a visit or a call from the 居委会 (accepted: the callback form) — never an alarm."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if next(tracker.get_latest_entity_values("care"), None):
            dispatcher.utter_message(response="utter_care_offer")
            return [SlotSet("care_offered", True)]
        words = words_of(tracker.latest_message)
        if words and await knowledge.answer_question(dispatcher, tracker, words, unknown_said=False, strict=True):
            return [SlotSet("care_offered", False)]  # an entry staff added since knows this one
        dispatcher.utter_message(response="utter_out_of_scope")
        return [SlotSet("care_offered", False)]


class ActionClarify(Action):
    """First stage: "您是想……吗？" about the best real guess, with 是的/不是 buttons."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        message = tracker.latest_message
        labels = domain.get("responses", {})
        guess = next(
            (
                ranked["name"]
                for ranked in message.get("intent_ranking") or []
                if f"utter_guess_{ranked['name']}" in labels
            ),
            None,
        )
        if guess == "ask_policy" and await knowledge.answer_question(
            dispatcher, tracker, words_of(message), unknown_said=False
        ):
            # unsure it is a question about services, but the knowledge base knows one like it
            return [SlotSet("fallback_guess", None)]
        if guess is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return [SlotSet("fallback_guess", None)]
        entities = {e["entity"]: e["value"] for e in message.get("entities") or []}
        label = labels[f"utter_guess_{guess}"][0]["text"]
        about = f"（{'、'.join(str(v) for v in entities.values())}）" if entities else ""
        dispatcher.utter_message(
            text=f"您是想{label}{about}吗？",
            buttons=[
                {"title": "是的", "payload": f"/{guess}{json.dumps(entities, ensure_ascii=False) if entities else ''}"},
                {"title": "不是", "payload": "/deny"},
            ],
        )
        return [
            SlotSet(
                "fallback_guess",
                {"intent": guess, "entities": message.get("entities") or [], "text": message.get("text")},
            )
        ]


class ActionAcceptGuess(Action):
    """A spoken "是的" to our guess: continue as if the resident had said the guessed intent."""

    def name(self) -> str:
        return "action_accept_guess"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        guess = tracker.get_slot("fallback_guess")
        if not guess:
            dispatcher.utter_message(response="utter_anything_else")
            return []
        parse_data = {
            "intent": {"name": guess["intent"], "confidence": 1.0},
            "entities": guess["entities"],
            "text": guess["text"],
        }
        return [
            SlotSet("fallback_guess", None),
            ActionExecuted("action_listen"),
            UserUttered(text=guess["text"], parse_data=parse_data),
        ]
