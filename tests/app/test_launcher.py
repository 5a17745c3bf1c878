"""`make run` keeps the three processes up: one that crashes is started again, one that keeps
crashing stops everything (real child processes standing in for the engine's)."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import launcher


class StandIn(launcher.Stack):
    """A Stack whose "actions" is a short-lived or a long-lived sleep, counting its starts."""

    def __init__(self, lives: list[float]) -> None:
        super().__init__(log_dir=Path("/tmp"))
        self.lives = lives  # how long each successive start of the process lives
        self.starts = 0
        self.start_actions()

    def purge_old_data(self, outboxes: list[Path] | None = None) -> "subprocess.Popen[bytes]":
        return subprocess.Popen([sys.executable, "-c", "pass"])  # not the real database's purge

    def start_actions(self) -> None:
        life = self.lives[min(self.starts, len(self.lives) - 1)]
        self.starts += 1
        self.processes["actions"] = subprocess.Popen(
            [sys.executable, "-c", f"import time; time.sleep({life})"], start_new_session=True
        )


def run_for(stack: StandIn, seconds: float) -> int:
    stop = launcher.StopRequest(from_signals=False)  # signal handlers belong to the main thread
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(launcher.supervise(stack, stop)))
    thread.start()
    deadline = time.monotonic() + seconds
    while thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.received = True
    thread.join(30)
    return result[0]


def test_a_crashed_process_is_started_again() -> None:
    stack = StandIn(lives=[0.2, 60])  # crashes once, then stays up
    assert run_for(stack, 3) == 0
    assert stack.starts == 2
    assert stack.processes == {}  # and stop() stopped the one that was running


def test_a_process_that_keeps_crashing_stops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "RESTARTS_ALLOWED", 2)
    stack = StandIn(lives=[0.1])  # crashes every time
    assert run_for(stack, 10) == 1
    assert stack.starts == 3  # the first start and two restarts, then it gave up


def test_the_databases_and_logs_are_readable_by_this_user_only(tmp_path: Path) -> None:
    """(An independent tester read every request's phone and address as another user.)"""
    import stat

    stack = launcher.Stack.apart(tmp_path, offset=0)
    left_open = [tmp_path / "linli.db", tmp_path / "rasa_tracker.db", tmp_path / "linli.db-wal"]
    stack.log_dir.mkdir(parents=True)
    left_open.append(stack.log_dir / "app.log")
    for path in left_open:
        path.write_text("13812345678", encoding="utf-8")
        path.chmod(0o644)
    stack.keep_private()
    assert {stat.S_IMODE(p.stat().st_mode) for p in left_open} == {0o600}
    assert stat.S_IMODE(stack.log_dir.stat().st_mode) == 0o700
