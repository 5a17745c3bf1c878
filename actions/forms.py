"""What every booking/request form shares: its validation action asks the app to read the answer,
and the submit action sends the filled slots to the app once, under an idempotency key.

Rasa's form keeps the slots and asks nothing itself (there are no utter_ask_ responses for these
slots): the app's reply says what to ask next, so the wording and the rules live in one place.
"""

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import app_client, outbox
from actions.conversation import SLOWER
from actions.touch import ANSWER, touch_only, words_of

logger = logging.getLogger(__name__)

MAX_ANSWER = 1000  # characters of one message sent to the app (its API takes up to 2000)

# Intents that take the turn away from a form when the words were no answer to its question;
# an emergency always does.
INTERRUPTIONS = ("ask_service_hours", "ask_policy")
DANGER_RESPONSES = {
    "电梯困人": "utter_emergency_elevator",
    "燃气泄漏": "utter_emergency_gas",
    "火灾": "utter_emergency_fire",
}


def form_slots(domain: DomainDict, form: str) -> list[str]:
    slots: list[str] = domain.get("forms", {}).get(form, {}).get("required_slots", [])
    return slots


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or ""


def client_of(tracker: Tracker) -> str:
    """The address the resident's last message came from, as the engine's channel vouched for it
    (connectors/rest.py puts it in the message's metadata; WeChat's has none): the app counts
    wrong record lookups per conversation and per this source."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            client = metadata.get("client") if isinstance(metadata, dict) else None
            return str(client)[:64] if client else ""
    return ""


def latest_message_id(tracker: Tracker) -> str | None:
    """The id Rasa gave the resident's last message (kept on the event, not in the parse data)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("message_id")
    return None


def latest_bot_text(tracker: Tracker) -> str:
    """What the bot said before the resident's last message (e.g. the read-back answered with 对)."""
    spoke = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            spoke = True
        elif spoke and event.get("event") == "bot" and event.get("text"):
            return str(event["text"])
    return ""


def idempotency_key(tracker: Tracker, form: str) -> str:
    """One record per run of a form: the conversation and the moment this form started. Every
    retry of the save sends the same key — a repeated delivery of 对, and also a turn run again
    on another engine because the one that saved died before it could store the conversation."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            return f"{tracker.sender_id}:{form}:{event.get('timestamp')}"
    return f"{tracker.sender_id}:{latest_message_id(tracker) or len(tracker.events)}"


def reset(slots: list[str]) -> list[EventType]:
    return [SlotSet(name, None) for name in slots]


def turn_mode(tracker: Tracker, form: str) -> str:
    """Why the form runs now: "activate" (it was just started), "answer" (the resident answered
    its question) or "resume" (it comes back after another action answered an interruption).

    Read from the events since the resident last spoke: Rasa's tracker for the validation action
    ends with a marker `ActionExecuted(<form>)`, so `latest_action_name` cannot tell these apart."""
    since_user = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        since_user.append(event)
    started = any(e.get("event") == "active_loop" and e.get("name") == form for e in since_user)
    if started or (tracker.active_loop or {}).get("name") != form:
        return "activate"
    others = [e for e in since_user if e.get("event") == "action" and e.get("name") not in (form, "action_listen")]
    return "resume" if others else "answer"


class AppFormValidation(Action, ABC):
    """Subclasses name their form (`form = "taxi_form"`); abstract, so never registered itself."""

    extra_slots: tuple[str, ...] = ()

    @property
    @abstractmethod
    def form(self) -> str: ...

    def name(self) -> str:
        return f"validate_{self.form}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        mode = turn_mode(tracker, self.form)
        message = tracker.latest_message
        said = words_of(message)  # a touch answer's words, exactly as a spoken one's
        intent = (message.get("intent") or {}).get("name") or ""
        if mode == "answer" and intent == "emergency":
            return []  # no slot set: the form steps aside and the emergency rule answers
        names = [*form_slots(domain, self.form), *self.extra_slots]
        try:
            reply = await app_client.form_turn(
                self.form,
                mode=mode,
                # no answer is longer than this; a pasted essay must not read as "app unavailable"
                text=said[:MAX_ANSWER],
                intent=intent,
                entities=[
                    {"entity": e.get("entity"), "value": e.get("value")}
                    for e in message.get("entities") or []
                    if e.get("entity") != ANSWER
                ],
                slots={name: tracker.get_slot(name) for name in names},
                requested_slot=tracker.get_slot("requested_slot"),
                sender_id=tracker.sender_id,
                channel=channel_of(tracker),
                message_id=latest_message_id(tracker),
                client=client_of(tracker),
                touch_only=touch_only(tracker),
            )
        except (app_client.AppUnavailable, app_client.Rejected, app_client.NotFound):
            asked = tracker.get_slot("requested_slot")
            if mode == "answer" and asked and asked.endswith("_confirmed") and intent == "affirm":
                # A plain 对 to the read-back needs no app to understand: the form closes and the
                # submit action saves it, or keeps it for a callback if the app is still away.
                return [SlotSet(asked, True), SlotSet("requested_slot", None)]
            if mode == "activate" or not asked:
                dispatcher.utter_message(response="utter_not_saved")
                return [*reset(names), SlotSet("form_cancelled", True), SlotSet("requested_slot", None)]
            # Keep every answer already given and ask for this one again once the app is back.
            dispatcher.utter_message(response="utter_say_again_later")
            return [SlotSet(asked, None), SlotSet("requested_slot", asked)]
        if mode == "answer" and not reply["understood"] and intent in INTERRUPTIONS:
            return []
        if reply.get("danger"):
            dispatcher.utter_message(response=DANGER_RESPONSES.get(reply["danger"], "utter_emergency_general"))
            dispatcher.utter_message(response="utter_emergency_alert_sent")
        # "说慢一点" is answered by the form asking again; the kiosk says that at its slowest rate.
        slow = intent == "repeat" and SLOWER in said
        for say in reply["say"]:
            custom = {"entry": say.get("entry"), "speech_rate": "slow" if slow else None}
            dispatcher.utter_message(
                text=say["text"],
                buttons=say.get("buttons") or [],
                json_message={k: v for k, v in custom.items() if v} or None,
            )
        events: list[EventType] = [SlotSet(name, value) for name, value in reply["slots"].items()]
        return [*events, SlotSet("requested_slot", reply["next_slot"])]


@dataclass
class Said:
    """What a submit action says when the result has buttons or slots to keep, not just words."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    events: list[EventType] = field(default_factory=list)


