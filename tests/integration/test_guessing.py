"""Guessing record numbers, end to end, as a stranger would: through the chat page (behind a
reverse proxy that forwards each visitor's address, as a deployment has) with a fresh conversation
for every guess, and straight at the engine's webhook with a forged address. Each door refuses the
stranger and still serves the resident who has the number and the phone."""

import time
import uuid
from typing import Any

from sqlalchemy import Engine
from stdnum import verhoeff

from bot.launcher import Stack
from bot.services import lookup_limit
from tests.integration.conftest import Chat, through_the_proxy
from tests.integration.test_conversations import rows

OWNER_PHONE = "13912345678"


def web_sender() -> str:
    return f"web-{uuid.uuid4().hex[:16]}"


def page_says(stack: Stack, sender: str, text: str, address: str) -> str:
    """One message from the chat page, through the reverse proxy that says who the visitor is."""
    with through_the_proxy(timeout=30) as proxy:
        response = proxy.post(
            f"{stack.urls['app']}/chat/send",
            json={"sender": sender, "message": text},
            headers={"X-Forwarded-For": address},
        )
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()
    return " ".join(m["text"] for m in replies if "text" in m)


def guess(n: int) -> str:
    body = f"8{700_000 + n:06d}"  # a request number: kind digit, six digits, a right check digit
    return body + verhoeff.calc_check_digit(body)


def filed_request(chat: Chat) -> str:
    number: str = chat.app_post(
        "/api/requests",
        {
            "idempotency_key": f"guessing-{uuid.uuid4().hex}",
            "sender_id": f"owner-{uuid.uuid4().hex[:8]}",
            "phone": OWNER_PHONE,
            "category": "楼道堆物",
            "description": "楼道里堆满纸板箱",
            "location": "三号楼",
        },
    )["number"]
    return number


def failures_from(db: Engine, source: str) -> int:
    return int(rows(db, "SELECT COUNT(*) FROM lookup_failure WHERE source = :s", s=source)[0][0])


def test_a_guesser_with_a_new_conversation_each_time_is_stopped_and_the_owner_is_not(
    stack: Stack, chat: Chat, db: Engine
) -> None:
    number = filed_request(chat)
    stranger = "203.0.113.50"
    for n in range(lookup_limit.MAX_PER_SOURCE):
        me = web_sender()
        assert "编号" in page_says(stack, me, "我反映的事情怎么样了", stranger)
        assert "手机号码" in page_says(stack, me, guess(n), stranger)
        assert "没有查到" in page_says(stack, me, OWNER_PHONE, stranger)
    assert failures_from(db, stranger) == lookup_limit.MAX_PER_SOURCE
    me = web_sender()
    page_says(stack, me, "我反映的事情怎么样了", stranger)
    refused = page_says(stack, me, f"{number[:4]} {number[4:]}", stranger)  # the right number, even
    assert "暂停查询" in refused and "居委会" in refused and "楼道" not in refused
    # The resident, on her own phone, reads the number off the paper with one digit misheard first.
    resident = "198.51.100.60"
    mine = web_sender()
    page_says(stack, mine, "查进度", resident)
    slip = number[:3] + str((int(number[3]) + 5) % 10) + number[4:]
    assert "对不上" in page_says(stack, mine, slip, resident)
    assert "手机号码" in page_says(stack, mine, f"{number[:4]} {number[4:]}", resident)
    assert "楼道堆物" in page_says(stack, mine, OWNER_PHONE, resident)
    assert failures_from(db, resident) == 0  # the slip cost nothing
    # … and withdraws it, with the number and the phone.
    gone = web_sender()
    page_says(stack, gone, "撤销我反映的事情", resident)
    page_says(stack, gone, number, resident)
    assert "要取消" in page_says(stack, gone, OWNER_PHONE, resident)
    assert "撤销" in page_says(stack, gone, "对", resident)
    assert rows(db, "SELECT status FROM resident_request WHERE number = :n", n=number) == [("已撤销",)]


def test_one_conversation_gets_five_tries(stack: Stack, chat: Chat, db: Engine) -> None:
    number = filed_request(chat)
    me, address = web_sender(), "203.0.113.51"
    for n in range(lookup_limit.MAX_PER_CONVERSATION):
        page_says(stack, me, "我反映的事情怎么样了", address)
        page_says(stack, me, guess(100 + n), address)
        assert "没有查到" in page_says(stack, me, OWNER_PHONE, address)
        time.sleep(3)  # a person's pace: the chat's own rate limit is test_limits.py's business
    page_says(stack, me, "我反映的事情怎么样了", address)
    assert "暂停查询" in page_says(stack, me, number, address)
    assert failures_from(db, address) == lookup_limit.MAX_PER_CONVERSATION


def test_an_address_forged_at_the_engine_is_not_believed(chat: Chat, db: Engine) -> None:
    """Straight at the engine's public webhook, metadata and all: the tries count against the
    address the request came from, never against the one it names (here a resident's)."""
    named, me = "198.51.100.61", f"forger-{uuid.uuid4().hex[:8]}"
    url = f"{chat.stack.urls['engine']}/webhooks/rest/webhook"
    for text in ("我反映的事情怎么样了", guess(200), OWNER_PHONE):
        response = chat.http.post(url, json={"sender": me, "message": text, "metadata": {"client": named}})
        assert response.status_code == 200
    assert failures_from(db, named) == 0
    assert rows(db, "SELECT source FROM lookup_failure WHERE sender_id = :s", s=me) == [("127.0.0.1",)]
