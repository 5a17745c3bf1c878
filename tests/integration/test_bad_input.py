"""Bad input over the real channels: empty, whitespace, 10,000 characters, emoji only, control
characters, mixed Chinese/English, traditional characters, SQL and HTML fragments. Each gets a
sensible reply (never a 500), the conversation goes on afterwards, a form keeps what it already
had, and the staff console shows the words as text, never as HTML."""

import uuid

import httpx
import pytest
from sqlalchemy import Engine

from tests.integration.conftest import Chat
from tests.integration.test_conversations import new_sender, rows

BAD_INPUT = {
    "empty": "",
    "whitespace": "   \t \n ",
    "10k characters": "我要叫车去医院" * 1429,
    "emoji only": "😀👍🙏🚕",
    "control characters": "居委会\x00\x07几点\x1b[31m开门\x7f",
    "mixed Chinese/English": "hello 我想 book a taxi 去 hospital please",
    "traditional characters": "請問居委會幾點開門",
    "SQL fragment": "'; DROP TABLE taxi_booking; --",
    "HTML fragment": "<script>alert('x')</script><b>居委会</b>",
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUT))
def test_bad_input_gets_a_reply_and_the_conversation_goes_on(chat: Chat, kind: str) -> None:
    me = new_sender()
    replies = chat.texts(me, BAD_INPUT[kind])  # asserts HTTP 200
    assert replies and all(r.strip() for r in replies), f"{kind}: no reply"
    assert any("居委会" in r for r in chat.texts(me, "居委会几点开门")), f"{kind}: the conversation broke"


@pytest.mark.parametrize("kind", sorted(BAD_INPUT))
def test_bad_input_in_the_middle_of_a_form_loses_nothing(chat: Chat, kind: str) -> None:
    me = new_sender()
    chat.texts(me, "帮我叫部车去六院")
    chat.texts(me, "13812345678")
    replies = chat.texts(me, BAD_INPUT[kind])
    assert replies and all(r.strip() for r in replies), f"{kind}: no reply"
    slots = chat.tracker(me)["slots"]
    assert slots["taxi_phone"] == "13812345678" and slots["taxi_destination"] == "六院", kind


def test_the_web_chat_never_answers_with_a_server_error(chat: Chat) -> None:
    with httpx.Client(base_url=chat.stack.urls["app"], timeout=60) as http:
        for kind, text in BAD_INPUT.items():
            sender = "web-" + uuid.uuid4().hex[:12]
            response = http.post("/chat/send", json={"sender": sender, "message": text})
            assert response.status_code < 500, (kind, response.text[:200])
            if response.status_code == 200:
                assert any(m.get("text") for m in response.json()), kind
            else:  # refused before it reaches the bot, with a reason in Chinese
                assert response.status_code == 422 and "请" in response.text, (kind, response.text[:200])


def test_the_staff_console_shows_html_as_text(chat: Chat, staff: httpx.Client) -> None:
    me = new_sender()
    chat.texts(me, BAD_INPUT["HTML fragment"])
    page = staff.get(f"/staff/conversations/{me}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text


FALL = (
    "救命，我摔倒了起不来。今天早上起床去卫生间的时候，脚下一滑，就摔在地上了，腰很痛，动不了，家里只有我一个人，"
    "儿子在外地上班，手机在床头柜上，我是爬过去拿的，现在躺在地上，请你们快点来帮帮我，我住在五号楼六楼602室。"
)


def test_an_emergency_in_a_very_long_message_is_still_recorded(chat: Chat, db: Engine) -> None:
    """Longer than any resident says at once: the engine's channels hand the bot the first 1,000
    characters (connectors/rest.py, MAX_MESSAGE), and the emergency in them is recorded."""
    me = new_sender()
    replies = chat.texts(me, FALL * 20)
    assert any("120" in r for r in replies), replies
    stored = rows(db, "SELECT message FROM alert WHERE sender_id = :s", s=me)
    assert len(stored) == 1 and stored[0][0].startswith("救命") and len(stored[0][0]) == 1000
