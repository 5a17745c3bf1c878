"""Record numbers that cannot be walked: eight digits with the kind first and a Verhoeff check
digit, drawn at random; a slip of one digit is told "check it" without costing a try; wrong
number-plus-phone tries are limited per conversation and per source; numbers issued before (six
digits) still work. Each attack is tried as a stranger would, and the rightful resident still
gets through."""

import itertools
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from stdnum import verhoeff

from bot.models import LookupFailure, ResidentRequest, TaxiBooking
from bot.services import lookup_limit, records
from tests.app.test_bookings import request_body, taxi_body
from tests.app.test_form_turns import FormDriver

OWNER_PHONE = "13812345678"  # the phone on every record made here (taxi_body, request_body)
STRANGER = "203.0.113.7"
RESIDENT = "198.51.100.20"


def failures(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(LookupFailure)) or 0)


def status(client: TestClient, number: str, *, sender: str, client_address: str, phone: str = OWNER_PHONE) -> Any:
    return client.post(
        "/api/records/status",
        json={"sender_id": sender, "number": number, "phone": phone, "client": client_address},
    )


def guess(rng_number: int) -> str:
    """A number a guesser would try: right shape, right kind digit, right check digit."""
    body = f"3{rng_number:06d}"
    return body + verhoeff.calc_check_digit(body)


def slips(number: str) -> list[str]:
    """Every number one wrong digit or one swap of neighbours away."""
    wrong = {number[:i] + d + number[i + 1 :] for i in range(len(number)) for d in "0123456789"}
    wrong |= {number[:i] + number[i + 1] + number[i] + number[i + 2 :] for i in range(len(number) - 1)}
    return sorted(wrong - {number})


# --- the numbers ----------------------------------------------------------------------------


