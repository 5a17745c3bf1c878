"""Booking and request conversations over REST, end to end, checking the rows they leave."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Engine

from tests.integration.conftest import Chat
from tests.integration.test_conversations import new_sender, rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(value: object) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # SQLite gives back the stored UTC time without its zone
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(SHANGHAI).date()


def read_out(number: str) -> str:
    """A record number as the bot says and shows it: two groups of four."""
    return f"{number[:4]} {number[4:]}"


def joined(chat: Chat, sender: str, text: str) -> str:
    return " ".join(chat.texts(sender, text))


def test_taxi_booked_with_a_correction_then_dispatched_and_asked_about(
    chat: Chat, db: Engine, staff: httpx.Client
) -> None:
    me = new_sender()
    assert "手机号码" in joined(chat, me, "明天上午九点帮我叫部车去六院")
    assert "上车" in joined(chat, me, "一三八一二三四五六七八")
    assert "几位" in joined(chat, me, "五号楼门口")
    assert "轮椅" in joined(chat, me, "两个人")
    read_back = joined(chat, me, "要带轮椅")
    assert "六院" in read_back and "五号楼门口" in read_back and "对吗" in read_back
    corrected = joined(chat, me, "时间不对 是后天上午")
    assert "后天" in corrected and "对吗" in corrected
    assert rows(db, "SELECT id FROM taxi_booking WHERE sender_id = :s", s=me) == []  # nothing before 对
    booked = joined(chat, me, "对的")
    assert "编号3" in booked
    ((number, pickup_at, passengers, assistance, status, phone),) = rows(
        db,
        "SELECT number, pickup_at, passengers, assistance, status, phone FROM taxi_booking WHERE sender_id = :s",
        s=me,
    )
    today = datetime.now(SHANGHAI).date()
    assert local_date(pickup_at) == today + timedelta(days=2)
    assert (passengers, assistance, status, phone) == (2, "轮椅", "待派车", "13812345678")
    assert read_out(number) in booked
    waiting = joined(chat, me, "我叫的车到哪里了")
    assert read_out(number) in waiting and "派车" in waiting
    dispatched = staff.post(f"/api/staff/taxi/{number}/dispatch", json={"plate": "沪A12345", "car": "白色大众"})
    assert dispatched.status_code == 200
    assert "沪A12345" in joined(chat, me, "车子派出来了伐")


def test_hours_question_mid_form_is_answered_and_calling_it_off_saves_nothing(chat: Chat, db: Engine) -> None:
    me = new_sender()
    joined(chat, me, "叫部差头")
    interrupted = chat.texts(me, "居委会几点开门")
    assert interrupted[0].startswith("居委会") and "手机号码" in interrupted[-1]
    assert "上车" in joined(chat, me, "13812345678")
    assert "不叫了" in joined(chat, me, "算了 不叫了")
    assert rows(db, "SELECT id FROM taxi_booking WHERE sender_id = :s", s=me) == []
    # The form is gone: a greeting is just a greeting again.
    assert "邻里助手" in joined(chat, me, "侬好")


def test_emergency_mid_form_gets_the_numbers_and_an_alert(chat: Chat, db: Engine) -> None:
    me = new_sender()
    joined(chat, me, "约爬楼机")
    answer = joined(chat, me, "我摔倒了 起不来")
    assert "120" in answer
    assert rows(db, "SELECT kind FROM alert WHERE sender_id = :s", s=me) == [("急病受伤",)]
    assert rows(db, "SELECT id FROM climber_booking WHERE sender_id = :s", s=me) == []


def next_monday() -> date:
    today = datetime.now(SHANGHAI).date()
    return today + timedelta(days=7 - today.weekday())


def test_stair_climber_full_slot_offers_another_and_cancel_frees_it(chat: Chat, db: Engine) -> None:
    monday = next_monday()
    eight = datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=SHANGHAI)
    for n in range(2):  # both machines already booked at 8:00 that Monday
        chat.app_post(
            "/api/stair-climber/bookings",
            {
                "idempotency_key": f"{new_sender()}:prefill-{n}",
                "sender_id": new_sender(),
                "phone": "13900001111",
                "slot_start": eight.isoformat(),
                "building": "3号楼",
                "floor": 5,
                "direction": "下楼",
            },
        )
    me = new_sender()
    joined(chat, me, "约个爬楼机 下楼")
    joined(chat, me, "13812345678")
    assert "什么时间" in joined(chat, me, "五号楼六楼602室")
    offer = joined(chat, me, "下礼拜一上午八点")
    assert "约满" in offer and "10点" in offer and "可以吗" in offer
    assert "做什么" in joined(chat, me, "好的")
    read_back = joined(chat, me, "去医院看毛病")
    assert "602室" in read_back and "上午10点" in read_back
    booked = joined(chat, me, "对")
    assert "约好了" in booked
    ((number, slot_start, building, floor, room, direction, status),) = rows(
        db,
        "SELECT number, slot_start, building, floor, room, direction, status FROM climber_booking WHERE sender_id = :s",
        s=me,
    )
    assert (building, floor, room, direction, status) == ("5号楼", 6, "602", "下楼", "已预约")
    assert local_date(slot_start) == monday and number.startswith("5")
    confirm = joined(chat, me, "爬楼机取消掉")
    assert read_out(number) in confirm and "要取消" in confirm
    assert "取消了" in joined(chat, me, "对")
    assert rows(db, "SELECT status FROM climber_booking WHERE number = :n", n=number) == [("已取消",)]


def test_request_filed_and_followed_only_by_its_owner(chat: Chat, db: Engine) -> None:
    me = new_sender()
    assert "哪里" in joined(chat, me, "楼道里堆满了纸板箱 走不过去")
    assert "手机号码" in joined(chat, me, "三号楼二楼楼道")
    filed = joined(chat, me, "一三九 一二三四 五六七八")
    ((number, category, location, phone, status),) = rows(
        db, "SELECT number, category, location, phone, status FROM resident_request WHERE sender_id = :s", s=me
    )
    assert (category, location, phone, status) == ("楼道堆物", "三号楼二楼楼道", "13912345678", "已受理")
    assert f"编号{read_out(number)}" in filed
    assert read_out(number) in joined(chat, me, "我上次报修的怎么样了")
    # Someone else (another kiosk session) with the number but the wrong phone learns nothing.
    stranger = new_sender()
    assert "编号" in joined(chat, stranger, "我反映的问题处理了伐")
    assert "手机号码" in joined(chat, stranger, " ".join(number))
    refused = joined(chat, stranger, "13800000000")
    assert "没有查到" in refused and "楼道" not in refused
    # With the phone on the record, the owner can ask from any device.
    owner_elsewhere = new_sender()
    joined(chat, owner_elsewhere, "查进度")
    joined(chat, owner_elsewhere, number)
    assert "楼道堆物" in joined(chat, owner_elsewhere, "13912345678")
