"""Dialogue success: Rasa's test stories, and the scripted multi-turn conversations of
bench/conversations.yml driven over REST against a stack of its own, each checked against the rows
it leaves in the database.

    .venvs/app/bin/python bench/dialogue_report.py            # stories + conversations
    .venvs/app/bin/python bench/dialogue_report.py --skip-stories
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scripted import SHANGHAI, Outcome, check_rows, converse, load_scripts  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.launcher import MODEL, RASA_BIN, Stack  # noqa: E402


def story_success() -> tuple[int, int]:
    """(correct, total) conversations of `rasa test core` on tests/stories."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [str(RASA_BIN / "rasa"), "test", "core", "--model", str(MODEL), "--stories", "tests/stories", "--out", out],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        report = json.loads((Path(out) / "story_report.json").read_text(encoding="utf-8"))
    accuracy = report["conversation_accuracy"]
    return int(accuracy["correct"]), int(accuracy["total"])


async def run_conversations(stack: Stack) -> list[Outcome]:
    async with httpx.AsyncClient(timeout=60) as http:
        outcomes = []
        for script in load_scripts():  # one after another: this measures dialogue, not load
            outcomes.append(await converse(http, stack.urls["engine"], script, f"script-{uuid.uuid4().hex[:8]}"))
    db = make_engine(stack.database_url)
    try:
        today = datetime.now(SHANGHAI).date()
        for outcome in outcomes:
            check_rows(db, outcome, today)
    finally:
        db.dispose()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-stories", action="store_true")
    args = parser.parse_args()
    if not args.skip_stories:
        correct, total = story_success()
        print(f"Rasa test stories: {correct}/{total} conversations correct ({correct / total:.1%})")
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.apart(Path(tmp), offset=300)
        stack.start()
        try:
            outcomes = asyncio.run(run_conversations(stack))
        finally:
            stack.stop()
    turns = sum(len(o.script.turns) for o in outcomes)
    succeeded = [o for o in outcomes if o.ok]
    print(
        f"scripted conversations over REST: {len(succeeded)}/{len(outcomes)} succeeded "
        f"({len(succeeded) / len(outcomes):.1%}), {turns} turns, rows checked"
    )
    for outcome in outcomes:
        if not outcome.ok:
            print(f"  FAILED {outcome.script.name}: {outcome.failure}")


if __name__ == "__main__":
    main()
