"""The taxi form: phone, pickup (last time's address offered first), destination, time,
passengers, help needed, then everything read back in one sentence and 对吗."""

import re
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.services import answers, chinese_time, phone, spoken, taxi, taxi_places
from bot.services.forms.base import (
    NOT_UNDERSTOOD,
    PHONE_ENTRY,
    TIME_ENTRY,
    YES_NO_BUTTONS,
    Form,
    Outcome,
    Say,
    Turn,
    button,
    choices,
    confirm,
    free_text,
    said_or_pressed,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The usual places are tiles for those who answer by touch (staff keep the lists: taxi_places);
# any other place can be said. The first six destinations are shown, the rest behind 更多地方.
USUAL_SHOWN = 6
MORE_PLACES = "更多地方"


# A day word in the answer means the answer names its own day, not the one asked about before.
_DAY_WORDS = re.compile(r"今|明|后|礼拜|星期|周|号|月|马上|现在|急|以后|之后|钟头|小时")
# "叫部车去六院配药": the destination is what follows 去/到, up to the errand or a time word.
_DESTINATION = re.compile(
    r"(?:去|到)([^\s，。,！？]{2,20}?)(?=看|配|复|拿|吃|烧|透|办|明|今|后天|上午|下午|早|晚|[0-9]|$|[\s，。,！？])"
)


def phone_outcome(text: str, slot: str) -> Outcome:
    """A phone answer: the number, or a kind explanation; no digits at all is not an answer."""
    if not re.search(r"\d", answers.digits_of(text)):
        return Outcome(
            note="没有听到号码。可以一个数字一个数字地说，比如：一三八，一二三四，五六七八。", understood=False
        )
    try:
        return Outcome({slot: phone.normalize_phone(text)})
    except phone.PhoneError as exc:
        return Outcome(note=str(exc))


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(SHANGHAI)


class TaxiForm(Form):
    name = "taxi_form"
    slots = (
        "taxi_phone",
        "taxi_pickup",
        "taxi_destination",
        "taxi_time",
        "taxi_passengers",
        "taxi_assistance",
        "taxi_confirmed",
    )
    extra_slots = ("taxi_asap", "taxi_pickup_offer", "taxi_day")
    cancelled_text = "好的，这部车不叫了。有事再叫我。"
    corrections: ClassVar[dict[str, str]] = {
        "taxi_phone": r"电话|号码|手机",
        "taxi_passengers": r"几位|几个人|人数|[0-9一二两三四五六七八九]\s*(个人|位)",
        "taxi_assistance": r"轮椅|扶|帮忙",
        "taxi_pickup": r"上车|接我|出发|地址|从哪",
        "taxi_destination": r"目的地|去哪|医院|院",
        "taxi_time": r"时间|几点|辰光|钟点|日子|哪天|今天|明天|后天|上午|下午|早上|晚上|礼拜|星期|点",
    }
    item_titles: ClassVar[dict[str, str]] = {
        "taxi_time": "时间",
        "taxi_pickup": "上车地点",
        "taxi_destination": "去的地方",
        "taxi_passengers": "几位",
        "taxi_assistance": "轮椅和搀扶",
        "taxi_phone": "电话",
    }

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        """ "明天上午九点叫部车去六院，要带轮椅": take what the first sentence already says."""
        updates: dict[str, Any] = {}
        when = self._time(turn, state)
        if when.updates.get("taxi_time") and not when.note:
            updates.update(when.updates)
        going = _DESTINATION.search(turn.text)
        if going:
            updates["taxi_destination"] = going.group(1)
        count = answers.passengers(turn.text)
        if count and 1 <= count <= taxi.MAX_PASSENGERS:
            updates["taxi_passengers"] = count
        if "轮椅" in turn.text:
            updates["taxi_assistance"] = "轮椅"
        return Outcome(updates)

    def _time(self, turn: Turn, state: dict[str, Any]) -> Outcome:
        now = turn.now
        base = now
        if state.get("taxi_day") and not _DAY_WORDS.search(turn.text):
            # The resident said the day first ("明天"), now the hour ("九点").
            day = date.fromisoformat(state["taxi_day"])
            base = datetime.combine(day, time(0, 0), tzinfo=SHANGHAI)
        found = chinese_time.find_time(turn.text, now=base)
        if found is None:
            return NOT_UNDERSTOOD
        if not found.has_clock and found.end - found.start > timedelta(hours=8):
            day_said = found.start.date()
            return Outcome(
                {"taxi_day": day_said.isoformat(), "taxi_time": None},
                note=f"好的，{spoken.day_name(day_said, today=now.date())}。",
            )
        try:
            taxi.check_pickup_time(found.start, now=now)
        except taxi.TaxiError as exc:
            return Outcome({"taxi_time": None}, note=str(exc))
        return Outcome({"taxi_time": found.start.isoformat(), "taxi_asap": found.asap, "taxi_day": None})

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        text = turn.text
        if slot == "taxi_phone":
            return phone_outcome(text, slot)
        if slot == "taxi_pickup":
            if state.get("taxi_pickup_offer"):
                verdict = answers.yes_no(text, turn.intent)
                if verdict is True and not re.search(r"[0-9号楼门路弄]", answers.digits_of(text)):
                    return Outcome({"taxi_pickup": state["taxi_pickup_offer"]})
                if verdict is False and len(text) <= 4:
                    return Outcome({"taxi_pickup_offer": ""})  # ask again, without the offer
            return free_text("taxi_pickup", answers.place(text))
        if slot == "taxi_destination":
            if text == MORE_PLACES:
                return Outcome(question=self._more_destinations(session, turn))
            return free_text("taxi_destination", answers.place(text))
        if slot == "taxi_time":
            return self._time(turn, state)
        if slot == "taxi_passengers":
            count = answers.passengers(text)
            if count is None:
                return NOT_UNDERSTOOD
            if not 1 <= count <= taxi.MAX_PASSENGERS:
                return Outcome(note=f"一部出租车最多坐{taxi.MAX_PASSENGERS}位。")
            return Outcome({"taxi_passengers": count})
        if slot == "taxi_assistance":
            need = answers.assistance(text)
            if need is None:
                verdict = answers.yes_no(text, turn.intent)
                if verdict is False:
                    need = "不需要"
                elif verdict is True:
                    return Outcome(note="是要带轮椅，还是要人扶一把？")
                else:
                    return NOT_UNDERSTOOD
            return Outcome({"taxi_assistance": need})
        if slot == "taxi_confirmed":
            return confirm(self, session, turn, state, confirm_slot=slot, fields=self.corrections)
        return NOT_UNDERSTOOD

    def next_slot(self, session: Session, turn: Turn, state: dict[str, Any]) -> str | None:
        if state.get("taxi_pickup") is None and state.get("taxi_pickup_offer") is None and state.get("taxi_phone"):
            # Offer the address of the last ride first (asked once; "" means declined).
            state["taxi_pickup_offer"] = (
                taxi.last_pickup(session, sender_id=turn.sender_id, phone=state["taxi_phone"]) or ""
            )
        return super().next_slot(session, turn, state)

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        if slot == "taxi_phone":
            return Say(
                said_or_pressed(
                    turn,
                    "请说一下您的手机号码，司机和工作人员会打这个电话联系您。",
                    "请按一下您的手机号码，司机和工作人员会打这个电话联系您。",
                ),
                entry=PHONE_ENTRY,
            )
        if slot == "taxi_pickup":
            if state.get("taxi_pickup_offer"):
                return Say(
                    f"上次您是在{state['taxi_pickup_offer']}上车，这次还是这里吗？",
                    [{"title": "是的", "payload": "/affirm"}, {"title": "不是", "payload": "/deny"}],
                )
            return Say(
                said_or_pressed(turn, "在哪里上车？比如：五号楼门口、小区南门。", "在哪里上车？请按一个地方。"),
                choices(*taxi_places.places(session, kind="pickup")),
            )
        if slot == "taxi_destination":
            usual = taxi_places.places(session, kind="destination")
            more = [button(MORE_PLACES)] if len(usual) > USUAL_SHOWN else []
            return Say(
                said_or_pressed(turn, "要去哪里？", "要去哪里？请按一个地方。"),
                [*choices(*usual[:USUAL_SHOWN]), *more],
            )
        if slot == "taxi_time":
            if state.get("taxi_day"):
                return Say(said_or_pressed(turn, "几点钟用车？", "几点钟用车？请按一个钟点。"), entry=TIME_ENTRY)
            return Say(
                said_or_pressed(
                    turn, "什么时候用车？比如：现在、明天上午九点。", "什么时候用车？请按“现在”，或者选哪天几点。"
                ),
                choices("现在"),
                entry=TIME_ENTRY,
            )
        if slot == "taxi_passengers":
            return Say("一共几位坐车？", choices("1位", "2位", "3位", "4位"))
        if slot == "taxi_assistance":
            return Say(
                "需要带轮椅，或者要人扶一把吗？",
                [button("带轮椅", "要带轮椅"), button("要人扶"), button("不用")],
            )
        return Say(self.read_back(turn, state), YES_NO_BUTTONS)

    def _more_destinations(self, session: Session, turn: Turn) -> Say:
        rest = taxi_places.places(session, kind="destination")[USUAL_SHOWN:]
        return Say(said_or_pressed(turn, "还有这些地方，要去哪里？", "还有这些地方，请按一个。"), choices(*rest))

    def read_back(self, turn: Turn, state: dict[str, Any]) -> str:
        when = taxi.when_text(local(state["taxi_time"]), now=turn.now, asap=bool(state.get("taxi_asap")))
        need = {"轮椅": "，要带轮椅", "需要搀扶": "，要人搀扶"}.get(state.get("taxi_assistance") or "", "")
        return (
            f"我读一遍：{when}，从{state['taxi_pickup']}到{state['taxi_destination']}，"
            f"{state['taxi_passengers']}位{need}，电话{state['taxi_phone']}。对吗？"
        )
