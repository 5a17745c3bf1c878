"""The request form: what kind of problem, what happened, where, and a phone number. Danger in
the words (someone trapped in a lift, gas, smoke) is raised to staff at once, mid-form."""

from typing import Any

from sqlalchemy.orm import Session

from bot.services import alerts, answers, resident_requests
from bot.services.forms.base import (
    ADDRESS_ENTRY,
    NOT_UNDERSTOOD,
    PHONE_ENTRY,
    Form,
    Outcome,
    Say,
    Turn,
    button,
    choices,
    free_text,
    payload,
    said_or_pressed,
)
from bot.services.forms.taxi import phone_outcome

# "我要报修", "我要反映问题": these say that there is a problem, not what it is.
_ONLY_ASKING = (
    "报修",
    "反映",
    "诉求",
    "问题",
    "投诉",
    "举报",
    "随手拍",
    "我要",
    "帮我",
    "报上去",
    "登记",
    "一个",
    "个",
)


# Places in the compound that are not someone's flat, as tiles beside the building/floor pad.
PUBLIC_PLACES = ("小区大门口", "小区花园", "地下车库", "垃圾房", "健身点")


def _says_what_happened(text: str) -> bool:
    rest = text
    for word in _ONLY_ASKING:
        rest = rest.replace(word, "")
    return len(answers.place(rest) or "") >= 2


class RequestForm(Form):
    name = "request_form"
    slots = ("request_category", "request_description", "request_location", "request_phone")
    cancelled_text = "好的，这次先不报了。有事再叫我。"

    def _category(self, turn: Turn) -> str | None:
        for entity in turn.entities:
            if entity.get("entity") == "request_category" and entity.get("value") in resident_requests.CATEGORIES:
                return str(entity["value"])
        return resident_requests.category_from_words(turn.text)

    def _danger(self, session: Session, turn: Turn) -> str | None:
        kind = resident_requests.danger_in(turn.text)
        if kind is not None:
            # Staff hear of it now, not when the form is done; one alert per message.
            alerts.raise_alert(
                session,
                kind=kind,
                source="request",
                sender_id=turn.sender_id,
                channel=turn.channel,
                message=turn.text,
                message_id=turn.message_id,
            )
        return kind

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        updates: dict[str, Any] = {}
        category = self._category(turn)
        if category:
            updates["request_category"] = category
        if _says_what_happened(turn.text):
            updates["request_description"] = turn.text[:1000]
        return Outcome(updates, danger=self._danger(session, turn))

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        text = turn.text
        if slot == "request_category":
            category = self._category(turn)
            if category is None and _says_what_happened(text):
                category = "其他"
            if category is None:
                return NOT_UNDERSTOOD
            updates = {"request_category": category}
            if _says_what_happened(text) and not state.get("request_description"):
                updates["request_description"] = text[:1000]
            return Outcome(updates, danger=self._danger(session, turn))
        if slot == "request_description":
            if not _says_what_happened(text):
                return NOT_UNDERSTOOD
            described = free_text("request_description", text[:1000])
            described.danger = self._danger(session, turn)
            return described
        if slot == "request_location":
            return free_text("request_location", answers.place(text))
        if slot == "request_phone":
            return phone_outcome(text, slot)
        return NOT_UNDERSTOOD

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        if slot == "request_category":
            return Say(
                said_or_pressed(
                    turn,
                    "您要反映什么问题？比如：屋顶漏水、楼道堆物、飞线充电、电梯坏了、噪音。",
                    "您要反映什么问题？请按一类。",
                ),
                [
                    {"title": category, "payload": payload("inform", request_category=category)}
                    for category in resident_requests.CATEGORIES
                ],
            )
        if slot == "request_description":
            # By touch: the common problems of this kind, and 其他 (staff call to ask).
            category = state.get("request_category") or "其他"
            common = resident_requests.COMMON_DESCRIPTIONS.get(category, ())
            return Say(
                said_or_pressed(turn, "请简单说说是什么情况。", "是什么情况？请按一个。"),
                [*choices(*common), button("其他", resident_requests.UNDESCRIBED)],
            )
        if slot == "request_location":
            return Say(
                said_or_pressed(
                    turn, "在哪里？请说几号楼几室，或者小区里的哪个地方。", "在哪里？请按几号楼几室，或者按下面的地方。"
                ),
                choices(*PUBLIC_PLACES),
                entry=ADDRESS_ENTRY,
            )
        return Say(
            said_or_pressed(
                turn,
                "请说一下您的手机号码，工作人员处理时会联系您。",
                "请按一下您的手机号码，工作人员处理时会联系您。",
            ),
            entry=PHONE_ENTRY,
        )
