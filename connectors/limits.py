"""Rate limits on the engine's channels, per sender and per source (the client's address), with
the app's algorithm (bot/ratelimit.py, standard library only). Over the limit a message is not
handed to the bot: the REST-style channels (rest, webchat, kiosk) answer HTTP 429 with the kind
sentence as the bot's one message; WeChat, which would retry a 429, gets the sentence as its reply.

One set of counters for all channels of this engine process (a conversation is one sender id
whichever channel it comes through); several engines each count their own share.

Settings, from the environment (defaults in brackets):
  LINLI_RATE_SENDER_PER_MINUTE [40], LINLI_RATE_SENDER_BURST [25]   one conversation
  LINLI_RATE_SOURCE_PER_MINUTE [120], LINLI_RATE_SOURCE_BURST [60]  one client address
  LINLI_RATE_RELAYS ["127.0.0.1,::1"]  addresses that pass on many residents' messages, i.e. the
      app (the chat page and the kiosk reach the engine through it, and it limits their own
      addresses already): counted per sender only.
The app's limits are tighter than these, so a resident of the chat page or the kiosk meets the
app's (kinder, in the page) answer first; these guard the webhooks that strangers can reach.
"""

import logging
import os
import time
from functools import lru_cache
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.ratelimit import Limits, Rate

logger = logging.getLogger(__name__)

BUSY = "说得太快了，请稍等一下再说。"


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        logger.warning("%s=%r is not a number: using %s", name, value, default)
        return default


def client_address(request: Request) -> str:
    """The address of the client that sent this request: the one place the engine decides it.
    Sanic's `remote_addr` when its proxy settings (SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER or
    SANIC_FORWARDED_SECRET) say which forwarding header to believe, else the connection's peer."""
    return str(request.remote_addr or request.ip or "")


class ChannelLimits:
    def __init__(self, *, sender: Rate, source: Rate, relays: set[str]) -> None:
        self.limits = Limits(sender=sender, source=source)
        self.relays = relays

    @classmethod
    def from_environment(cls) -> "ChannelLimits":
        relays = os.environ.get("LINLI_RATE_RELAYS", "127.0.0.1,::1")
        return cls(
            sender=Rate(_number("LINLI_RATE_SENDER_PER_MINUTE", 40), int(_number("LINLI_RATE_SENDER_BURST", 25))),
            source=Rate(_number("LINLI_RATE_SOURCE_PER_MINUTE", 120), int(_number("LINLI_RATE_SOURCE_BURST", 60))),
            relays={address.strip() for address in relays.split(",") if address.strip()},
        )

    def wait(self, *, sender: str, source: str) -> float:
        """0 to go ahead (counted); else the seconds to wait."""
        return self.limits.wait(sender=sender, source="" if source in self.relays else source, now=time.monotonic())

    def refusal(self, request: Request) -> HTTPResponse | None:
        """None to hand the message on; else the 429 to answer instead."""
        sender = _sender(request)
        wait = self.wait(sender=sender, source=client_address(request))
        if not wait:
            return None
        return response.json(
            [{"recipient_id": sender, "text": BUSY}],
            status=429,
            headers={"Retry-After": str(max(1, round(wait)))},
            ensure_ascii=False,
        )


def _sender(request: Request) -> str:
    try:
        body: Any = request.json
    except Exception:  # not JSON: the channel itself answers that; only the address is counted
        return ""
    sender = body.get("sender") if isinstance(body, dict) else None
    return str(sender)[:128] if sender else ""


@lru_cache
def channel_limits() -> ChannelLimits:
    """This engine's counters, shared by its channels."""
    return ChannelLimits.from_environment()


def limited(hook: Blueprint, limits: ChannelLimits | None = None) -> Blueprint:
    """The blueprint with every message POSTed to its /webhook counted before the channel sees it."""
    chosen = limits or channel_limits()

    @hook.middleware("request")
    async def count(request: Request) -> HTTPResponse | None:
        if request.method == "POST" and request.path.rstrip("/").endswith("/webhook"):
            return chosen.refusal(request)
        return None

    return hook
