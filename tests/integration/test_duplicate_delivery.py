"""The same web chat message delivered twice (a phone that lost its connection sends again, or a
proxy retries): one reply, one record. The page gives every message an id; the engine's webchat
channel runs the dialogue once per id and answers every delivery with the first answer."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.integration.conftest import Chat
from tests.integration.test_bookings import read_out
from tests.integration.test_conversations import rows


def deliver(chat: Chat, sender: str, text: str, message_id: str | None) -> list[dict[str, Any]]:
    body = {"sender": sender, "message": text, "message_id": message_id}
    reply = httpx.post(f"{chat.stack.urls['engine']}/webhooks/webchat/webhook", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


def test_a_confirmation_delivered_twice_at_once_files_one_request(chat: Chat, db: Engine) -> None:
    me = "web-" + uuid.uuid4().hex[:12]
    for text in ("楼道里堆满了纸板箱 走不过去", "3号楼二楼楼梯口"):
        deliver(chat, me, text, uuid.uuid4().hex)
    last = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=3) as pool:  # three deliveries of the last answer, together
        replies = list(pool.map(lambda _: deliver(chat, me, "13812345678", last), range(3)))
    assert replies[0] == replies[1] == replies[2] and "编号" in replies[0][-1]["text"]
    later = deliver(chat, me, "13812345678", last)  # and a late retry
    assert later == replies[0]
    filed = rows(db, "SELECT number FROM resident_request WHERE sender_id = :s", s=me)
    assert len(filed) == 1 and read_out(filed[0][0]) in later[-1]["text"]
    said = [e for e in chat.tracker(me)["events"] if e["event"] == "user" and e["text"] == "13812345678"]
    assert len(said) == 1 and said[0]["message_id"] == last  # the dialogue saw the message once


def test_without_an_id_each_delivery_is_a_new_message(chat: Chat) -> None:
    me = "web-" + uuid.uuid4().hex[:12]
    deliver(chat, me, "你好", None)
    deliver(chat, me, "你好", None)
    assert len([e for e in chat.tracker(me)["events"] if e["event"] == "user"]) == 2


def test_the_chat_page_passes_its_message_id_through_the_app(chat: Chat) -> None:
    me = "web-" + uuid.uuid4().hex[:12]
    same = uuid.uuid4().hex
    with httpx.Client(base_url=chat.stack.urls["app"], timeout=60) as http:
        first = http.post("/chat/send", json={"sender": me, "message": "居委会几点开门", "message_id": same})
        again = http.post("/chat/send", json={"sender": me, "message": "居委会几点开门", "message_id": same})
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        bad = http.post("/chat/send", json={"sender": me, "message": "你好", "message_id": "../x"})
        assert bad.status_code == 422
    assert len([e for e in chat.tracker(me)["events"] if e["event"] == "user"]) == 1
