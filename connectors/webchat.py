"""The resident chat page's channel: Rasa's REST protocol under its own name, `webchat`, so the
staff console can tell web chat from other channels. The page reaches it through the app
(POST /chat/send), which keeps the page and the engine on one origin.

One addition to the REST protocol: an optional `message_id` chosen by the page for each message.
A retried delivery (the phone lost its connection and sent again) carries the same id and gets the
first delivery's answer instead of running the dialogue twice; the id is also the message id Rasa
stores, so a booking confirmed by it has one idempotency key however often it arrives."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.limits import limited
from connectors.never_silent import never_silent
from connectors.once import Once, answers_once
from connectors.rest import RestInput

MESSAGE_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")
Replies = list[dict[str, Any]]


class WebChatInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self) -> None:
        super().__init__()
        self._answers: Once[Replies] = answers_once()

    async def _run_bot(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message: UserMessage,
        collector: CollectingOutputChannel,
    ) -> Replies:
        await on_new_message(message)
        return list(collector.messages)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = never_silent(on_new_message)
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            given = str((request.json or {}).get("message_id") or "")
            message_id = given if MESSAGE_ID.fullmatch(given) else None
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender_id,
                input_channel=self.name(),
                metadata=self.get_metadata(request),
                message_id=message_id,
            )
            if message_id is None:
                return response.json(await self._run_bot(on_new_message, message, collector))
            answer, _ = await self._answers.deliver(
                f"{sender_id}:{message_id}", lambda: self._run_bot(on_new_message, message, collector)
            )
            return response.json(await asyncio.shield(answer))

        return limited(hook)
