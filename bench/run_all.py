"""Speed and memory on this machine: training time, /model/parse and full webhook turns
(p50/p95 over at least 200 messages), resident set size of each process.

    make bench                     # everything, including a forced retrain (minutes)
    .venvs/app/bin/python bench/run_all.py --skip-train
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from bot.launcher import RASA_BIN, Stack  # noqa: E402

# Turns that run a custom action which calls the app (and the database).
ACTION_TURNS = [
    "居委会几点开门", "卫生站今天几点关门", "长者食堂礼拜六开伐", "加装电梯要多少人同意",
    "一网通办机器晚上能用伐", "适老化改造包括啥", "物业明天上班伐", "电瓶车到啥地方充电",
]  # fmt: skip


# A whole taxi booking: every turn runs the form's validation (engine → actions → app → database).
TAXI_CONVERSATION = [
    "明天上午九点帮我叫部车去六院", "一三八一二三四五六七八", "五号楼门口", "两个人", "要带轮椅",
    "时间不对 是后天上午", "对的",
]  # fmt: skip


def test_set_texts() -> list[str]:
    data = yaml.safe_load((ROOT / "tests" / "nlu_test_set.yml").read_text(encoding="utf-8"))
    texts = []
    for block in data["nlu"]:
        for line in block.get("examples", "").splitlines():
            if line.startswith("- "):
                texts.append(line[2:].strip())
    return texts


def train_seconds() -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        command = [str(RASA_BIN / "rasa"), "train", "--force", "--config", "config.yml", "--domain", "domain.yml"]
        command += ["--data", "nlu_data", "--out", out, "--fixed-model-name", "bench"]
        subprocess.run(
            command,
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
        return time.monotonic() - start


def rss_mb(process: subprocess.Popen[bytes]) -> float:
    parent = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<34} n={len(ms):<4} p50={percentile(ms, 0.5):6.1f} ms  p95={percentile(ms, 0.95):6.1f} ms"
        f"  mean={statistics.mean(ms):6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--turns", type=int, default=240)
    args = parser.parse_args()

    if not args.skip_train:
        print(f"training (forced, from scratch): {train_seconds():.0f} s")

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.apart(Path(tmp), offset=200)
        started = time.monotonic()
        stack.start()
        print(f"start-up of all three until they answer: {time.monotonic() - started:.0f} s")
        http = httpx.Client(timeout=30)
        engine = stack.urls["engine"]
        texts = test_set_texts()
        for text in texts[:20]:  # warm-up
            http.post(stack.engine_api("/model/parse"), json={"text": text})

        parse = []
        for i in range(max(args.turns, 200)):
            t0 = time.perf_counter()
            http.post(stack.engine_api("/model/parse"), json={"text": texts[i % len(texts)]}).raise_for_status()
            parse.append(time.perf_counter() - t0)
        turns = []
        for i in range(max(args.turns, 200)):
            t0 = time.perf_counter()
            reply = http.post(
                f"{engine}/webhooks/rest/webhook",
                json={"sender": f"bench-{i % 40}", "message": ACTION_TURNS[i % len(ACTION_TURNS)]},
            )
            reply.raise_for_status()
            turns.append(time.perf_counter() - t0)
            assert reply.json(), "empty reply"
        form_turns = []
        for n in range(max(args.turns // len(TAXI_CONVERSATION), 30)):
            for text in TAXI_CONVERSATION:
                t0 = time.perf_counter()
                reply = http.post(f"{engine}/webhooks/rest/webhook", json={"sender": f"taxi-{n}", "message": text})
                reply.raise_for_status()
                form_turns.append(time.perf_counter() - t0)
            assert "编号" in reply.json()[-1]["text"], reply.json()
        report("/model/parse", parse)
        report("webhook turn with a custom action", turns)
        report("taxi booking turn (form + app)", form_turns)
        for name, process in stack.processes.items():
            print(f"resident set size {name:<8} {rss_mb(process):7.0f} MB")
        stack.stop()


if __name__ == "__main__":
    main()
