"""Load: N simulated residents at once over the REST channel, each holding whole conversations
(bench/conversations.yml, those marked `load`) that end in a booking, a request or a callback.

    .venvs/app/bin/python bench/load.py                       # N = 10, 50, 100, SQLite
    .venvs/app/bin/python bench/load.py --residents 50 --database-url postgresql+psycopg://…
    .venvs/app/bin/python bench/load.py --soak 600 --residents 10 --think 1

Reports messages per second, p50/p95/p99 turn latency, errors, the resident set size of each
process, and the check that nothing was lost: every conversation the bot confirmed ("编号…") has
exactly one row, and no conversation has more than its script wants.
"""

import argparse
import asyncio
import itertools
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scripted import SHANGHAI, Outcome, Script, check_rows, converse, load_scripts  # noqa: E402
from bench.stats import percentile  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.launcher import Stack  # noqa: E402
from bot.scale_out import ScaledStack  # noqa: E402

Running = Stack | ScaledStack


def rss_mb(stack: Running) -> dict[str, float]:
    sizes = {}
    for name, process in stack.processes.items():
        parent = psutil.Process(process.pid)
        sizes[name] = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20
    return sizes


async def resident(
    http: httpx.AsyncClient, engine_url: str, scripts: list[Script], *, until: float, rounds: int, think: float
) -> list[Outcome]:
    """One resident: conversation after conversation, until `rounds` are done or time is `until`."""
    outcomes = []
    for n in itertools.count():
        if (rounds and n >= rounds) or (until and time.monotonic() >= until):
            break
        script = random.choice(scripts)
        outcomes.append(await converse(http, engine_url, script, f"load-{uuid.uuid4().hex[:10]}", think))
    return outcomes


def confirmed(outcome: Outcome) -> bool:
    """The bot told the resident it was saved (the last turn's expected words, e.g. 编号/回电)."""
    return all(word in outcome.last_reply for word in outcome.script.turns[-1][1])


def nothing_lost(stack: Running, outcomes: list[Outcome]) -> tuple[int, int, int]:
    """(lost, duplicated, not as scripted): a confirmed conversation without its row is lost, any
    conversation with more rows than its script is duplicated."""
    db = make_engine(stack.database_url)
    lost = duplicated = unlike = 0
    try:
        today = datetime.now(SHANGHAI).date()
        with db.connect() as conn:
            for outcome in outcomes:
                for table, wanted in outcome.script.rows.items():
                    count = conn.execute(
                        text(f"SELECT count(*) FROM {table} WHERE sender_id = :s"), {"s": outcome.sender}
                    ).scalar_one()
                    lost += int(confirmed(outcome) and count < len(wanted))
                    duplicated += int(count > len(wanted))
            for outcome in outcomes:
                check_rows(db, outcome, today)
                unlike += int(not outcome.ok)
    finally:
        db.dispose()
    return lost, duplicated, unlike


async def drive(
    stack: Running, scripts: list[Script], residents: int, *, seconds: float, rounds: int, think: float
) -> tuple[list[Outcome], float]:
    limits = httpx.Limits(max_connections=residents, max_keepalive_connections=residents)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        started = time.monotonic()
        until = started + seconds if seconds else 0.0
        results = await asyncio.gather(
            *(
                resident(http, stack.urls["engine"], scripts, until=until, rounds=rounds, think=think)
                for _ in range(residents)
            )
        )
        return [o for outcomes in results for o in outcomes], time.monotonic() - started


def report(label: str, stack: Running, outcomes: list[Outcome], wall: float) -> None:
    latencies = [s * 1000 for o in outcomes for s in o.latencies]
    errors = sum(o.errors for o in outcomes)
    done = [o for o in outcomes if confirmed(o)]
    lost, duplicated, unlike = nothing_lost(stack, outcomes)
    sizes = rss_mb(stack)
    print(
        f"{label}: {len(outcomes)} conversations, {len(latencies)} messages in {wall:.0f} s = "
        f"{len(latencies) / wall:.1f} msg/s; turn latency p50 {percentile(latencies, 0.5):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms; "
        f"errors {errors}; confirmed {len(done)}, lost {lost}, duplicated {duplicated}, "
        f"not as scripted {unlike}; RSS " + ", ".join(f"{k} {v:.0f} MB" for k, v in sizes.items()),
        flush=True,
    )
    for outcome in [o for o in outcomes if not o.ok][:5]:
        print(f"    e.g. {outcome.script.name}: {outcome.failure}")


async def soak(stack: Running, scripts: list[Script], residents: int, seconds: float, think: float) -> None:
    """Steady load for `seconds`, sampling memory every 30 s."""
    samples: list[tuple[float, dict[str, float]]] = []

    async def sample() -> None:
        started = time.monotonic()
        while True:
            samples.append((time.monotonic() - started, rss_mb(stack)))
            await asyncio.sleep(30)

    sampler = asyncio.create_task(sample())
    outcomes, wall = await drive(stack, scripts, residents, seconds=seconds, rounds=0, think=think)
    sampler.cancel()
    report(f"soak {seconds:.0f} s, {residents} residents, think {think} s", stack, outcomes, wall)
    for name in samples[0][1]:
        series = [sizes[name] for _, sizes in samples]
        # the first minute is warm-up (caches, the recognizer pool, SQLAlchemy's pool); growth is after it
        settled = [sizes[name] for at, sizes in samples if at >= 60] or series
        print(
            f"    RSS {name:<8} start {series[0]:.0f} MB, after 1 min {settled[0]:.0f} MB, "
            f"end {series[-1]:.0f} MB, max {max(series):.0f} MB, "
            f"growth after warm-up {settled[-1] - settled[0]:+.0f} MB"
        )
        print(f"      every 30 s: {' '.join(f'{size:.0f}' for size in series)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, nargs="*", default=[10, 50, 100])
    parser.add_argument("--rounds", type=int, default=2, help="conversations per resident")
    parser.add_argument("--think", type=float, default=0.0, help="seconds a resident pauses before each turn")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of steady load instead of rounds")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--engines", type=int, default=1, help="more than one: behind nginx (needs PostgreSQL)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--run-dir", default=None, help="where the stack's folder goes (logs); default: /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) afterwards")
    args = parser.parse_args()
    scripts = [s for s in load_scripts() if s.load]
    tmp = tempfile.mkdtemp(prefix="linli-load-", dir=args.run_dir)
    try:
        run(args, scripts, Path(tmp))
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, scripts: list[Script], tmp: Path) -> None:
    stack: Running
    if args.engines > 1:  # behind nginx, as bot/scale_out.py runs them
        stack = ScaledStack(
            database_url=args.database_url,
            redis_url=args.redis_url,
            engines=args.engines,
            front_port=5405,
            engine_port=5410,
            actions_port=5460,
            app_port=8400,
            run_dir=tmp,
        )
    else:
        stack = Stack.apart(tmp, offset=400)
        if args.database_url:
            stack.database_url = args.database_url
    stack.start()
    try:
        # warm-up: the first turns load the model's graph and open connections
        asyncio.run(drive(stack, scripts, 2, seconds=0, rounds=1, think=0))
        if args.soak:
            asyncio.run(soak(stack, scripts, args.residents[0], args.soak, args.think))
            return
        for residents in args.residents:
            outcomes, wall = asyncio.run(
                drive(stack, scripts, residents, seconds=0, rounds=args.rounds, think=args.think)
            )
            report(f"N={residents}", stack, outcomes, wall)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
