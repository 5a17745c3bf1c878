"""No default secret runs: each installation makes its own, keeps them private, and every process
refuses an empty or placeholder one."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot import installation_secrets
from bot.api.main import create_app
from bot.config import PROJECT_ROOT, get_settings
from bot.installation_secrets import NAMES, WeakSecret, ensure, read

# What this repository once shipped as defaults: anyone could sign a staff cookie with them.
OLD_DEFAULTS = ("dev-service-token-change-me", "dev-session-secret-change-me")


def test_first_start_makes_every_secret_into_a_private_file_and_later_starts_reuse_them(tmp_path: Path) -> None:
    path = tmp_path / ".run" / "secrets.env"
    first = ensure(path, environ={})
    assert set(first) == set(NAMES)
    assert len(set(first.values())) == len(NAMES)  # four different secrets, none shared
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read(path) == first  # KEY=value lines
    assert ensure(path, environ={}) == first
    other = ensure(tmp_path / "elsewhere.env", environ={})
    assert not set(other.values()) & set(first.values())  # another installation, other secrets


def test_a_deployment_provides_its_own_through_the_environment(tmp_path: Path) -> None:
    own = "a-deployments-own-session-secret-0123456789"
    chosen = ensure(tmp_path / "secrets.env", environ={"SESSION_SECRET": own})
    assert chosen["SESSION_SECRET"] == own
    assert "SESSION_SECRET" not in read(tmp_path / "secrets.env")  # never copied into the file


def test_a_file_left_readable_by_others_is_made_private_again(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    ensure(path, environ={})
    path.chmod(0o644)
    ensure(path, environ={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "value", ["", *OLD_DEFAULTS, "short-but-random-Xy7", "a" * 40, "please-change-me-" + "x9" * 20]
)
def test_weak_secrets_are_refused_wherever_they_come_from(tmp_path: Path, value: str) -> None:
    path = tmp_path / "secrets.env"
    if value:
        with pytest.raises(WeakSecret):
            ensure(path, environ={"SERVICE_TOKEN": value})
    path.write_text(f"SERVICE_TOKEN={value}\n", encoding="utf-8")
    if value:
        with pytest.raises(WeakSecret, match="SERVICE_TOKEN"):
            ensure(path, environ={})
    else:  # an empty line in the file is no value: a new secret is made
        assert installation_secrets.problem("SERVICE_TOKEN", ensure(path, environ={})["SERVICE_TOKEN"]) == ""


@pytest.mark.parametrize("name", ["SERVICE_TOKEN", "SESSION_SECRET"])
@pytest.mark.parametrize("value", ["", OLD_DEFAULTS[0]])
def test_the_app_refuses_to_start_with_a_weak_secret(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(WeakSecret, match=name):
            create_app()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert create_app() is not None  # with the run's real secrets it starts


def test_the_served_app_says_why_it_does_not_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in NAMES}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'linli.db'}", APP_PORT="8999", PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "does not start" in done.stderr and "SERVICE_TOKEN is empty" in done.stderr
