"""The WeChat channel on the running engine, with WeChat-format XML and signatures computed as
the protocol specifies (SHA-1 of the sorted token, timestamp and nonce)."""

import hashlib
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import Engine

from tests.integration.conftest import WECHAT_TOKEN, Chat
from tests.integration.test_conversations import rows

ACCOUNT = "gh_linli_test"


def signed(token: str = WECHAT_TOKEN) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    digest = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": digest, "timestamp": timestamp, "nonce": nonce}


def message(user: str, kind: str, body: str, msg_id: str | None = None) -> str:
    msg = f"<MsgId>{msg_id or uuid.uuid4().int % 10**18}</MsgId>" if kind != "event" else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{body}{msg}</xml>"
    )


def text(user: str, content: str, msg_id: str | None = None) -> str:
    return message(user, "text", f"<Content><![CDATA[{content}]]></Content>", msg_id)


class WeChat:
    def __init__(self, chat: Chat) -> None:
        self.url = f"{chat.stack.urls['engine']}/webhooks/wechat/webhook"
        self.http = httpx.Client(timeout=30)

    def post(self, xml: str, params: dict[str, str] | None = None) -> httpx.Response:
        query = signed() if params is None else params
        return self.http.post(self.url, params=query, content=xml.encode(), headers={"Content-Type": "text/xml"})

    def say(self, user: str, content: str) -> str:
        response = self.post(text(user, content))
        assert response.status_code == 200, response.text
        reply = ElementTree.fromstring(response.text)
        assert reply.findtext("ToUserName") == user and reply.findtext("FromUserName") == ACCOUNT
        assert reply.findtext("MsgType") == "text"
        return reply.findtext("Content") or ""


@pytest.fixture(scope="module")
def wechat(chat: Chat) -> WeChat:
    return WeChat(chat)


def openid() -> str:
    return f"o{uuid.uuid4().hex[:20]}"


def test_server_verification_echoes_only_with_the_right_signature(wechat: WeChat) -> None:
    good = wechat.http.get(wechat.url, params={**signed(), "echostr": "12345abc"})
    assert good.status_code == 200 and good.text == "12345abc"
    bad = wechat.http.get(wechat.url, params={**signed("wrong-token"), "echostr": "12345abc"})
    assert bad.status_code == 403


def test_text_voice_subscribe_and_other_types(wechat: WeChat) -> None:
    user = openid()
    assert wechat.say(user, "居委会几点开门").startswith("居委会")
    voice = wechat.post(
        message(user, "voice", "<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>"
                "<Recognition><![CDATA[加装电梯要多少人同意]]></Recognition>")
    )  # fmt: skip
    assert "同意" in ElementTree.fromstring(voice.text).findtext("Content", "")
    welcome = wechat.post(message(openid(), "event", "<Event><![CDATA[subscribe]]></Event>"))
    assert "邻里助手" in ElementTree.fromstring(welcome.text).findtext("Content", "")
    picture = wechat.post(message(user, "image", "<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl>"))
    assert "文字或语音" in ElementTree.fromstring(picture.text).findtext("Content", "")


def test_a_retried_message_is_answered_once_and_recorded_once(wechat: WeChat, chat: Chat, db: Engine) -> None:
    user, msg_id = openid(), str(uuid.uuid4().int % 10**18)
    xml = text(user, "我摔倒了 起不来", msg_id)
    with ThreadPoolExecutor(max_workers=3) as pool:  # WeChat's retries, arriving while the first runs
        replies = list(pool.map(lambda _: wechat.post(xml), range(3)))
    contents = {ElementTree.fromstring(r.text).findtext("Content") for r in replies}
    assert len(contents) == 1 and "120" in contents.pop()
    assert rows(db, "SELECT kind FROM alert WHERE sender_id = :s", s=user) == [("急病受伤",)]
    said = [e for e in chat.tracker(user)["events"] if e["event"] == "user"]
    assert len(said) == 1 and said[0]["message_id"] == msg_id


def test_bad_requests_are_refused(wechat: WeChat) -> None:
    user = openid()
    assert wechat.post(text(user, "你好"), params=signed("wrong-token")).status_code == 403
    assert wechat.post(text(user, "你好"), params={}).status_code == 403
    assert wechat.post("<xml><ToUserName>broken").status_code == 400
    assert wechat.post("<xml><MsgType>text</MsgType></xml>").status_code == 400  # fields missing
    assert wechat.post(text(user, "长" * 70_000)).status_code == 400
    entities = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><ToUserName>&a;</ToUserName></xml>'
    assert wechat.post(entities).status_code == 400  # no entity expansion


def test_a_taxi_booked_on_wechat_is_found_by_its_owner_only(wechat: WeChat) -> None:
    owner = openid()
    for said in ("明天上午九点帮我叫部车去六院", "13812345678", "五号楼门口", "一个人", "不用"):
        wechat.say(owner, said)
    booked = wechat.say(owner, "对的")
    number = re.search(r"编号(\d{4} \d{4})", booked).group(1)  # type: ignore[union-attr]  # as it is read out
    status = wechat.say(owner, "我叫的车到哪里了")
    assert number in status and "六院" in status
    stranger = openid()
    assert "编号" in wechat.say(stranger, "我叫的车到哪里了")  # nothing of theirs: asks for a number
    assert "手机号码" in wechat.say(stranger, number)
    refused = wechat.say(stranger, "13900000000")
    assert "没有查到" in refused and "六院" not in refused


def test_a_listed_button_named_in_a_reply_is_that_button(wechat: WeChat, db: Engine) -> None:
    """WeChat shows no buttons: "都不是" written back after "您是想问……？" is the 都不是 button —
    no second question for the knowledge base, the callback offered."""
    user = openid()
    offer = wechat.say(user, "我想问问那个补贴")
    assert "您是想问" in offer and re.search(r"可以回复：.+ / 都不是$", offer), offer
    neither = wechat.say(user, "都不是。")
    assert "还不知道" in neither and "请工作人员打电话" in neither, neither
    asked = rows(db, "SELECT outcome FROM knowledge_question WHERE sender_id = :s", s=user)
    assert asked == [("asked_which",)]  # 都不是 was not matched as a question of its own
    # words that name no button listed are words as ever: a question for the knowledge base
    wechat.say(user, "补贴怎么申请")
    assert len(rows(db, "SELECT outcome FROM knowledge_question WHERE sender_id = :s", s=user)) == 2
