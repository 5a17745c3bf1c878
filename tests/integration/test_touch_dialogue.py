"""Every menu item completed by touch alone, against the real engine, action server and app: each
step sends only the payload of a button the bot showed (or a pad's words as an `answer`), never
words for the NLU to guess. What is checked: the answers, the rows written, and what staff read."""

import json
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bot.models import TaxiBooking
from tests.integration.conftest import Chat


def new_sender() -> str:
    return f"touch-{uuid.uuid4().hex[:8]}"


class Resident:
    """Touches buttons the bot showed, or answers a pad, over the REST channel."""

    def __init__(self, chat: Chat) -> None:
        self.chat, self.sender = chat, new_sender()
        self.said: list[dict[str, Any]] = []

    def send(self, payload: str) -> list[dict[str, Any]]:
        assert re.fullmatch(r"/\w+(\{.*\})?", payload), payload  # meaning, never words
        self.said = self.chat.say(self.sender, payload)
        return self.said

    def menu(self, intent: str) -> list[dict[str, Any]]:
        return self.send(f"/{intent}")

    def touch(self, title: str) -> list[dict[str, Any]]:
        shown = {b["title"]: b["payload"] for m in self.said for b in m.get("buttons") or []}
        assert title in shown, f"no button {title!r} among {list(shown)}"
        return self.send(shown[title])

    def pad(self, words: str) -> list[dict[str, Any]]:
        assert any((m.get("custom") or {}).get("entry") for m in self.said), "no pad was shown"
        return self.send("/inform" + json.dumps({"answer": words}, ensure_ascii=False))

    @property
    def text(self) -> str:
        return " ".join(m.get("text") or "" for m in self.said)

    @property
    def titles(self) -> list[str]:
        return [b["title"] for m in self.said for b in m.get("buttons") or []]


def test_hours_by_touch(chat: Chat) -> None:
    me = Resident(chat)
    me.menu("ask_service_hours")
    assert "哪个地方" in me.text and "居委会" in me.titles and "长者食堂" in me.titles
    me.touch("长者食堂")
    assert me.text.startswith("长者食堂今天")


def test_a_policy_by_touch(chat: Chat) -> None:
    me = Resident(chat)
    me.menu("ask_policy")
    assert "哪方面" in me.text and len(me.titles) == 8 and me.titles[-1] == "更多"
    for _ in range(12):  # the most-asked first, then 更多 … until the one this resident wants
        if "加装电梯" in me.titles:
            break
        me.touch("更多")
    me.touch("加装电梯")
    assert "同意" in me.text  # the stored answer on the elevator consent rule


def test_a_repair_with_a_chosen_description_by_touch(chat: Chat, db: Engine, staff: httpx.Client) -> None:
    me = Resident(chat)
    me.menu("file_request")
    assert "房屋报修" in me.titles and "电梯故障" in me.titles
    me.touch("房屋报修")
    assert "屋顶漏水" in me.titles and me.titles[-1] == "其他"
    me.touch("水管漏水")
    assert "在哪里" in me.text
    me.pad("7号楼3楼302室")
    assert "手机号码" in me.text
    me.pad("13812345678")
    assert re.search(r"\d{4} \d{4}", me.text), me.text  # the number, told in two fours
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT category, description, location, phone FROM resident_request WHERE sender_id = :s"),
            {"s": me.sender},
        ).one()
    assert tuple(row) == ("房屋报修", "水管漏水", "7号楼3楼302室", "13812345678")
    transcript = staff.get(f"/api/staff/conversations/{me.sender}").json()
    said = [m["text"] for m in transcript if m["kind"] == "user"]
    assert said[:3] == ["〔按键〕报修/诉求", "〔按键〕回答问题：房屋报修", "〔按键〕水管漏水"]
    assert not any(s.startswith("/") or "{" in s or "answer" in s for s in said)  # never the payload


def test_a_taxi_read_back_corrected_by_touch(chat: Chat, db: Engine) -> None:
    me = Resident(chat)
    me.menu("book_taxi")
    me.pad("13912345678")
    me.touch("小区南门")
    me.touch("瑞金医院")
    me.pad("明天上午9点")
    me.touch("1位")
    me.touch("不用")
    assert "我读一遍" in me.text and "9点" in me.text
    me.touch("不对")
    assert "哪一项" in me.text and {"时间", "电话", "去的地方"} <= set(me.titles)
    me.touch("时间")
    assert any((m.get("custom") or {}).get("entry") == {"kind": "time"} for m in me.said)
    me.pad("明天下午2点")
    assert "我读一遍" in me.text and "下午2点" in me.text and "瑞金医院" in me.text
    me.touch("对")
    with Session(db) as session:
        booking = session.scalars(select(TaxiBooking).where(TaxiBooking.sender_id == me.sender)).one()
    assert booking.destination == "瑞金医院" and booking.pickup_at.astimezone(ZoneInfo("Asia/Shanghai")).hour == 14


def test_status_and_cancel_of_an_earlier_booking_by_touch(chat: Chat, db: Engine) -> None:
    earlier = Resident(chat)  # booked at the kiosk yesterday: another conversation
    earlier.menu("book_stair_climber")
    earlier.pad("13700001111")
    earlier.pad("5号楼6楼")
    earlier.touch("下楼")
    earlier.touch(earlier.titles[0])  # the soonest free slot
    earlier.touch("去医院看病")
    earlier.touch("对")
    number = re.search(r"(\d{4}) (\d{4})", earlier.text)
    assert number, earlier.text
    number_digits = number.group(1) + number.group(2)
    me = Resident(chat)
    me.menu("check_status")
    assert "编号" in me.text and "记不得" in me.titles
    me.pad(number_digits)
    assert "手机号码" in me.text
    me.pad("13700001111")
    assert "爬楼机" in me.text and me.titles == ["取消这个"]
    me.touch("取消这个")
    assert "要取消这个吗" in me.text  # the phone was not asked again
    me.touch("对")
    assert "取消" in me.text
    with db.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM climber_booking WHERE number = :n"), {"n": number_digits}
        ).scalar_one()
    assert status == "已取消"


def test_a_callback_from_staff_by_touch(chat: Chat, db: Engine) -> None:
    me = Resident(chat)
    me.menu("human_handoff")
    assert "手机号码" in me.text and "不用了" in me.titles
    me.pad("13612345678")
    with db.connect() as conn:
        phone = conn.execute(
            text("SELECT phone FROM handoff_request WHERE sender_id = :s"), {"s": me.sender}
        ).scalar_one()
    assert phone == "13612345678"
