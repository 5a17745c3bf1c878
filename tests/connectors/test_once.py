"""One answer per message: in one engine's memory, and in Redis shared by several engines (two
SharedAnswersOnce objects here stand for two engines; TEST_REDIS_URL points at a real Redis)."""

import asyncio
import os
import uuid

import pytest

from connectors.once import AnswersOnce, SharedAnswersOnce


class Bot:
    """Counts how often the dialogue really ran; each turn takes a moment, as a real one does."""

    def __init__(self) -> None:
        self.runs = 0

    async def turn(self) -> list[dict[str, str]]:
        self.runs += 1
        await asyncio.sleep(0.3)
        return [{"text": f"好的，已经登记了，编号{300000 + self.runs}。"}]


async def test_in_memory_every_delivery_gets_the_first_answer() -> None:
    once: AnswersOnce[list[dict[str, str]]] = AnswersOnce()
    bot = Bot()
    deliveries = [await once.deliver("resident-1:m1", bot.turn) for _ in range(3)]
    assert [first for _, first in deliveries] == [True, False, False]
    answers = [await answer for answer, _ in deliveries]
    assert bot.runs == 1 and answers[0] == answers[1] == answers[2]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "")
    if not url:
        pytest.skip("TEST_REDIS_URL does not point at Redis")
    return url


async def test_shared_deliveries_to_two_engines_run_the_dialogue_once(redis_url: str) -> None:
    engine_a, engine_b = SharedAnswersOnce(redis_url), SharedAnswersOnce(redis_url)
    key = f"resident-2:{uuid.uuid4().hex}"
    bot = Bot()
    deliveries = await asyncio.gather(
        engine_a.deliver(key, bot.turn), engine_b.deliver(key, bot.turn), engine_b.deliver(key, bot.turn)
    )
    assert sorted(first for _, first in deliveries) == [False, False, True]
    answers = [await answer for answer, _ in deliveries]
    late, first = await engine_a.deliver(key, bot.turn)  # a retry minutes later
    answers.append(await late)
    assert not first and bot.runs == 1
    assert all(a == [{"text": "好的，已经登记了，编号300001。"}] for a in answers)


async def test_a_claim_left_by_a_dead_engine_is_taken_over(redis_url: str) -> None:
    dead, alive = SharedAnswersOnce(redis_url), SharedAnswersOnce(redis_url)
    dead.CLAIM_SECONDS = 1  # type: ignore[misc]
    key = f"resident-3:{uuid.uuid4().hex}"
    claimed, first = await dead.deliver(key, asyncio.Event().wait)  # type: ignore[arg-type] # never answers
    assert first
    claimed.cancel()  # the engine died mid-turn
    bot = Bot()
    answer, first = await alive.deliver(key, bot.turn)
    assert not first
    assert await asyncio.wait_for(answer, timeout=5) == [{"text": "好的，已经登记了，编号300001。"}]
    assert bot.runs == 1
