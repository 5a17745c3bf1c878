"""The engine's channels under a flood, tried as a stranger would, on a real Sanic server with the
real channel blueprints; the bot is a stand-in that answers every message it is handed and counts
them. Each flood is refused (429 and the kind sentence, or WeChat's kind reply) and the rightful
caller right after is answered."""

import hashlib
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors import limits
from connectors.limits import BUSY
from connectors.rest import RestInput
from connectors.webchat import WebChatInput
from connectors.wechat import WeChatInput

TOKEN = "wechat-test-token"


class Bot:
    def __init__(self) -> None:
        self.heard: Counter[str] = Counter()

    async def __call__(self, message: UserMessage) -> None:
        self.heard[message.sender_id] += 1
        await message.output_channel.send_text_message(message.sender_id, f"好的 {message.sender_id}")


Started = Callable[..., Any]


@pytest.fixture
async def engine(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Started]:
    """start(**env) → (base url, bot): the rest, webchat and wechat channels on a Sanic server
    configured as the launcher configures the engine's (LINLI_RATE_*, SANIC_* in the environment)."""
    servers: list[Any] = []
    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps in one process (Sanic's touch-ups)

    async def start(**env: str) -> tuple[str, Bot]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        limits.channel_limits.cache_clear()  # read the environment afresh, as a new engine does
        app = Sanic(f"limits_{uuid.uuid4().hex[:8]}")
        bot = Bot()
        for channel in (RestInput(), WebChatInput(), WeChatInput(token=TOKEN)):
            app.blueprint(channel.blueprint(bot), url_prefix=f"/webhooks/{channel.name()}")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
        assert server is not None
        await server.startup()
        servers.append(server)
        return f"http://127.0.0.1:{port}", bot

    yield start
    for server in servers:
        await server.close()
    limits.channel_limits.cache_clear()


async def post(http: aiohttp.ClientSession, url: str, sender: str, **headers: str) -> tuple[int, Any]:
    async with http.post(url, json={"sender": sender, "message": "居委会几点开门"}, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_a_flooding_sender_is_refused_on_every_channel_and_another_is_answered(engine: Started) -> None:
    base, bot = await engine(LINLI_RATE_SENDER_BURST="5", LINLI_RATE_SENDER_PER_MINUTE="10")
    async with aiohttp.ClientSession() as http:
        codes = [(await post(http, f"{base}/webhooks/rest/webhook", "flooder"))[0] for _ in range(8)]
        assert codes == [200] * 5 + [429] * 3
        status, body = await post(http, f"{base}/webhooks/webchat/webhook", "flooder")  # same conversation
        assert status == 429 and body == [{"recipient_id": "flooder", "text": BUSY}]
        assert bot.heard["flooder"] == 5  # the refused never reached the bot
        status, body = await post(http, f"{base}/webhooks/rest/webhook", "neighbour")
        assert status == 200 and body == [{"recipient_id": "neighbour", "text": "好的 neighbour"}]


async def test_one_address_with_ever_new_senders_is_refused_and_other_addresses_are_not(engine: Started) -> None:
    # Behind a proxy that Sanic is told to believe (SANIC_PROXIES_COUNT), the client's address is
    # the forwarded one: here, two "addresses" from this machine.
    base, bot = await engine(LINLI_RATE_SOURCE_BURST="4", LINLI_RATE_RELAYS="", SANIC_PROXIES_COUNT="1")
    url = f"{base}/webhooks/rest/webhook"
    async with aiohttp.ClientSession() as http:
        stranger = {"X-Forwarded-For": "203.0.113.9"}
        codes = [(await post(http, url, f"stranger-{n}", **stranger))[0] for n in range(7)]
        assert codes == [200] * 4 + [429] * 3
        assert sum(bot.heard.values()) == 4
        assert (await post(http, url, "resident-1", **{"X-Forwarded-For": "198.51.100.7"}))[0] == 200


async def test_the_app_relaying_many_residents_is_limited_per_sender_only(engine: Started) -> None:
    base, bot = await engine(LINLI_RATE_SOURCE_BURST="4", LINLI_RATE_SENDER_BURST="3")  # 127.0.0.1: the app
    url = f"{base}/webhooks/webchat/webhook"
    async with aiohttp.ClientSession() as http:
        codes = [(await post(http, url, f"web-resident{n:04d}"))[0] for n in range(20)]
        assert codes == [200] * 20  # twenty residents through the app: more than one address's burst
        codes = [(await post(http, url, "web-flooder0001"))[0] for _ in range(5)]
        assert codes == [200] * 3 + [429] * 2
        assert bot.heard["web-flooder0001"] == 3


def signed() -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    return {
        "signature": hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest(),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def wechat_text(user: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[居委会几点开门]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


async def test_a_flooding_wechat_user_gets_the_kind_reply_and_retries_are_not_counted(engine: Started) -> None:
    base, bot = await engine(LINLI_RATE_SENDER_BURST="3")
    url = f"{base}/webhooks/wechat/webhook"

    async def send(http: aiohttp.ClientSession, user: str, msg_id: int) -> str:
        async with http.post(url, params=signed(), data=wechat_text(user, msg_id).encode()) as response:
            assert response.status == 200  # WeChat would retry anything else
            return await response.text()

    async with aiohttp.ClientSession() as http:
        first = await send(http, "o-flooder", 1)
        for _ in range(3):  # WeChat delivering message 1 again: the same answer, not counted
            assert await send(http, "o-flooder", 1) == first
        replies = [await send(http, "o-flooder", n) for n in range(2, 6)]
        assert "好的 o-flooder" in first and all("好的" in r for r in replies[:2])
        assert all(BUSY in r for r in replies[2:])
        assert bot.heard["o-flooder"] == 3
        assert "好的 o-neighbour" in await send(http, "o-neighbour", 100)


async def test_a_body_over_the_engines_limit_is_refused_and_a_normal_message_answered(engine: Started) -> None:
    base, bot = await engine(SANIC_REQUEST_MAX_SIZE="65536")  # bot/launcher.py sets 4 MB
    url = f"{base}/webhooks/rest/webhook"
    async with aiohttp.ClientSession() as http:
        huge = {"sender": "stranger", "message": "长" * 100_000}
        async with http.post(url, json=huge) as response:
            assert response.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            yield b'{"sender": "stranger", "message": "'
            for _ in range(4):
                yield b"x" * 32768
            yield b'"}'

        async with http.post(url, data=chunks(), headers={"Content-Type": "application/json"}) as response:
            assert response.status == 413
        assert not bot.heard
        assert (await post(http, url, "resident-1"))[0] == 200
