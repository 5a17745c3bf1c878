"""A resident who speaks always hears something back. When the dialogue fails (the action server
is down or restarting, an action crashed) Rasa logs the error and sends nothing; a silent kiosk
or chat looks broken and the resident walks away. Every channel wraps its message handler in
`never_silent`, so a failed turn ends with a short apology and the resident can say it again —
the conversation and everything already answered stay in the tracker store."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

logger = logging.getLogger(__name__)

SORRY = "对不起，我这里刚才出了点问题，这句话没有办成。请过一会儿再说一遍，前面说过的我都记着。"

Handler = Callable[[UserMessage], Awaitable[Any]]


def never_silent(on_new_message: Handler) -> Handler:
    async def handle(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except Exception:  # the cause goes to the log, the resident gets the apology below
            logger.exception("the bot failed on a message from the %s channel", message.input_channel)
        output = message.output_channel
        if isinstance(output, CollectingOutputChannel) and not output.messages:
            logger.warning("no reply from the bot (%s channel): apologising", message.input_channel)
            await output.send_text_message(message.sender_id, SORRY)

    return handle
