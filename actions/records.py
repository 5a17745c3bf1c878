"""Status and cancellation of any booking or request, for its owner only (the app checks)."""

from rasa_sdk import Tracker

from actions import app_client
from actions.forms import AppFormSubmit, AppFormValidation, client_of

EXTRA_SLOTS = ("lookup_kinds",)
UNKNOWN_NUMBER = "unknown"


class ValidateStatusForm(AppFormValidation):
    form = "status_form"
    extra_slots = EXTRA_SLOTS


class ValidateCancelForm(AppFormValidation):
    form = "cancel_form"
    extra_slots = EXTRA_SLOTS


class ActionCheckStatus(AppFormSubmit):
    form = "status_form"
    extra_slots = EXTRA_SLOTS
    action_name = "action_check_status"
    kept_for_callback = False  # a question, nothing to save

    async def submit(self, tracker: Tracker) -> str:
        number = tracker.get_slot("lookup_number")
        if number == UNKNOWN_NUMBER:
            return "没有编号的话，请说“转人工”，或者到居委会，工作人员帮您查。"
        found = await app_client.record_status(
            sender_id=tracker.sender_id,
            number=number,
            phone=tracker.get_slot("lookup_phone"),
            kinds=tracker.get_slot("lookup_kinds") or ["taxi", "climber", "request"],
            client=client_of(tracker),
        )
        if not found["texts"]:
            if number:
                return "没有查到：编号或者手机号对不上。请再核对一下，或者说“转人工”。"
            return "没有查到您最近的叫车、爬楼机预约或报修记录。"
        return " ".join(found["texts"])


class ActionCancelBooking(AppFormSubmit):
    form = "cancel_form"
    extra_slots = EXTRA_SLOTS
    action_name = "action_cancel_booking"
    label = "取消预约"

    async def submit(self, tracker: Tracker) -> str:
        target = tracker.get_slot("cancel_target")
        if tracker.get_slot("lookup_number") == UNKNOWN_NUMBER or target in (None, "none"):
            return "没有找到可以取消的叫车、爬楼机预约或报修。要帮忙请说“转人工”。"
        if tracker.get_slot("cancel_confirmed") is not True:
            return "好的，不取消，还是照原来的安排。"
        cancelled = await app_client.cancel_record(
            target, sender_id=tracker.sender_id, phone=tracker.get_slot("lookup_phone"), client=client_of(tracker)
        )
        return str(cancelled["text"])
