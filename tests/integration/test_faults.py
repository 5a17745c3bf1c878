"""Faults while residents talk, each ending in "nothing lost, nothing duplicated": the action
server killed mid-form, the app gone when a booking is confirmed, the engine restarted mid-form,
PostgreSQL restarted under load. (The same message delivered twice: test_duplicate_delivery.py.)"""

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from bot.launcher import Stack
from tests.integration.conftest import Chat, run_in_own_loop
from tests.integration.test_conversations import new_sender, rows

SORRY_WORDS = "出了点问题"  # connectors/never_silent.py
TAXI = ["明天上午九点帮我叫部车去六院", "13812345678", "五号楼门口", "一个人", "不要", "对"]


def joined(chat: Chat, sender: str, text: str) -> str:
    return " ".join(chat.texts(sender, text))


def bookings(db: Engine, sender: str) -> list[tuple[object, ...]]:
    return rows(db, "SELECT phone, pickup, passengers FROM taxi_booking WHERE sender_id = :s", s=sender)


def test_action_server_killed_mid_form_apologises_and_the_form_carries_on(stack: Stack, chat: Chat, db: Engine) -> None:
    me = new_sender()
    assert "手机号码" in joined(chat, me, TAXI[0])
    assert "上车" in joined(chat, me, TAXI[1])
    actions = stack.processes["actions"]
    os.killpg(actions.pid, signal.SIGKILL)
    actions.wait()
    try:
        during = chat.texts(me, TAXI[2])
        assert len(during) == 1 and SORRY_WORDS in during[0] and "再说一遍" in during[0]
        assert bookings(db, me) == []  # no half-written booking
    finally:
        stack.processes.pop("actions")
        stack.start_actions()
        stack.wait_until_ready()
    # said again: the phone given before the fault is still there, the next question follows
    assert "几位" in joined(chat, me, TAXI[2])
    for said in TAXI[3:-1]:
        chat.texts(me, said)
    assert "编号" in joined(chat, me, TAXI[-1])
    assert bookings(db, me) == [("13812345678", "五号楼门口", 1)]


def test_app_gone_at_the_confirmation_keeps_a_callback_that_staff_see_when_it_is_back(
    stack: Stack, chat: Chat, db: Engine
) -> None:
    me = new_sender()
    for said in TAXI[:-1]:
        reply = joined(chat, me, said)
    assert "对吗" in reply
    stack.stop("app")
    try:
        answer = joined(chat, me, "对的")
        assert "没能存进去" in answer and "打电话" in answer
        assert stack.outbox.exists()
    finally:
        stack.start_app()
        stack.wait_until_ready()
    deadline = time.monotonic() + 20  # the action server retries every second in these tests
    while not (kept := rows(db, "SELECT phone, message, status FROM handoff_request WHERE sender_id = :s", s=me)):
        assert time.monotonic() < deadline, "the kept callback never reached the app"
        time.sleep(0.5)
    ((phone, message, status),) = kept
    assert (phone, status) == ("13812345678", "待回电")
    assert "叫出租车" in message and "五号楼门口" in message and "六院" in message
    assert bookings(db, me) == []  # told it was not saved, so it is not booked behind the resident's back
    time.sleep(2)
    assert len(rows(db, "SELECT id FROM handoff_request WHERE sender_id = :s", s=me)) == 1


def test_engine_restarted_mid_form_resumes_from_the_tracker_store(stack: Stack, chat: Chat, db: Engine) -> None:
    me = new_sender()
    for said in TAXI[:3]:
        chat.texts(me, said)
    stack.stop("engine")
    stack.start_engine()
    stack.wait_until_ready()
    assert "轮椅" in joined(chat, me, TAXI[3])  # the form goes on at the question it had reached
    chat.texts(me, TAXI[4])
    assert "编号" in joined(chat, me, TAXI[5])
    assert bookings(db, me) == [("13812345678", "五号楼门口", 1)]


def postgres_cluster() -> list[str] | None:
    """The command that restarts the local PostgreSQL (Debian's pg_ctlcluster, as root)."""
    versions = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").exists() else []
    if not versions or not shutil.which("pg_ctlcluster") or os.geteuid() != 0:
        return None
    version = versions[-1].parent.name
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "--mode", "fast"]


async def resident(http: httpx.AsyncClient, engine: str, sender: str, failures: list[str]) -> str:
    """A taxi conversation that, like a person, says a turn again when told to."""
    reply = ""
    for said in TAXI:
        for _ in range(20):
            response = await http.post(f"{engine}/webhooks/rest/webhook", json={"sender": sender, "message": said})
            reply = " ".join(m.get("text", "") for m in response.json()) if response.status_code == 200 else ""
            if response.status_code == 200 and "再说一遍" not in reply:
                break
            failures.append(f"{response.status_code} {reply}")
            await asyncio.sleep(0.5)
    return reply


def test_postgres_restarted_under_load_loses_nothing_confirmed(stack: Stack, db: Engine) -> None:
    if not stack.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    restart = postgres_cluster()
    if restart is None:
        pytest.skip("needs Debian's pg_ctlcluster and root to restart PostgreSQL")
    senders = [new_sender() for _ in range(8)]
    failures: list[str] = []

    async def load() -> list[str]:
        async with httpx.AsyncClient(timeout=60) as http:
            talking = asyncio.gather(*(resident(http, stack.urls["engine"], s, failures) for s in senders))
            await asyncio.sleep(1.5)  # residents are mid-conversation
            started = rows(db, "SELECT pg_postmaster_start_time()")[0][0]
            await asyncio.to_thread(subprocess.run, restart, check=True, capture_output=True)
            assert rows(db, "SELECT pg_postmaster_start_time()")[0][0] != started
            return list(await talking)

    finals = run_in_own_loop(load())
    for sender, final in zip(senders, finals, strict=True):
        booked = bookings(db, sender)
        kept = rows(db, "SELECT id FROM handoff_request WHERE sender_id = :s", s=sender)
        if "编号" in final:  # confirmed as booked: exactly one booking
            assert len(booked) == 1 and kept == [], (sender, final)
        elif "没能存进去" not in final:  # not finished: nothing confirmed, so nothing may be saved
            assert booked == [] and kept == [], (sender, final)
        else:  # told it was kept for a callback: one callback once delivered, no booking
            assert booked == [], (sender, final)
            deadline = time.monotonic() + 20
            while not kept and time.monotonic() < deadline:
                time.sleep(0.5)
                kept = rows(db, "SELECT id FROM handoff_request WHERE sender_id = :s", s=sender)
            assert len(kept) == 1, (sender, final)
    # and once PostgreSQL is back, a new conversation goes through from start to booking
    later = new_sender()
    final = run_in_own_loop(resident_once(stack, later))
    assert "编号" in final and len(bookings(db, later)) == 1, final


async def resident_once(stack: Stack, sender: str) -> str:
    async with httpx.AsyncClient(timeout=60) as http:
        return await resident(http, stack.urls["engine"], sender, [])
