"""The residents' chat page at /chat/ and its one endpoint. The page posts here; the app passes
the message to the engine's `webchat` channel (connectors/webchat.py) and returns the replies, so
the phone only ever talks to one address. Messages are rate-limited per sender and per client
address (bot/api/limits.py): over the limit, 429 with a kind sentence the page shows as a pause."""

import re
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from bot.api import limits
from bot.api.clients import ClientsDep
from bot.api.staff import TEMPLATES
from bot.config import get_settings

router = APIRouter(prefix="/chat", tags=["chat"])

SENDER = re.compile(r"^web-[0-9a-z]{8,40}$")


@router.get("/", include_in_schema=False)
def chat_page(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(request, "chat.html", {})


MAX_MESSAGE = 1000  # characters; a resident's message is a sentence or two
# Pasted text can carry control characters (NUL included, which PostgreSQL cannot store): they
# mean nothing to the bot, so they are dropped and the rest is answered.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ChatIn(BaseModel):
    sender: str = Field(description="the page's own id, web-…, kept in the phone's storage")
    message: str = Field(max_length=100_000)  # longer than MAX_MESSAGE is refused below, in Chinese
    # The page's id for this message: a resend after a lost connection carries the same one and
    # gets the first answer (the engine's webchat channel handles each id once).
    message_id: str | None = Field(default=None, pattern=r"^[0-9A-Za-z-]{8,64}$")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not SENDER.fullmatch(value):
            raise ValueError("sender must look like web-<8 to 40 lowercase letters or digits>")
        return value


def relay_headers() -> dict[str, str]:
    """Tells the engine's channel that the `client` in the metadata is the app's word for where the
    resident is (connectors/rest.py believes it only with the service token)."""
    return {"X-Linli-Relay": get_settings().service_token}


@router.post("/send")
async def send(body: ChatIn, request: Request, clients: ClientsDep) -> list[dict[str, Any]]:
    text = CONTROL_CHARACTERS.sub("", body.message).strip()
    if not text:
        raise HTTPException(status_code=422, detail="请先写点什么再发送。")
    if len(text) > MAX_MESSAGE:
        raise HTTPException(status_code=422, detail=f"这条消息太长了，请分几次发，每次不超过{MAX_MESSAGE}个字。")
    wait = limits.wait(limits.resident_limits(request).chat, sender=body.sender, connection=request)
    if wait:
        raise HTTPException(status_code=429, detail=limits.BUSY, headers=limits.retry_after(wait))
    url = f"{get_settings().engine_url.rstrip('/')}/webhooks/webchat/webhook"
    try:
        sent = {
            "sender": body.sender,
            "message": text,
            "message_id": body.message_id,
            "metadata": {"client": limits.client_address(request)},
        }
        reply = await clients.engine.post(url, json=sent, headers=relay_headers())
        if reply.status_code == 429:  # the engine's own limit (connectors/limits.py)
            headers = {"Retry-After": reply.headers.get("Retry-After", "10")}
            raise HTTPException(status_code=429, detail=limits.BUSY, headers=headers)
        reply.raise_for_status()
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=503, detail="对不起，助手暂时没有反应，请稍后再试。") from exc
    messages: list[dict[str, Any]] = reply.json()
    return messages
