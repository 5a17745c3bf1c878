"""One answer per resident message, however often it is delivered. A network retry of the same
message (same sender, same message id) must not run the dialogue twice — it would file a second
request or read "对" twice — so the first delivery runs the bot and every delivery, earlier or
later, gets that first answer.

Kept in the engine's memory (the last REMEMBERED messages), or, when LINLI_REDIS_URL is set, in
Redis, shared by every engine behind the load balancer: there a retry may reach another engine."""

import asyncio
import json
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

REMEMBERED = 2048
Answer = TypeVar("Answer")


class Once(Protocol[Answer]):
    async def deliver(self, key: str, run: Callable[[], Awaitable[Answer]]) -> tuple[asyncio.Future[Answer], bool]:
        """The answer to message `key` (to await), and whether this delivery is the one that runs it."""
        ...


def _settle(future: asyncio.Future[Any], done: asyncio.Future[Any]) -> None:
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())


class AnswersOnce(Generic[Answer]):
    """In this engine's memory: for one engine."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self.remembered = remembered
        self._answers: OrderedDict[str, asyncio.Future[Answer]] = OrderedDict()

    async def deliver(self, key: str, run: Callable[[], Awaitable[Answer]]) -> tuple[asyncio.Future[Answer], bool]:
        if key in self._answers:
            return self._answers[key], False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._answers[key] = future
        while len(self._answers) > self.remembered:
            self._answers.popitem(last=False)
        # A task of its own: a delivery whose connection drops must not stop the dialogue.
        loop.create_task(run()).add_done_callback(lambda done: _settle(future, done))  # type: ignore[arg-type]
        return future, True


PENDING = b"pending"


class SharedAnswersOnce(Generic[Answer]):
    """In Redis, for several engines. The first delivery claims the message (SET NX) and stores its
    answer (JSON); the others wait for it. A claim lapses after CLAIM_SECONDS, so if the engine
    that took it dies mid-turn, a later delivery takes the message over instead of waiting forever."""

    CLAIM_SECONDS = 90  # longer than any turn
    ANSWER_SECONDS = 3600  # retries come within minutes
    POLL_SECONDS = 0.1

    def __init__(self, url: str) -> None:
        import redis.asyncio  # the engine's environment has it (Rasa's Redis lock store)

        self.redis = redis.asyncio.from_url(url)

    async def deliver(self, key: str, run: Callable[[], Awaitable[Answer]]) -> tuple[asyncio.Future[Answer], bool]:
        name = f"linli:once:{key}"
        first = bool(await self.redis.set(name, PENDING, nx=True, ex=self.CLAIM_SECONDS))
        loop = asyncio.get_running_loop()
        job = self._run_and_share(name, run) if first else self._wait_for(name, run)
        return loop.create_task(job), first

    async def _run_and_share(self, name: str, run: Callable[[], Awaitable[Answer]]) -> Answer:
        answer = await run()
        await self.redis.set(name, json.dumps(answer, ensure_ascii=False), ex=self.ANSWER_SECONDS)
        return answer

    async def _wait_for(self, name: str, run: Callable[[], Awaitable[Answer]]) -> Answer:
        while True:
            value = await self.redis.get(name)
            if value is None and await self.redis.set(name, PENDING, nx=True, ex=self.CLAIM_SECONDS):
                return await self._run_and_share(name, run)  # the first claim lapsed: ours now
            if value is not None and value != PENDING:
                answer: Answer = json.loads(value)
                return answer
            await asyncio.sleep(self.POLL_SECONDS)


def answers_once() -> "Once[Any]":
    url = os.environ.get("LINLI_REDIS_URL", "")
    return SharedAnswersOnce(url) if url else AnswersOnce()