class AppFormSubmit(Action, ABC):
    """Runs when the form closes: saves what was confirmed, or just tidies up if it was called off."""

    extra_slots: tuple[str, ...] = ()
    # What staff read on a callback kept when the app could not be reached (see actions/outbox.py);
    # a form that saves nothing (a status question) keeps no callback.
    label = ""
    kept_for_callback = True

    @property
    @abstractmethod
    def form(self) -> str: ...

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    def name(self) -> str:
        return self.action_name

    def all_slots(self, domain: DomainDict) -> list[str]:
        return [*form_slots(domain, self.form), *self.extra_slots, "form_cancelled"]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        outbox.start_delivering()  # what an earlier outage kept goes out once the app answers
        cleanup = reset(self.all_slots(domain))
        if tracker.get_slot("form_cancelled"):
            return cleanup  # the form already said "好的，不叫了"
        try:
            said = await self.submit(tracker)
        except (app_client.Rejected, app_client.Conflict) as refused:
            dispatcher.utter_message(text=refused.message)
            return cleanup
        except (app_client.AppUnavailable, app_client.NotFound):
            if not self.kept_for_callback:
                dispatcher.utter_message(response="utter_not_saved")
                return cleanup
            outbox.put(self.callback(tracker, domain))
            dispatcher.utter_message(response="utter_kept_for_callback")
            return cleanup
        if isinstance(said, str):
            said = Said(said)
        dispatcher.utter_message(text=said.text, buttons=said.buttons)
        return [*cleanup, *said.events]

    def callback(self, tracker: Tracker, domain: DomainDict) -> dict[str, object]:
        """A callback request for staff carrying what the resident confirmed: the phone, and the
        read-back the resident said 对 to (or, for a form without one, the answers given)."""
        slots = form_slots(domain, self.form)
        phone = next((tracker.get_slot(s) for s in slots if s.endswith("_phone") and tracker.get_slot(s)), None)
        read_back = latest_bot_text(tracker) if any(s.endswith("_confirmed") for s in slots) else ""
        read_back = read_back.removeprefix("我读一遍：").removesuffix("对吗？")
        given = "；".join(
            str(tracker.get_slot(s)) for s in slots if tracker.get_slot(s) and not s.endswith(("_phone", "_confirmed"))
        )
        return {
            "sender_id": tracker.sender_id,
            "channel": channel_of(tracker),
            "phone": phone,
            "message": f"【系统故障没能保存，请回电办理】{self.label}：{read_back or given}",
            "message_id": latest_message_id(tracker),
        }

    @abstractmethod
    async def submit(self, tracker: Tracker) -> "str | Said": ...
