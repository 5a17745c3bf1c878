"""Status and cancellation of any booking or request, for its owner only (the app checks)."""

import json

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import app_client
from actions.forms import AppFormSubmit, AppFormValidation, Said, client_of
from actions.touch import ANSWER

EXTRA_SLOTS = ("lookup_kinds",)
UNKNOWN_NUMBER = "unknown"
VERIFIED = "lookup_verified"  # {"number", "phone"} the owner gave at the last status question


def cancel_buttons(numbers: list[str]) -> list[dict[str, str]]:
    """取消 for each open record just shown: a touch starts the cancellation of that number."""

    def title(number: str) -> str:
        return "取消这个" if len(numbers) == 1 else f"取消{spoken_number(number)}"

    return [
        {"title": title(n), "payload": f"/cancel_booking{json.dumps({ANSWER: n}, ensure_ascii=False)}"}
        for n in numbers[:4]
    ]


def spoken_number(number: str) -> str:
    return f"{number[:4]} {number[4:]}" if len(number) == 8 else number


class ValidateStatusForm(AppFormValidation):
    form = "status_form"
    extra_slots = EXTRA_SLOTS


class ValidateCancelForm(AppFormValidation):
    form = "cancel_form"
    extra_slots = (*EXTRA_SLOTS, VERIFIED)


class ActionCheckStatus(AppFormSubmit):
    form = "status_form"
    extra_slots = EXTRA_SLOTS
    action_name = "action_check_status"
    kept_for_callback = False  # a question, nothing to save

    async def submit(self, tracker: Tracker) -> str:
        number = tracker.get_slot("lookup_number")
        if number == UNKNOWN_NUMBER:
            return "没有编号的话，请说“转人工”，或者到居委会，工作人员帮您查。"
        phone = tracker.get_slot("lookup_phone")
        found = await app_client.record_status(
            sender_id=tracker.sender_id,
            number=number,
            phone=phone,
            kinds=tracker.get_slot("lookup_kinds") or ["taxi", "climber", "request"],
            client=client_of(tracker),
        )
        if not found["texts"]:
            if number:
                return "没有查到：编号或者手机号对不上。请再核对一下，或者说“转人工”。"
            return "没有查到您最近的叫车、爬楼机预约或报修记录。"
        return Said(
            " ".join(found["texts"]),
            buttons=cancel_buttons(found.get("open_numbers") or []),
            # the owner has just shown number and phone: 取消 from here does not ask for them again
            events=[SlotSet(VERIFIED, {"number": number, "phone": phone})] if number and phone else [],
        )


class ActionCancelBooking(AppFormSubmit):
    form = "cancel_form"
    extra_slots = (*EXTRA_SLOTS, VERIFIED)
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
