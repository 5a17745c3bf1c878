"""Residents' requests (报修/诉求): the form's validation and filing, both answered by the app."""

from rasa_sdk import Tracker

from actions import app_client
from actions.forms import AppFormSubmit, AppFormValidation, channel_of, idempotency_key
from actions.touch import touch_only


class ValidateRequestForm(AppFormValidation):
    form = "request_form"


class ActionFileRequest(AppFormSubmit):
    form = "request_form"
    action_name = "action_file_request"
    label = "反映问题/报修"

    async def submit(self, tracker: Tracker) -> str:
        filed = await app_client.file_request(
            idempotency_key=idempotency_key(tracker, self.form),
            touch_only=touch_only(tracker),
            sender_id=tracker.sender_id,
            channel=channel_of(tracker),
            phone=tracker.get_slot("request_phone"),
            category=tracker.get_slot("request_category"),
            description=tracker.get_slot("request_description") or "",
            location=tracker.get_slot("request_location") or "",
        )
        return str(filed["text"])
