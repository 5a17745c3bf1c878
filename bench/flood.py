"""Floods against a stack of its own (ports 5005/5055/8000 + 2500, a fresh SQLite database): while a
few residents chat at a human pace through the chat page's endpoint (/chat/send), a stranger
floods it — first as one sender, then as one address with a new sender id for every message —
and then floods the engine's REST channel as one sender. Reports, for each phase, the other
residents' p50/p95 turn time and what they got (any answer but 200 is a failure), what the flood
got (200 / 429 / other), and the app's resident set size before, at its highest during, and after.

    .venvs/app/bin/python bench/flood.py                 # 30 s per phase, 6 residents
    .venvs/app/bin/python bench/flood.py --seconds 60 --flooders 16

Each resident and the stranger come from their own address: the app runs under uvicorn, which takes
X-Forwarded-For from a proxy on this machine, so the bench sends one per client as a proxy would.
"""

import argparse
import asyncio
import itertools
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from bot.launcher import Stack  # noqa: E402

QUESTIONS = ["居委会几点开门", "社区卫生站明天开吗", "加装电梯要多少人同意", "长者食堂几点吃饭"]


def app_rss_mb(stack: Stack) -> float:
    parent = psutil.Process(stack.processes["app"].pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


@dataclass
class Phase:
    name: str
    turns: list[float] = field(default_factory=list)  # residents' turn times, seconds
    residents: Counter[int] = field(default_factory=Counter)  # residents' status codes
    flood: Counter[int] = field(default_factory=Counter)  # the flood's status codes
    rss: list[float] = field(default_factory=list)  # the app's RSS, sampled during the phase


def web_sender() -> str:
    return f"web-{uuid.uuid4().hex[:16]}"


async def resident(http: httpx.AsyncClient, number: int, phase: Phase, until: float, think: float) -> None:
    sender, address = web_sender(), f"10.1.0.{number + 1}"
    for question in itertools.cycle(QUESTIONS):
        if time.monotonic() >= until:
            return
        started = time.monotonic()
        try:
            reply = await http.post(
                "/chat/send", json={"sender": sender, "message": question}, headers={"X-Forwarded-For": address}
            )
            phase.residents[reply.status_code] += 1
        except httpx.HTTPError:
            phase.residents[0] += 1
        phase.turns.append(time.monotonic() - started)
        await asyncio.sleep(think)


async def flooder(
    http: httpx.AsyncClient, kind: str, phase: Phase, until: float, engine_url: str, one_sender: str
) -> None:
    """The stranger's connections: all as one sender (`sender`, `engine`) or a new one each time."""
    while time.monotonic() < until:
        try:
            if kind == "engine":  # straight at the engine's REST channel, one conversation
                reply = await http.post(
                    f"{engine_url}/webhooks/rest/webhook", json={"sender": one_sender, "message": "你好"}
                )
            else:
                sender = one_sender if kind == "sender" else web_sender()
                reply = await http.post(
                    "/chat/send",
                    json={"sender": sender, "message": "你好"},
                    headers={"X-Forwarded-For": "10.9.9.9"},
                )
            phase.flood[reply.status_code] += 1
        except httpx.HTTPError:
            phase.flood[0] += 1


def sample_rss(stack: Stack, phase: Phase, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        phase.rss.append(app_rss_mb(stack))


async def run_phase(stack: Stack, phase: Phase, args: argparse.Namespace, flood: str | None) -> None:
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(stack, phase, stop), daemon=True)
    sampler.start()
    until = time.monotonic() + args.seconds
    limits = httpx.Limits(max_connections=args.residents + args.flooders + 4)
    async with httpx.AsyncClient(base_url=stack.urls["app"], timeout=60, limits=limits) as http:
        jobs = [resident(http, n, phase, until, args.think) for n in range(args.residents)]
        if flood:
            one = web_sender()
            jobs += [flooder(http, flood, phase, until, stack.urls["engine"], one) for _ in range(args.flooders)]
        await asyncio.gather(*jobs)
    stop.set()
    sampler.join()


def report(phase: Phase, seconds: float) -> None:
    flood = sum(phase.flood.values())
    flood_text = (
        f"flood {flood} requests ({flood / seconds:.0f}/s): "
        + ", ".join(f"{code or 'error'} ×{n}" for code, n in sorted(phase.flood.items()))
        if flood
        else "no flood"
    )
    print(
        f"{phase.name:<22} residents: {len(phase.turns):>3} turns, p50 {percentile(phase.turns, 0.5) * 1000:6.0f} ms,"
        f" p95 {percentile(phase.turns, 0.95) * 1000:6.0f} ms, answers "
        + ", ".join(f"{code or 'error'} ×{n}" for code, n in sorted(phase.residents.items()))
        + f" | app RSS max {max(phase.rss, default=float('nan')):.0f} MB | {flood_text}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument("--residents", type=int, default=6, help="residents chatting at a human pace")
    parser.add_argument("--think", type=float, default=3.5, help="a resident's pause between messages, s")
    parser.add_argument("--flooders", type=int, default=8, help="the stranger's concurrent connections")
    parser.add_argument("--settle", type=float, default=15, help="pause after each flood before measuring, s")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-flood-"))
    stack = Stack.apart(tmp, offset=2500)
    try:
        stack.start()
        asyncio.run(run_phase(stack, Phase("warm-up"), argparse.Namespace(**{**vars(args), "seconds": 10}), None))
        print(f"app RSS after warm-up: {app_rss_mb(stack):.0f} MB", flush=True)
        plan = [
            ("before", None),
            ("flood: one sender", "sender"),
            ("after (one sender)", None),
            ("flood: one address", "source"),
            ("after (one address)", None),
            ("flood: engine REST", "engine"),
            ("after (engine)", None),
        ]
        for name, flood in plan:
            phase = Phase(name)
            asyncio.run(run_phase(stack, phase, args, flood))
            report(phase, args.seconds)
            if flood:
                time.sleep(args.settle)
                print(f"{'':<22} app RSS {args.settle:.0f} s after the flood: {app_rss_mb(stack):.0f} MB", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
