"""WeChat Official Account (微信公众平台) as a Rasa input channel, plaintext mode.

WeChat calls POST /webhooks/wechat/webhook with XML and waits 5 seconds for a passive reply;
without an answer it retries the same message up to three times. So:

- every request is checked against the SHA-1 signature of sorted(token, timestamp, nonce);
- a message is handled once, by MsgId (events: FromUserName + CreateTime). A retry waits for the
  first delivery's answer and returns it, so the bot answers once and files a request once;
- if the bot needs longer than REPLY_WINDOW, WeChat gets "success" and the answer goes out through
  the customer-service message API when an app id and secret are configured;
- WeChat shows no buttons: they are listed ("可以回复：A / B / 都不是"), and a reply that names one of
  them is taken as that button's touch (its payload), as web chat and the kiosk send it.

Only plaintext mode is supported (no 安全模式 AES): configure the account in 明文模式.
"""

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from xml.etree.ElementTree import Element

import aiohttp
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.limits import BUSY, channel_limits
from connectors.never_silent import never_silent
from connectors.once import Once, answers_once
from connectors.rest import MAX_MESSAGE

logger = logging.getLogger(__name__)

REPLY_WINDOW = 4.5  # seconds; WeChat gives up at 5
LONGEST_WAIT = 14.0  # three deliveries, five seconds apart
MAX_BODY = 64 * 1024  # WeChat messages are small; anything larger is not WeChat
ONLY_TEXT_OR_VOICE = "您好，请发文字或语音，我来帮您。"
VOICE_NOT_HEARD = "不好意思，没听清您的语音。请再说一遍，或者发文字。"
GREETING_PAYLOAD = "/greet"
API_BASE = "https://api.weixin.qq.com"
OFFER_KEPT = 600.0  # seconds a reply naming a button listed is taken for that button
OFFERS_KEPT = 10_000  # residents whose listed buttons are remembered (the oldest forgotten first)
_NOT_WORDS = re.compile(r"[\s。，,.！!？?、~～]+")


