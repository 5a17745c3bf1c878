"""Emergencies: the right number at once (from the domain, so it works with the app down),
then an urgent alert for staff. Never a form first."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import app_client
from actions.conversation import last_user_event
from actions.touch import words_of_event

# canonical emergency_type (the NLU's value) → response with the number and what to do
RESPONSES = {
    "急病受伤": "utter_emergency_medical",
    "火灾": "utter_emergency_fire",
    "燃气泄漏": "utter_emergency_gas",
    "治安": "utter_emergency_police",
    "电梯困人": "utter_emergency_elevator",
    "诈骗": "utter_emergency_fraud",
}
UNCLASSIFIED = "未分类"
# any phone number the resident gave in this conversation, so staff can call back at once
PHONE_SLOTS = ("callback_phone", "taxi_phone", "climber_phone", "request_phone", "lookup_phone")


def kiosk_place(said: dict[str, Any]) -> str:
    """The kiosk's location and id, from the message's metadata; only the kiosk channel's is
    trusted (a web client can send any metadata it likes), and nothing odd may stop the alert."""
    metadata = said.get("metadata")
    if said.get("input_channel") != "kiosk" or not isinstance(metadata, dict):
        return ""
    return " ".join(str(metadata[k]) for k in ("location", "kiosk_id") if metadata.get(k))[:128]


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        kind = next((v for v in tracker.get_latest_entity_values("emergency_type") if v in RESPONSES), None)
        dispatcher.utter_message(response=RESPONSES.get(kind or "", "utter_emergency_general"))
        said = last_user_event(tracker)
        try:
            await app_client.raise_alert(
                kind=kind or UNCLASSIFIED,
                sender_id=tracker.sender_id,
                channel=tracker.get_latest_input_channel() or "",
                message=words_of_event(said),
                message_id=said.get("message_id"),
                place=kiosk_place(said),
                phone=next((tracker.get_slot(s) for s in PHONE_SLOTS if tracker.get_slot(s)), None),
            )
        except (app_client.AppUnavailable, app_client.Rejected):
            dispatcher.utter_message(response="utter_emergency_alert_failed")
            return []
        dispatcher.utter_message(response="utter_emergency_alert_sent")
        return []
