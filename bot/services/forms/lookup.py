"""Finding the resident's record for "我叫的车到哪里了" and "取消…": their own recent records
first; otherwise the number (eight digits, or six for one issued before) plus the phone on the
record (a number alone shows nothing). A number whose check digit fails is answered "please check
it" at once, without a try; wrong number-plus-phone tries are limited (lookup_limit), and past the
limit the form says where to go instead and closes.
"""

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.models import ClimberBooking, TaxiBooking
from bot.services import answers, lookup_limit, phone, records, resident_requests, spoken, stair_climber, taxi
from bot.services.forms.base import (
    NOT_UNDERSTOOD,
    PHONE_ENTRY,
    YES_NO_BUTTONS,
    Form,
    Outcome,
    Reply,
    Say,
    Turn,
    choices,
    said_or_pressed,
)
from bot.services.forms.taxi import phone_outcome

KIND_WORDS = (
    ("climber", r"爬楼|机器"),
    ("taxi", r"车|差头|叉头|茶头|出租|司机|车牌"),
    ("request", r"报修|反映|诉求|投诉|修|举报|处理|办得|单子"),
)
UNKNOWN = "unknown"  # the resident does not know the number
# The kiosk's number pad for it: eight digits, or six for a number issued before.
NUMBER_ENTRY = {"kind": "digits", "label": "编号", "lengths": [records.NUMBER_LENGTH, records.OLD_NUMBER_LENGTH]}
ASK_NUMBER = "编号是八位数字，比如：三零五幺 二七四三（以前登记的是六位）。"


def kinds_in(text: str) -> list[str]:
    found = [kind for kind, words in KIND_WORDS if re.search(words, text)]
    return found[:1] or list(records.MODELS)


def describe(record: records.Record, *, now: datetime) -> str:
    if isinstance(record, TaxiBooking):
        return taxi.describe(record, now=now)
    if isinstance(record, ClimberBooking):
        return stair_climber.describe(record, now=now)
    return resident_requests.describe(record, now=now)


def resolve(
    session: Session, *, sender_id: str, client: str | None, state: dict[str, Any], now: datetime
) -> list[records.Record]:
    """The records a lookup may show: by number (owner only; a wrong number-plus-phone counts as a
    try, see records.find_by_number), else the resident's own."""
    number = state.get("lookup_number")
    if number and number != UNKNOWN:
        found = records.find_by_number(
            session, number=number, phone=state.get("lookup_phone"), sender_id=sender_id, client=client, now=now
        )
        return [found] if found else []
    kinds = state.get("lookup_kinds") or list(records.MODELS)
    return records.find_own(session, sender_id=sender_id, kinds=kinds, now=now)


def _number_in(text: str) -> tuple[str | None, str]:
    """(the record number said, "") or (None, what to tell the resident about the digits said)."""
    said = answers.record_number(text)
    if said is None:
        return None, ""
    try:
        return records.check_number(said), ""
    except records.NumberError as wrong:
        return None, wrong.message


def _phone_in(text: str) -> str | None:
    if re.search(r"1[3-9]\d{9}", re.sub(r"\s", "", answers.digits_of(text))):
        try:
            return phone.normalize_phone(text)
        except phone.PhoneError:
            return None
    return None