def signature(token: str, timestamp: str, nonce: str) -> str:
    """The protocol's signature: SHA-1 of the three values sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def _text(element: Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None and found.text else ""


def passive_reply(*, to_user: str, from_user: str, content: str, now: int) -> str:
    def cdata(value: str) -> str:
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content></xml>"
    )


class BadMessage(ValueError):
    pass


def parse(body: bytes) -> dict[str, str]:
    if not body or len(body) > MAX_BODY:
        raise BadMessage("empty or oversized body")
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise BadMessage("malformed XML") from exc
    fields = {child.tag: (child.text or "").strip() for child in root}
    for required in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(required):
            raise BadMessage(f"missing {required}")
    return fields


def joined(messages: list[dict[str, Any]]) -> str:
    """Several bot messages in one WeChat reply; buttons become a numbered hint."""
    parts = []
    for message in messages:
        if message.get("text"):
            parts.append(message["text"])
        for pair in (message.get("custom") or {}).get("details") or []:  # a knowledge answer's details
            if isinstance(pair, list) and len(pair) == 2:
                parts.append(f"{pair[0]}：{pair[1]}")
        buttons = message.get("buttons") or []
        if buttons:
            parts.append("可以回复：" + " / ".join(b.get("title", "") for b in buttons))
    return "\n".join(p for p in parts if p)


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "WeChatInput":
        credentials = credentials or {}
        return cls(
            token=str(credentials.get("token") or ""),
            app_id=str(credentials.get("app_id") or ""),
            app_secret=str(credentials.get("app_secret") or ""),
            api_base=str(credentials.get("api_base") or API_BASE),
            aes_key=str(credentials.get("aes_key") or ""),
        )

    def __init__(
        self, token: str, app_id: str = "", app_secret: str = "", api_base: str = API_BASE, aes_key: str = ""
    ) -> None:
        if not token:
            raise ValueError("the wechat channel needs a token (WECHAT_TOKEN)")
        if aes_key:
            raise ValueError("WECHAT_AES_KEY is set, but only plaintext mode (明文模式) is supported: unset it")
        self.token = token
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self._answers: Once[str] = answers_once()
        self._offered: dict[str, tuple[float, dict[str, str]]] = {}  # resident → (when, title → payload)
        self._access_token: tuple[str, float] = ("", 0.0)

    # --- checks ---------------------------------------------------------------------------

    def _signed(self, request: Request) -> bool:
        args = {k: request.args.get(k, "") for k in ("signature", "timestamp", "nonce")}
        if not all(args.values()):
            return False
        expected = signature(self.token, args["timestamp"], args["nonce"])
        return hmac.compare_digest(expected, args["signature"])

    # --- handling one message once --------------------------------------------------------

    async def _run_bot(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        fields: dict[str, str],
        text: str,
    ) -> str:
        collector = CollectingOutputChannel()
        user = fields["FromUserName"]
        # Per sender only: every message comes from WeChat's servers, signed. Counted here, in the
        # first delivery only, so WeChat's retries of a message are not counted again (and get
        # the same answer); over the limit the answer is the kind sentence, which WeChat shows.
        if channel_limits().wait(sender=user, source=""):
            return BUSY
        text = self._chosen(user, text)
        await never_silent(on_new_message)(
            UserMessage(
                text,
                collector,
                sender_id=user,
                input_channel=self.name(),
                message_id=fields.get("MsgId") or None,
                metadata={"wechat_account": fields["ToUserName"]},
            )
        )
        self._remember(user, collector.messages)
        return joined(collector.messages)

    # --- buttons, listed in words -----------------------------------------------------------

    def _chosen(self, user: str, text: str) -> str:
        """The payload of the button just listed whose title `text` is ("都不是"), else `text`."""
        offered = self._offered.get(user)
        if offered is None or time.monotonic() - offered[0] > OFFER_KEPT:
            return text
        return offered[1].get(_NOT_WORDS.sub("", text), text)

    def _remember(self, user: str, messages: list[dict[str, Any]]) -> None:
        choices = {
            _NOT_WORDS.sub("", str(b["title"])): str(b["payload"])
            for m in messages
            for b in m.get("buttons") or []
            if b.get("title") and b.get("payload")
        }
        self._offered.pop(user, None)
        if choices:
            self._offered[user] = (time.monotonic(), choices)
            while len(self._offered) > OFFERS_KEPT:
                self._offered.pop(next(iter(self._offered)))

    def _what_to_say(self, fields: dict[str, str]) -> tuple[str | None, str | None]:
        """(text for the bot, or a fixed reply) for this message type."""
        kind = fields["MsgType"]
        if kind == "text":
            text = fields.get("Content", "")[:MAX_MESSAGE]
            return text or None, None if text else ONLY_TEXT_OR_VOICE
        if kind == "voice":
            heard = fields.get("Recognition", "")
            return (heard, None) if heard else (None, VOICE_NOT_HEARD)
        if kind == "event" and fields.get("Event", "").lower() == "subscribe":
            return GREETING_PAYLOAD, None
        if kind == "event":
            return None, ""  # other events (unsubscribe, menu views) need no answer
        return None, ONLY_TEXT_OR_VOICE

    # --- the customer-service API, for answers slower than the reply window ----------------

    async def _token(self, http: aiohttp.ClientSession) -> str:
        token, expires = self._access_token
        if token and time.monotonic() < expires:
            return token
        url = f"{self.api_base}/cgi-bin/token"
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        async with http.get(url, params=params) as reply:
            body = await reply.json(content_type=None)
        token = str(body.get("access_token") or "")
        self._access_token = (token, time.monotonic() + int(body.get("expires_in") or 7200) - 300)
        return token

    async def _send_later(self, user: str, answer: asyncio.Future[str]) -> None:
        content = await answer
        if not content:
            return
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
                token = await self._token(http)
                url = f"{self.api_base}/cgi-bin/message/custom/send"
                payload = {"touser": user, "msgtype": "text", "text": {"content": content}}
                async with http.post(url, params={"access_token": token}, json=payload) as sent:
                    body = await sent.json(content_type=None)
                    if body.get("errcode"):
                        logger.warning("wechat: customer-service message refused: errcode %s", body.get("errcode"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("wechat: could not send a late answer: %s", exc)

    # --- the webhook ----------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("wechat_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self._signed(request):
                return response.text("forbidden", status=403)
            return response.text(request.args.get("echostr", ""))

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._signed(request):
                return response.text("forbidden", status=403)
            try:
                fields = parse(request.body or b"")
            except BadMessage as exc:
                logger.warning("wechat: refused a message: %s", exc)  # no content, no user id
                return response.text("bad request", status=400)
            text, fixed = self._what_to_say(fields)
            now = int(time.time())
            if text is None:
                if not fixed:
                    return response.text("success")
                return response.text(
                    passive_reply(
                        to_user=fields["FromUserName"], from_user=fields["ToUserName"], content=fixed, now=now
                    ),
                    content_type="application/xml",
                )
            key = fields.get("MsgId") or f"{fields['FromUserName']}:{fields['CreateTime']}"
            answer, first = await self._answers.deliver(key, lambda: self._run_bot(on_new_message, fields, text))
            # With the customer-service API we answer within WeChat's window and send a slow answer
            # later ("success" stops the retries). Without it we keep waiting: WeChat drops this
            # request and retries, and the retry gets the answer once it is ready.
            can_send_later = bool(self.app_id and self.app_secret)
            try:
                window = REPLY_WINDOW if can_send_later else LONGEST_WAIT
                content = await asyncio.wait_for(asyncio.shield(answer), timeout=window)
            except asyncio.TimeoutError:
                if first and can_send_later:
                    asyncio.get_running_loop().create_task(self._send_later(fields["FromUserName"], answer))
                return response.text("success")
            return response.text(
                passive_reply(to_user=fields["FromUserName"], from_user=fields["ToUserName"], content=content, now=now),
                content_type="application/xml",
            )

        return hook
