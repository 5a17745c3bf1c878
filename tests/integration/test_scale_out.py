"""Two engines and two action servers behind nginx (round robin), sharing the PostgreSQL tracker
store and a Redis lock store, as bot/scale_out.py runs them: a conversation whose turns alternate
between the engines stays coherent, a retried web chat message is answered once even when the
retry reaches the other engine, and killing one engine under load loses no confirmed booking."""

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.db import make_engine
from bot.scale_out import NGINX, ScaledStack
from tests.databases import fresh_database
from tests.integration.conftest import PORT_OFFSET, run_in_own_loop
from tests.integration.test_bookings import read_out
from tests.integration.test_conversations import new_sender, rows

TAXI = ["明天上午九点帮我叫部车去六院", "13812345678", "五号楼门口", "两个人", "要带轮椅", "对"]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledStack]:
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the engines share PostgreSQL: TEST_DATABASE_URL does not point at it")
    if not os.environ.get("TEST_REDIS_URL"):
        pytest.skip("the engines share Redis: TEST_REDIS_URL is unset")
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (make test installs it)")
    tmp: Path = tmp_path_factory.mktemp("scaled")
    with (
        fresh_database("postgresql", tmp) as url,
        ScaledStack(
            database_url=url,
            redis_url=os.environ["TEST_REDIS_URL"],
            engines=2,
            front_port=5705 + PORT_OFFSET,
            engine_port=5710 + PORT_OFFSET,
            actions_port=5760 + PORT_OFFSET,
            app_port=8705 + PORT_OFFSET,
            run_dir=tmp,
            secrets_file=tmp / "secrets.env",
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def db(scaled: ScaledStack) -> Iterator[Engine]:
    engine = make_engine(scaled.database_url)
    yield engine
    engine.dispose()


def say(url: str, sender: str, text: str, channel: str = "rest", **extra: Any) -> list[dict[str, Any]]:
    body = {"sender": sender, "message": text, **extra}
    response = httpx.post(f"{url}/webhooks/{channel}/webhook", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json())


def joined(replies: list[dict[str, Any]]) -> str:
    return " ".join(m.get("text", "") for m in replies)


def test_a_conversation_alternating_between_engines_stays_coherent(scaled: ScaledStack, db: Engine) -> None:
    me = new_sender()
    a, b = scaled.engine_urls
    replies = [joined(say((a, b)[i % 2], me, text)) for i, text in enumerate(TAXI)]
    assert "手机号码" in replies[0] and "上车" in replies[1] and "几位" in replies[2] and "轮椅" in replies[3]
    # the read-back on engine B holds what was said to engine A, and the other way round
    assert "六院" in replies[4] and "五号楼门口" in replies[4] and "对吗" in replies[4]
    assert "编号" in replies[5]
    ((number, phone, passengers),) = rows(
        db, "SELECT number, phone, passengers FROM taxi_booking WHERE sender_id = :s", s=me
    )
    assert read_out(number) in replies[5] and (phone, passengers) == ("13812345678", 2)
    # and through nginx, round robin: the same conversation goes on, whichever engine answers
    assert read_out(number) in joined(say(scaled.front_url, me, "我叫的车到哪里了"))
    assert read_out(number) in joined(say(scaled.front_url, me, "我叫的车到哪里了"))
    # nginx writes a request's log line after the response has gone out: read until both are in
    engines = {f"127.0.0.1:{s.engine_port}" for s in scaled.stacks}
    deadline = time.monotonic() + 5
    while True:
        log = (scaled.run_dir / "nginx" / "nginx-access.log").read_text(encoding="utf-8")
        used = {line.split("upstream=")[1].split()[0] for line in log.splitlines() if "upstream=" in line}
        if engines <= used or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert engines <= used


def test_a_retry_reaching_the_other_engine_is_answered_once(scaled: ScaledStack, db: Engine) -> None:
    me = "web-" + uuid.uuid4().hex[:12]
    a, b = scaled.engine_urls
    for text in ("楼道里堆满了纸板箱 走不过去", "3号楼二楼楼梯口"):
        say(a, me, text, "webchat", message_id=uuid.uuid4().hex)
    last = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=4) as pool:  # the same message to both engines, at once
        replies = list(pool.map(lambda url: say(url, me, "13812345678", "webchat", message_id=last), [a, b, a, b]))
    assert all(r == replies[0] for r in replies) and "编号" in joined(replies[0])
    assert len(rows(db, "SELECT id FROM resident_request WHERE sender_id = :s", s=me)) == 1
    tracker = httpx.get(scaled.stacks[1].engine_api(f"/conversations/{me}/tracker"), timeout=30).json()
    assert [e["message_id"] for e in tracker["events"] if e["event"] == "user" and e["text"] == "13812345678"] == [last]


async def resident(http: httpx.AsyncClient, url: str, sender: str, turns: list[str]) -> tuple[str, int]:
    """A taxi conversation through nginx that, like a person, says a turn again when the answer
    did not come (an engine died under it) or the bot asked for it again. (last reply, retries)"""
    retries = 0
    reply = ""
    for said in turns:
        for _ in range(10):
            try:
                response = await http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": said})
                ok = response.status_code == 200
                reply = joined(response.json()) if ok else ""
            except httpx.HTTPError:
                ok = False
            if ok and "再说一遍" not in reply:
                break
            retries += 1
            await asyncio.sleep(0.5)
    return reply, retries


def test_killing_one_engine_under_load_loses_no_confirmed_booking(scaled: ScaledStack, db: Engine) -> None:
    senders = [new_sender() for _ in range(12)]

    async def load() -> list[tuple[str, int]]:
        async with httpx.AsyncClient(timeout=120) as http:
            talking = asyncio.gather(*(resident(http, scaled.front_url, s, TAXI) for s in senders))
            await asyncio.sleep(3)  # every resident is in the middle of the form
            await asyncio.to_thread(scaled.kill_engine, 1)
            return list(await talking)

    outcomes = run_in_own_loop(load())
    for sender, (final, _) in zip(senders, outcomes, strict=True):
        booked = rows(db, "SELECT number FROM taxi_booking WHERE sender_id = :s", s=sender)
        assert "编号" in final, (sender, final)  # the surviving engine finished every conversation
        assert len(booked) == 1 and read_out(booked[0][0]) in final, (sender, final, booked)
    print(f"retries by residents after the engine died: {sum(r for _, r in outcomes)}")


def test_nginx_forwards_only_the_channel_webhooks(scaled: ScaledStack) -> None:
    token = {"token": scaled.stacks[0].secrets["ENGINE_API_TOKEN"]}
    for path in ("/status", "/model/parse", "/conversations/someone/tracker", "/model", "/"):
        # not even with the token: the engines' API is for the private network, not the front door
        assert httpx.get(f"{scaled.front_url}{path}", params=token, timeout=30).status_code == 404, path
    assert joined(say(scaled.front_url, new_sender(), "居委会几点开门"))  # residents' turns still go through