class StatusForm(Form):
    name = "status_form"
    slots: tuple[str, ...] = ("lookup_number", "lookup_phone")
    extra_slots: tuple[str, ...] = ("lookup_kinds",)
    cancelled_text = "好的。有事再叫我。"

    def fill(self, session: Session, turn: Turn) -> Reply:
        try:
            return super().fill(session, turn)
        except lookup_limit.TooManyFailures as refused:
            return self.cancel(refused.message)
        except records.NumberError as wrong:  # slots that never came from this form's answers
            return self.cancel(wrong.message)

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        number, note = _number_in(turn.text)
        return Outcome(
            {"lookup_kinds": kinds_in(turn.text), "lookup_number": number, "lookup_phone": _phone_in(turn.text)},
            note=note,
        )

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        if slot == "lookup_number":
            number, note = _number_in(turn.text)
            if number:
                return Outcome(
                    {"lookup_number": number, "lookup_phone": _phone_in(turn.text) or state.get("lookup_phone")}
                )
            if note:
                return Outcome(note=note, understood=False)  # a slip of one digit: no try spent
            if re.search(r"不记得|记不得|忘|不知道|勿晓得|弗晓得|没有", turn.text):
                return Outcome({"lookup_number": UNKNOWN})
            return Outcome(note=ASK_NUMBER, understood=False)
        if slot == "lookup_phone":
            return phone_outcome(turn.text, slot)
        return NOT_UNDERSTOOD

    def next_slot(self, session: Session, turn: Turn, state: dict[str, Any]) -> str | None:
        number = state.get("lookup_number")
        if number == UNKNOWN:
            return None
        if not number:
            own = resolve(session, sender_id=turn.sender_id, client=turn.client, state=state, now=turn.now)
            return None if own else "lookup_number"
        if resolve(
            session, sender_id=turn.sender_id, client=turn.client, state={**state, "lookup_phone": None}, now=turn.now
        ):
            return None  # a record of this very conversation
        # Someone else's device: a conversation or source that used up its tries hears so now,
        # not after it has said a phone number.
        lookup_limit.check(session, sender_id=turn.sender_id, client=turn.client, now=turn.now)
        return None if state.get("lookup_phone") else "lookup_phone"

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        if slot == "lookup_number":
            return Say(
                said_or_pressed(
                    turn,
                    "请说一下编号，就是登记时告诉您的八位数字（以前登记的是六位）。记不得也没关系，请说“记不得”。",
                    "请按一下编号，就是登记时告诉您的八位数字（以前登记的是六位）。记不得就按“记不得”。",
                ),
                choices("记不得"),
                entry=NUMBER_ENTRY,
            )
        return Say(
            said_or_pressed(
                turn,
                "为了保护您的信息，请再说一下登记时留的手机号码。",
                "为了保护您的信息，请再按一下登记时留的手机号码。",
            ),
            entry=PHONE_ENTRY,
        )


class CancelForm(StatusForm):
    """Like the status lookup, then which record and 对吗 before anything is cancelled."""

    name = "cancel_form"
    slots = ("lookup_number", "lookup_phone", "cancel_target", "cancel_confirmed")
    # the number and phone the owner gave at the status question just before (取消 from there)
    extra_slots = ("lookup_kinds", "lookup_verified")
    cancelled_text = "好的，不取消了。"

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        outcome = super().prefill(session, turn, state)
        verified = turn.slots.get("lookup_verified")
        number = outcome.updates.get("lookup_number")
        if isinstance(verified, dict) and number and verified.get("number") == number:
            outcome.updates["lookup_phone"] = outcome.updates.get("lookup_phone") or verified.get("phone")
        return outcome

    def fill(self, session: Session, turn: Turn) -> Any:
        # In this form "不要了/取消" is what the resident wants, not a reason to stop asking.
        if turn.mode == "answer":
            turn.intent = "" if turn.intent == "cancel_booking" else turn.intent
            turn.text = re.sub(r"取消|撤销|退掉", "", turn.text)
        return super().fill(session, turn)

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        if slot == "cancel_confirmed":
            verdict = answers.yes_no(turn.text, turn.intent)
            if verdict is None:
                return Outcome(note="要取消就说“对”，不取消就说“不对”。", understood=False)
            return Outcome({"cancel_confirmed": verdict})
        return super().parse(session, turn, slot, state)

    def next_slot(self, session: Session, turn: Turn, state: dict[str, Any]) -> str | None:
        identity = super().next_slot(session, turn, state)
        if identity is not None:
            return identity
        if state.get("cancel_target") is None:
            found = resolve(session, sender_id=turn.sender_id, client=turn.client, state=state, now=turn.now)
            found = [r for r in found if records.is_open(r)]
            state["cancel_target"] = found[0].number if found else "none"
        if state["cancel_target"] == "none" or state.get("cancel_confirmed") is not None:
            return None
        return "cancel_confirmed"

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        if slot == "cancel_confirmed":
            record = records.find_by_number(
                session,
                number=state["cancel_target"],
                phone=state.get("lookup_phone"),
                sender_id=turn.sender_id,
                client=turn.client,
                now=turn.now,
            )
            number = spoken.record_number(state["cancel_target"])
            what = describe(record, now=turn.now).rstrip("。") if record else f"编号{number}"
            return Say(f"{what}。要取消这个吗？", YES_NO_BUTTONS)
        return super().ask(session, turn, slot, state)
