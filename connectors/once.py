"""One answer per resident message, however often it is delivered. A network retry of the same
message (same sender, same message id) must not run the dialogue twice — it would file a second
request or read "对" twice — so the first delivery runs the bot and every delivery, earlier or
later, gets that first answer. Kept in the engine's memory for the last REMEMBERED messages."""

import asyncio
from collections import OrderedDict
from typing import Generic, TypeVar

REMEMBERED = 2048
Answer = TypeVar("Answer")


class AnswersOnce(Generic[Answer]):
    def __init__(self, remembered: int = REMEMBERED) -> None:
        self.remembered = remembered
        self._answers: OrderedDict[str, asyncio.Future[Answer]] = OrderedDict()

    def answer_for(self, key: str) -> tuple[asyncio.Future[Answer], bool]:
        """The future holding the answer to message `key`, and whether this delivery is the first."""
        if key in self._answers:
            return self._answers[key], False
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        while len(self._answers) > self.remembered:
            self._answers.popitem(last=False)
        return future, True