def test_new_numbers_carry_the_kind_a_check_digit_and_look_random(client: TestClient) -> None:
    taxis = [
        client.post("/api/taxi-bookings", json=taxi_body(f"records-taxi-n-{i}")).json()["number"] for i in range(30)
    ]
    asks = [client.post("/api/requests", json=request_body(f"records-req-n-{i}")).json()["number"] for i in range(10)]
    for numbers, digit in ((taxis, "3"), (asks, "8")):
        assert all(len(n) == 8 and n.isdigit() and n[0] == digit and verhoeff.is_valid(n) for n in numbers)
        assert len(set(numbers)) == len(numbers)
    # Drawn, not counted: in the order issued they neither rise nor fall, and neighbours are far apart.
    assert taxis != sorted(taxis) and taxis != sorted(taxis, reverse=True)
    gaps = [abs(int(a[1:7]) - int(b[1:7])) for a, b in itertools.pairwise(taxis)]
    assert sorted(gaps)[len(gaps) // 2] > 10_000  # a counter would give gaps of 1
    # Every random position takes many values across 30 numbers (a fixed or counted digit would not).
    assert all(len({n[i] for n in taxis}) >= 5 for i in range(1, 7))


def test_climber_numbers_start_with_5(client: TestClient) -> None:
    slot = client.get("/api/stair-climber/slots", params={"day": "2026-11-23"}).json()[0]
    booked = client.post(
        "/api/stair-climber/bookings",
        json={
            "idempotency_key": "climb-n-1",
            "sender_id": "owner",
            "phone": OWNER_PHONE,
            "slot_start": slot["start"],
            "building": "5号楼",
            "floor": 6,
            "direction": "下楼",
        },
    ).json()
    assert booked["number"][0] == "5" and len(booked["number"]) == 8 and verhoeff.is_valid(booked["number"])
    assert f"编号{booked['number'][:4]} {booked['number'][4:]}" in booked["text"]  # read out in two fours


def test_every_one_digit_slip_or_swap_is_caught_without_a_try(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/taxi-bookings", json=taxi_body("records-slip-1")).json()["number"]
    wrong = slips(number)
    assert len(wrong) == 8 * 9 + sum(number[i] != number[i + 1] for i in range(7))
    for said in wrong:
        with pytest.raises(records.NumberError):
            records.check_number(said)
    # Through the API, as the action sends it: a clear Chinese answer and no try counted, however
    # many slips (more than the limit allows tries).
    for said in wrong[:12]:
        answer = status(client, said, sender="resident-slip", client_address=RESIDENT)
        assert answer.status_code == 422 and "对不上" in answer.json()["detail"]
    assert failures(seeded) == 0
    spaced = status(client, f"{number[:4]} {number[4:]}", sender="resident-slip", client_address=RESIDENT)
    assert spaced.status_code == 200 and spaced.json()["count"] == 1  # read out in two groups: found


def test_a_misheard_digit_in_the_form_asks_again_without_a_try(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/requests", json=request_body("records-slip-form-1")).json()["number"]
    misheard = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    form = FormDriver(client, "status_form", sender="kiosk-slip")
    entry = form.start("我报的事情怎么样了", "check_status")["say"][-1]["entry"]
    assert form.requested == "lookup_number"
    assert entry == {"kind": "digits", "label": "编号", "lengths": [8, 6]}  # the kiosk pad: 8, or 6 for old ones
    form.answer(" ".join(misheard))
    assert "对不上" in form.last and "再说一遍" in form.last
    assert form.requested == "lookup_number" and not form.slots.get("lookup_number")
    form.answer(f"{number[:4]} {number[4:]}")
    assert form.slots["lookup_number"] == number and form.requested == "lookup_phone"
    short = FormDriver(client, "status_form", sender="kiosk-slip-2")
    short.start("我报的事情怎么样了", "check_status")
    short.answer(number[:7])
    assert "八位" in short.last and short.requested == "lookup_number"
    assert failures(seeded) == 0


# --- numbers issued before ----------------------------------------------------------------


def make_old(factory: sessionmaker[Session], model: Any, number: str, old: str) -> str:
    """The record as the old code issued it: a six-digit number, kind digit first, no check digit."""
    with factory() as session:
        session.execute(update(model).where(model.number == number).values(number=old))
        session.commit()
    return old


def test_old_six_digit_numbers_are_still_found_and_cancelled(client: TestClient, seeded: sessionmaker[Session]) -> None:
    taxi = make_old(
        seeded,
        TaxiBooking,
        client.post("/api/taxi-bookings", json=taxi_body("records-old-1")).json()["number"],
        "305127",
    )
    request = make_old(
        seeded,
        ResidentRequest,
        client.post("/api/requests", json=request_body("records-old-2")).json()["number"],
        "812406",
    )
    seen = status(client, "305127", sender="kiosk-old", client_address=RESIDENT)
    assert seen.status_code == 200 and seen.json()["count"] == 1 and "编号305127" in seen.json()["texts"][0]
    form = FormDriver(client, "cancel_form", sender="kiosk-old-2")
    form.start("我要取消", "cancel_booking")
    form.answer("三零五幺二七")  # said digit by digit, as on the paper it was given
    assert form.slots["lookup_number"] == taxi and form.requested == "lookup_phone"
    form.answer(OWNER_PHONE)
    assert form.requested == "cancel_confirmed" and "305127" in form.last
    cancelled = client.post(
        f"/api/records/{taxi}/cancel", json={"sender_id": "kiosk-old-2", "phone": OWNER_PHONE, "client": RESIDENT}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "已取消"
    withdrawn = client.post(
        f"/api/records/{request}/cancel", json={"sender_id": "kiosk-old-3", "phone": OWNER_PHONE, "client": RESIDENT}
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "已撤销"
    with seeded() as session:
        assert session.scalar(select(TaxiBooking.status).where(TaxiBooking.number == "305127")) == "已取消"


# --- guessing -----------------------------------------------------------------------------


def test_guessing_is_refused_after_five_tries_and_the_owner_still_gets_through(
    client: TestClient, seeded: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    number = client.post("/api/taxi-bookings", json=taxi_body("records-victim-1")).json()["number"]
    # The stranger knows the victim's phone and walks well-formed numbers from one conversation.
    tries = [guess(n) for n in range(100_000, 100_000 + lookup_limit.MAX_PER_CONVERSATION)]
    assert number not in tries
    for tried in tries:
        answer = status(client, tried, sender="stranger-1", client_address=STRANGER)
        assert answer.status_code == 200 and answer.json()["count"] == 0
    refused = status(client, guess(100_010), sender="stranger-1", client_address=STRANGER)
    assert refused.status_code == 429
    assert "居委会" in refused.json()["detail"] and "021-54301001" in refused.json()["detail"]
    # Refused even when he hits: the answer tells nothing about the number.
    assert status(client, number, sender="stranger-1", client_address=STRANGER).status_code == 429
    cancel = client.post(
        f"/api/records/{number}/cancel", json={"sender_id": "stranger-1", "phone": OWNER_PHONE, "client": STRANGER}
    )
    assert cancel.status_code == 429
    assert failures(seeded) == lookup_limit.MAX_PER_CONVERSATION  # refusals are no tries
    # The resident, from another conversation and address, with the number on the paper and the phone:
    mine = status(client, number, sender="kiosk-owner", client_address=RESIDENT)
    assert mine.status_code == 200 and mine.json()["count"] == 1 and "车" in mine.json()["texts"][0]
    cancelled = client.post(
        f"/api/records/{number}/cancel", json={"sender_id": "kiosk-owner", "phone": OWNER_PHONE, "client": RESIDENT}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "已取消"
    # A quarter of an hour later the stranger's conversation may try again (and the rows are gone).
    clock["now"] += lookup_limit.WINDOW + timedelta(seconds=1)
    assert status(client, guess(100_011), sender="stranger-1", client_address=STRANGER).status_code == 200
    assert failures(seeded) == 1


def test_a_new_conversation_for_every_guess_is_stopped_by_its_source(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/requests", json=request_body("records-victim-2")).json()["number"]
    limit = lookup_limit.MAX_PER_SOURCE
    for n in range(limit):  # a fresh sender id each time, as a script posting to the webhook would
        assert status(client, guess(200_000 + n), sender=f"fresh-{n}", client_address=STRANGER).status_code == 200
    assert status(client, guess(200_100), sender="fresh-new", client_address=STRANGER).status_code == 429
    # Another address in the same IPv6 /64 is the same source; another /64 is not.
    v6 = "2001:db8:1:2::"
    for n in range(limit):
        status(client, guess(300_000 + n), sender=f"v6-{n}", client_address=f"{v6}{n + 1:x}")
    assert status(client, number, sender="v6-new", client_address=f"{v6}ffff").status_code == 429
    found = status(client, number, sender="v6-other", client_address="2001:db8:1:3::1")
    assert found.status_code == 200 and found.json()["count"] == 1
    # The owner, from anywhere else, still gets the status.
    assert status(client, number, sender="chat-owner", client_address=RESIDENT).json()["count"] == 1


def test_the_kiosk_form_says_where_to_go_once_the_kiosk_has_used_up_its_tries(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/requests", json=request_body("records-victim-3")).json()["number"]
    kiosk = "192.0.2.50"  # the lobby kiosk: a new conversation for every person who walks up
    for n in range(lookup_limit.MAX_PER_SOURCE):
        status(client, guess(400_000 + n), sender=f"kiosk-{n}", client_address=kiosk)
    form = FormDriver(client, "status_form", sender="kiosk-next")
    form.client_address = kiosk
    form.start("我报的事情怎么样了", "check_status")
    reply = form.answer(" ".join(number))
    assert reply["next_slot"] is None and form.slots["form_cancelled"] is True
    assert "暂停查询" in form.last and "021-54301001" in form.last
    # The same number and phone from the resident's own phone in web chat: found.
    mine = FormDriver(client, "status_form", sender="web-owner01")
    mine.client_address = RESIDENT
    mine.start("我报的事情怎么样了", "check_status")
    mine.answer(number)
    assert mine.requested == "lookup_phone"
    mine.answer(OWNER_PHONE)
    assert mine.requested is None and not mine.slots.get("form_cancelled")


def test_the_owners_own_conversation_needs_no_phone_and_spends_no_try(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/requests", json=request_body("records-own-1", sender_id="web-owner02")).json()["number"]
    for n in range(lookup_limit.MAX_PER_CONVERSATION):
        status(client, guess(500_000 + n), sender="web-owner02", client_address=RESIDENT)
    # Locked for lookups by phone, but its own record is its own.
    own = client.post("/api/records/status", json={"sender_id": "web-owner02", "number": number, "client": RESIDENT})
    assert own.status_code == 200 and own.json()["count"] == 1


def test_cancel_form_counts_a_wrong_phone_once_and_refuses_past_the_limit(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    number = client.post("/api/taxi-bookings", json=taxi_body("records-victim-4")).json()["number"]
    for n in range(lookup_limit.MAX_PER_CONVERSATION):
        form = FormDriver(client, "cancel_form", sender="stranger-5")
        form.start("取消叫车", "cancel_booking")
        form.answer(number)
        form.answer(f"1390000000{n}")  # the number is right, the phone guessed
        assert form.requested is None and form.slots["cancel_target"] == "none"
        assert failures(seeded) == n + 1
    form = FormDriver(client, "cancel_form", sender="stranger-5")
    form.start("取消叫车", "cancel_booking")
    form.answer(number)
    assert form.slots.get("form_cancelled") is True and "暂停查询" in form.last
    with seeded() as session:
        assert session.scalar(select(TaxiBooking.status).where(TaxiBooking.number == number)) == "待派车"


def test_source_of_an_address() -> None:
    assert lookup_limit.source_key("203.0.113.7") == "203.0.113.7"
    assert lookup_limit.source_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert lookup_limit.source_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert lookup_limit.source_key("") == ""
    assert lookup_limit.source_key("testclient") == "testclient"


# --- staff ----------------------------------------------------------------------------------


def test_staff_find_a_record_by_the_number_as_it_is_read_out(staff: TestClient, seeded: sessionmaker[Session]) -> None:
    taxi = staff.post("/api/taxi-bookings", json=taxi_body("records-staff-find-1")).json()["number"]
    request = staff.post("/api/requests", json=request_body("records-staff-find-2")).json()["number"]
    page = staff.get("/staff/find", params={"number": f"{taxi[:4]}-{taxi[4:]}"})
    assert page.status_code == 200 and f"{taxi[:4]} {taxi[4:]}" in page.text and "第六人民医院" in page.text
    opened = staff.get("/staff/find", params={"number": f"{request[:4]} {request[4:]}"}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/staff/requests/{request}"
    slip = staff.get("/staff/find", params={"number": taxi[:6] + taxi[7] + taxi[6]})
    if taxi[6] != taxi[7]:
        assert "对不上" in slip.text and "第六人民医院" not in slip.text
    old = make_old(seeded, TaxiBooking, taxi, "305127")
    assert "305127" in staff.get("/staff/find", params={"number": old}).text
    assert "没有编号为" in staff.get("/staff/find", params={"number": guess(123_456)}).text
