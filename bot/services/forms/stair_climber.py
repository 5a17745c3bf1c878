"""The stair-climber form: phone, building and floor, direction, a free slot (the nearest free
one offered when the wanted one is full), purpose, then a read-back and 对吗."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from bot.services import answers, chinese_time, stair_climber
from bot.services.forms.base import (
    ADDRESS_ENTRY,
    FLOOR_ENTRY,
    NOT_UNDERSTOOD,
    PHONE_ENTRY,
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
from bot.services.forms.taxi import local, phone_outcome

MAX_FLOOR = 40
PURPOSES = ("去医院看病", "去医院复查", "出门办事", "回家")


def spoken_slot(start: datetime, *, now: datetime) -> str:
    """A slot's start as words the time reader takes without doubt ("11月24日上午8点30分"; the
    year only when it is not this year's)."""
    at = local(start.isoformat())
    half = "上午" if at.hour < 12 else "中午" if at.hour == 12 else "下午"
    hour = at.hour if at.hour <= 12 else at.hour - 12
    year = f"{at.year}年" if at.year != local(now.isoformat()).year else ""
    return f"{year}{at.month}月{at.day}日{half}{hour}点" + (f"{at.minute}分" if at.minute else "")


class StairClimberForm(Form):
    name = "stair_climber_form"
    slots = (
        "climber_phone",
        "climber_building",
        "climber_floor",
        "climber_direction",
        "climber_time",
        "climber_purpose",
        "climber_confirmed",
    )
    extra_slots = ("climber_room", "climber_offer")
    cancelled_text = "好的，爬楼机不约了。有事再叫我。"
    companions: ClassVar[dict[str, tuple[str, ...]]] = {"climber_building": ("climber_floor", "climber_room")}
    corrections: ClassVar[dict[str, str]] = {
        "climber_phone": r"电话|号码|手机",
        "climber_building": r"几号楼|楼号|号楼|地址|房间|几室",
        "climber_floor": r"楼层|几楼|层",
        "climber_direction": r"上楼|下楼|往返|来回|方向",
        "climber_purpose": r"做啥|做什么|干什么|事情|目的",
        "climber_time": r"时间|几点|辰光|钟点|日子|哪天|今天|明天|后天|上午|下午|早上|晚上|礼拜|星期|点",
    }
    item_titles: ClassVar[dict[str, str]] = {
        "climber_time": "时间",
        "climber_building": "几号楼",
        "climber_floor": "几楼",
        "climber_direction": "上楼下楼",
        "climber_purpose": "去做什么",
        "climber_phone": "电话",
    }

    def prefill(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        updates: dict[str, Any] = {}
        where = self._address(turn.text)
        if where.updates.get("climber_building"):
            updates.update(where.updates)
        way = answers.direction(turn.text.replace("爬楼", ""))
        if way:
            updates["climber_direction"] = way
        if chinese_time.find_time(turn.text, now=turn.now) is not None:
            when = self._time(session, turn, state)
            updates.update(when.updates)
            return Outcome(updates, note=when.note)
        return Outcome(updates)

    @staticmethod
    def _address(text: str) -> Outcome:
        found: dict[str, Any] = {}
        building = answers.building(text)
        if building:
            found["climber_building"] = building
        floor, room = answers.floor_and_room(text)
        if floor is not None:
            if not 1 <= floor <= MAX_FLOOR:
                return Outcome(note="楼层好像不对，请再说一遍，比如：六楼。")
            found["climber_floor"] = floor
            found["climber_room"] = room
        return Outcome(found) if found else NOT_UNDERSTOOD

    def _time(self, session: Session, turn: Turn, state: dict[str, Any]) -> Outcome:
        found = chinese_time.find_time(turn.text, now=turn.now)
        if found is None:
            return NOT_UNDERSTOOD
        choice = stair_climber.choose_slot(
            session, start=found.start, end=found.end, has_clock=found.has_clock and not found.asap, now=turn.now
        )
        if choice.slot is not None:
            return Outcome({"climber_time": choice.slot.start.isoformat(), "climber_offer": None})
        said = stair_climber.slot_text(found.start, now=turn.now) if found.has_clock else "这个时间"
        notes = {
            "past": "这个时间来不及了，爬楼机要提前半小时约。",
            "closed": f"爬楼机的服务时间是{stair_climber.service_hours_text(session)}。",
            "full": f"{said}已经约满了。",
        }
        offer = choice.alternatives[0].start.isoformat() if choice.alternatives else None
        if offer is None:
            return Outcome(
                {"climber_time": None, "climber_offer": None},
                note=notes[choice.reason] + "最近两个礼拜都约满了，请说“转人工”请工作人员安排。",
            )
        return Outcome({"climber_time": None, "climber_offer": offer}, note=notes[choice.reason])

    def parse(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Outcome:
        text = turn.text
        if slot == "climber_phone":
            return phone_outcome(text, slot)
        if slot == "climber_building":
            return self._address(text)
        if slot == "climber_floor":
            floor, room = answers.floor_and_room(text)
            if floor is None:
                bare = answers.to_int(text.strip(" 楼层啊呀额"))
                floor = bare
            if floor is None:
                return NOT_UNDERSTOOD
            if not 1 <= floor <= MAX_FLOOR:
                return Outcome(note="楼层好像不对，请再说一遍，比如：六楼。")
            old_room = state.get("climber_room") or ""
            kept = old_room if old_room[:-2] == str(floor) else ""  # 602 belongs to floor 6 only
            return Outcome({"climber_floor": floor, "climber_room": room or kept})
        if slot == "climber_direction":
            way = answers.direction(text)
            return Outcome({"climber_direction": way}) if way else NOT_UNDERSTOOD
        if slot == "climber_time":
            offer = state.get("climber_offer")
            if offer and chinese_time.find_time(text, now=turn.now) is None:
                verdict = answers.yes_no(text, turn.intent)
                if verdict is True:
                    # Check again: someone may have taken it while we were asking.
                    start = datetime.fromisoformat(offer)
                    slot_now = stair_climber.choose_slot(session, start=start, end=start, has_clock=True, now=turn.now)
                    if slot_now.slot is not None:
                        return Outcome({"climber_time": offer, "climber_offer": None})
                    return self._time(session, turn, state)
                if verdict is False:
                    return Outcome({"climber_offer": None}, note="好的。")
            return self._time(session, turn, state)
        if slot == "climber_purpose":
            return free_text("climber_purpose", text.strip(" 。，,.啊呀额")[:200])
        if slot == "climber_confirmed":
            return confirm(self, session, turn, state, confirm_slot=slot, fields=self.corrections)
        return NOT_UNDERSTOOD

    def ask(self, session: Session, turn: Turn, slot: str, state: dict[str, Any]) -> Say:
        if slot == "climber_phone":
            return Say(
                said_or_pressed(
                    turn,
                    "请说一下您的手机号码，操作员上门前会打电话给您。",
                    "请按一下您的手机号码，操作员上门前会打电话给您。",
                ),
                entry=PHONE_ENTRY,
            )
        if slot == "climber_building":
            return Say(
                said_or_pressed(turn, "您住几号楼、几楼？比如：五号楼六楼602室。", "您住几号楼、几楼？请按。"),
                entry=ADDRESS_ENTRY,
            )
        if slot == "climber_floor":
            return Say(f"{state.get('climber_building') or ''}几楼？", entry=FLOOR_ENTRY)
        if slot == "climber_direction":
            return Say("是下楼、上楼，还是往返？", choices(*stair_climber.DIRECTIONS))
        if slot == "climber_time":
            offer = state.get("climber_offer")
            if offer:
                return Say(f"{stair_climber.slot_text(local(offer), now=turn.now)}可以吗？", YES_NO_BUTTONS)
            # The soonest free slots as buttons: a time that is sure to be free, by touch.
            soonest = stair_climber.soonest_free(session, now=turn.now)
            return Say(
                said_or_pressed(turn, "想约什么时间？比如：明天上午九点。", "想约什么时间？请按一个空着的时间。"),
                [
                    button(stair_climber.slot_text(s.start, now=turn.now), spoken_slot(s.start, now=turn.now))
                    for s in soonest
                ],
            )
        if slot == "climber_purpose":
            return Say("下楼是去做什么？比如：去医院看病。", choices(*PURPOSES))
        return Say(self.read_back(session, turn, state), YES_NO_BUTTONS)

    def read_back(self, session: Session, turn: Turn, state: dict[str, Any]) -> str:
        start = local(state["climber_time"])
        room = f"{state['climber_room']}室" if state.get("climber_room") else ""
        return (
            f"我读一遍：{stair_climber.slot_text(start, now=turn.now)}，{state['climber_building']}"
            f"{state['climber_floor']}楼{room}，{state['climber_direction']}，{state['climber_purpose']}，"
            f"电话{state['climber_phone']}。对吗？"
        )
