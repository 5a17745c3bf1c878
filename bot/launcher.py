"""Starts the engine, the action server and the app as `make run` does, and stops them.

The integration tests use the same `Stack`, so what they test is what a user runs.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

import yaml

from bot import installation_secrets
from bot.config import PROJECT_ROOT, get_settings, tracker_database_url

RASA_BIN = PROJECT_ROOT / ".venvs" / "rasa" / "bin"
APP_PYTHON = PROJECT_ROOT / ".venvs" / "app" / "bin" / "python"
MODEL = PROJECT_ROOT / "models" / "linli.tar.gz"


def tracker_store_url(database_url: str) -> tuple[str, str]:
    """(dialect, url) for Rasa's SQL tracker store from the app's DATABASE_URL.

    PostgreSQL: the same database (Rasa's table is `events`). SQLite: a second file beside the
    app's, so the engine and the app never wait on one SQLite writer lock."""
    url = tracker_database_url(database_url)
    if url.startswith("sqlite"):
        return "sqlite", url
    return "postgresql", f"postgresql://{url.split('://', 1)[1]}"  # the engine's environment has psycopg2


SECRET_NAMES = (*installation_secrets.NAMES, "LINLI_SERVICE_TOKEN")
CREDENTIALS = PROJECT_ROOT / "credentials.yml"
ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
WECHAT_CHANNEL = "connectors.wechat.WeChatInput"
WECHAT_VARIABLES = ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_AES_KEY")


@dataclass
class Stack:
    engine_port: int = 5005
    actions_port: int = 5055
    app_port: int = 8000
    database_url: str = field(default_factory=lambda: get_settings().database_url)
    log_dir: Path = PROJECT_ROOT / ".run" / "logs"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Settings for these processes only, over the environment (tests: a WeChat token, a voice model).
    extra_env: dict[str, str] = field(default_factory=dict)
    # Where the app sends residents' messages: this stack's engine, or a load balancer in front of
    # several engines (bot/scale_out.py).
    front_url: str = ""
    # The installation's secrets (bot/installation_secrets.py): made here on first start.
    secrets_file: Path = field(default_factory=lambda: installation_secrets.default_file(PROJECT_ROOT))
    # Where the engine and the action server listen: loopback, unless a scale-out's private
    # network is given (LINLI_PRIVATE_HOST). Only the app and nginx face residents.
    private_host: str = field(default_factory=lambda: os.environ.get("LINLI_PRIVATE_HOST", "127.0.0.1"))
    _secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def apart(cls, folder: Path, *, offset: int, extra_env: dict[str, str] | None = None) -> "Stack":
        """A stack of its own beside `make run` (benchmarks): ports 5005/5055/8000 + offset, a
        fresh SQLite database and the logs in `folder`."""
        return cls(
            engine_port=5005 + offset,
            actions_port=5055 + offset,
            app_port=8000 + offset,
            database_url=f"sqlite:///{folder / 'linli.db'}",
            log_dir=folder / "logs",
            extra_env=extra_env or {},
            secrets_file=folder / "secrets.env",
        )

    @property
    def urls(self) -> dict[str, str]:
        return {
            "engine": f"http://{self.private_host}:{self.engine_port}",
            "actions": f"http://{self.private_host}:{self.actions_port}",
            "app": f"http://127.0.0.1:{self.app_port}",
        }

    @property
    def outbox(self) -> Path:
        return self.log_dir.parent / f"outbox-{self.actions_port}.sqlite"

    @property
    def secrets(self) -> dict[str, str]:
        """The four secrets, from the environment or the secrets file (made on first use)."""
        if not self._secrets:
            self._secrets = installation_secrets.ensure(self.secrets_file, {**os.environ, **self.extra_env})
        return self._secrets

    def engine_api(self, path: str) -> str:
        """A URL of the engine's HTTP API, with the token it wants (our own tools use this)."""
        return f"{self.urls['engine']}{path}?token={self.secrets['ENGINE_API_TOKEN']}"

    def environment(self) -> dict[str, str]:
        dialect, tracker_url = tracker_store_url(self.database_url)
        given = {name: value for name, value in {**os.environ, **self.extra_env}.items() if name not in SECRET_NAMES}
        return {
            **given,
            "DATABASE_URL": self.database_url,
            "APP_PORT": str(self.app_port),
            "LINLI_APP_URL": self.urls["app"],
            "ACTION_ENDPOINT_URL": f"{self.urls['actions']}/webhook",
            "TRACKER_STORE_DIALECT": dialect,
            "TRACKER_STORE_URL": tracker_url,
            "RASA_TELEMETRY_ENABLED": "false",
            # The engine and the action server are Sanic servers, which drop an idle connection after
            # 5 s; their clients (the engine's aiohttp, nginx, the app's httpx) keep one up to 15 s and
            # may send a turn on a connection being closed ("Cannot write to closing transport", seen
            # under load). The server must be the one that waits longest.
            "SANIC_KEEP_ALIVE_TIMEOUT": "75",
            "SANIC_REQUEST_MAX_SIZE": given.get("SANIC_REQUEST_MAX_SIZE", str(4 * 2**20)),  # 413 over 4 MB
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": str(PROJECT_ROOT),
            "ENGINE_URL": self.front_url or self.urls["engine"],
            # credentials.yml reads these; empty unless set (the wechat channel is dropped without a token)
            **{name: given.get(name, "") for name in WECHAT_VARIABLES},
            "WECHAT_API_BASE": given.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
        }

    def credentials_file(self) -> Path:
        """credentials.yml, without the WeChat channel when no WECHAT_TOKEN is set."""
        if self.environment().get("WECHAT_TOKEN"):
            return CREDENTIALS
        channels = yaml.safe_load(CREDENTIALS.read_text(encoding="utf-8")) or {}
        channels.pop(WECHAT_CHANNEL, None)
        written = self.log_dir.parent / "credentials.yml"
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(yaml.safe_dump(channels, allow_unicode=True), encoding="utf-8")
        return written

    def endpoints_file(self) -> Path:
        """endpoints.yml, plus Rasa's Redis lock store when LINLI_REDIS_URL is set: engines that
        share conversations must also share the lock that lets one turn of a conversation run at
        a time (the tracker store is shared already)."""
        redis_url = self.environment().get("LINLI_REDIS_URL")
        if not redis_url:
            return ENDPOINTS
        endpoints = yaml.safe_load(ENDPOINTS.read_text(encoding="utf-8"))
        where = urlsplit(redis_url)
        endpoints["lock_store"] = {
            "type": "redis",
            "url": where.hostname or "127.0.0.1",
            "port": where.port or 6379,
            "db": int(where.path.strip("/") or 0),
            "key_prefix": "linli",
        }
        written = self.log_dir.parent / f"endpoints-{self.engine_port}.yml"
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(yaml.safe_dump(endpoints, allow_unicode=True), encoding="utf-8")
        return written

    def prepare_database(self) -> None:
        env = self.environment()
        for args in (["migrate"], ["load-content"]):
            subprocess.run([str(APP_PYTHON), "-m", "bot.cli", *args], env=env, cwd=PROJECT_ROOT, check=True)
        self.keep_private()

    def keep_private(self) -> None:
        """The SQLite files and the logs hold residents' phones and words: readable by this user
        only, also when an earlier version (or another umask) left them open to others."""
        files = [self.log_dir]
        for url in (self.database_url, tracker_database_url(self.database_url)):
            if url.startswith("sqlite"):
                database = Path(url.split("///", 1)[1])
                files += [
                    database,
                    database.with_name(database.name + "-wal"),
                    database.with_name(database.name + "-shm"),
                ]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for path in [*files, *self.log_dir.glob("*")]:
            if path.exists():
                path.chmod(0o700 if path.is_dir() else 0o600)

    def secrets_for(self, *names: str) -> dict[str, str]:
        """Each process gets only the secrets it uses."""
        return {name: self.secrets[name] for name in names}

    def purge_old_data(self, outboxes: list[Path] | None = None) -> subprocess.Popen[bytes]:
        """Residents' data past the retention deleted or anonymised (bot/services/retention.py), in
        the background: a long first purge must not hold up restarting a crashed process."""
        boxes = [self.outbox] if outboxes is None else outboxes
        return subprocess.Popen(
            [str(APP_PYTHON), "-m", "bot.cli", "purge-old-data", *(a for b in boxes for a in ("--outbox", str(b)))],
            env=self.environment(),
            cwd=PROJECT_ROOT,
        )

    def _spawn(self, name: str, args: list[str], **own_env: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (the child owns it)
        self.processes[name] = subprocess.Popen(
            args,
            cwd=PROJECT_ROOT,
            env={**self.environment(), **own_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )

    def start_app(self) -> None:
        self._spawn(
            "app",
            [str(APP_PYTHON), "-m", "bot.cli", "serve"],
            KNOWLEDGE_WARM_UP="true",  # the knowledge base's index built at start, not at the first question
            **self.secrets_for("SERVICE_TOKEN", "SESSION_SECRET"),
        )

    def start_actions(self) -> None:
        self._spawn(
            "actions",
            [str(RASA_BIN / "python"), "-m", "actions.server", "--port", str(self.actions_port)],
            # callbacks kept while the app is unreachable (actions/outbox.py), one file per server
            LINLI_OUTBOX=str(self.outbox),
            ACTION_SERVER_HOST=self.private_host,
            ACTION_SERVER_TOKEN=self.secrets["ACTION_SERVER_TOKEN"],
            LINLI_SERVICE_TOKEN=self.secrets["SERVICE_TOKEN"],
        )

    def start_engine(self) -> None:
        self._spawn(
            "engine",
            [
                str(RASA_BIN / "python"), "-m", "connectors.engine", "--enable-api",
                "--interface", self.private_host, "--port", str(self.engine_port),
                "--model", str(MODEL), "--endpoints", str(self.endpoints_file()),
                "--credentials", str(self.credentials_file()),
            ],
            **self.secrets_for("ENGINE_API_TOKEN", "ACTION_SERVER_TOKEN"),
            # residents' messages are small (1,000 characters at most); the action server, which
            # receives whole trackers, keeps the 4 MB of the environment
            SANIC_REQUEST_MAX_SIZE=str(2**20),
            # the channels believe the client address the app relays only with the app's token
            LINLI_SERVICE_TOKEN=self.secrets["SERVICE_TOKEN"],
        )  # fmt: skip

    def start(self, timeout: float = 240) -> None:
        # A process left over from an earlier run would answer the health checks for ours.
        busy = [str(port) for port in (self.app_port, self.actions_port, self.engine_port) if port_in_use(port)]
        if busy:
            raise RuntimeError(f"port(s) {', '.join(busy)} already in use: is another Linli still running?")
        self.secrets  # noqa: B018 (made or read now: a weak one stops the start before any process)
        self.prepare_database()
        self.start_app()
        self.start_actions()
        self.start_engine()
        self.wait_until_ready(timeout)

    def wait_until_ready(self, timeout: float = 240) -> None:
        checks = {
            "app": f"{self.urls['app']}/healthz",
            "actions": f"{self.urls['actions']}/health",
            "engine": f"{self.urls['engine']}/",
        }
        deadline = time.monotonic() + timeout
        pending = {name: url for name, url in checks.items() if name in self.processes}
        while pending:
            for name, url in list(pending.items()):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
                try:
                    with urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            del pending[name]
                except (URLError, ConnectionError, TimeoutError):
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.5)

    def stop(self, name: str | None = None) -> None:
        names = [name] if name else ["engine", "actions", "app"]
        for key in names:
            process = self.processes.pop(key, None)
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> "Stack":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


NO_STAFF_YET = "   (no account yet: .venvs/app/bin/python -m bot.cli create-admin NAME)"


def has_staff(database_url: str) -> bool:
    from sqlalchemy import func, select

    from bot.db import make_engine
    from bot.models import StaffUser

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(select(func.count()).select_from(StaffUser)))
    finally:
        engine.dispose()


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def voice_note() -> str:
    """Whether the kiosk can listen, said where people look when they start it."""
    from voice import asr

    try:
        return f"   (voice: {asr.model_path().name})"
    except asr.VoiceNotInstalled:
        return "   (touch only: `make voice-model` installs the Chinese voice model)"


RESTARTS_ALLOWED = 3  # crashes within RESTART_WINDOW seconds
RESTART_WINDOW = 300
PURGE_EVERY = 24 * 3600.0


@dataclass
class Daily:
    """Starts `job` on the first tick, then on the first tick `every` seconds after the last
    start, never while the last one is still running (the daily purge of old data)."""

    job: Callable[[], subprocess.Popen[bytes]]
    every: float = PURGE_EVERY
    running: subprocess.Popen[bytes] | None = None
    started_at: float | None = None

    def tick(self) -> None:
        if self.running is not None and self.running.poll() is None:
            return
        if self.started_at is None or time.monotonic() - self.started_at >= self.every:
            self.running, self.started_at = self.job(), time.monotonic()


def supervise(stack: Stack, stop: "StopRequest") -> int:
    """Until a stop is requested: a crashed process is started again — residents hear an apology
    for the turn it took down and carry on, their conversations being in the tracker store. One
    that keeps crashing is broken, not unlucky: then everything stops (exit 1). Residents' data
    past the retention is purged at start and then every day."""
    exit_code = 0
    restarts: list[float] = []
    purge = Daily(stack.purge_old_data)
    purge.tick()  # at start, then every day
    while not stop.received:
        purge.tick()
        for name, process in list(stack.processes.items()):
            if process.poll() is None:
                continue
            restarts = [t for t in restarts if t > time.monotonic() - RESTART_WINDOW] + [time.monotonic()]
            if len(restarts) > RESTARTS_ALLOWED:
                print(f"{name} keeps stopping (exit {process.returncode}); stopping the rest", file=sys.stderr)
                stop.received, exit_code = True, 1
                break
            print(f"{name} stopped unexpectedly (exit {process.returncode}); starting it again", file=sys.stderr)
            del stack.processes[name]
            getattr(stack, f"start_{name}")()
        time.sleep(0.5)
    print("stopping …")
    stack.stop()
    return exit_code


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def started(processes: Startable) -> bool:
    """Start them all, or say why not and stop those that did start."""
    try:
        processes.start()
    except (RuntimeError, TimeoutError, installation_secrets.WeakSecret) as exc:
        print(f"start failed: {exc}", file=sys.stderr)
        processes.stop()
        return False
    return True


class StopRequest:
    """Ctrl-C or SIGTERM, noted instead of raised, so the processes are stopped in order."""

    def __init__(self, *, from_signals: bool = True) -> None:
        self.received = False
        if from_signals:
            signal.signal(signal.SIGINT, self._note)
            signal.signal(signal.SIGTERM, self._note)

    def _note(self, _signum: int, _frame: object) -> None:
        self.received = True


def main() -> int:
    os.umask(0o077)  # everything the processes write (databases, logs, outboxes) is this user's alone
    if not MODEL.exists():
        print(f"no trained model at {MODEL}: run `make run`, which trains it first", file=sys.stderr)
        return 1
    stack = Stack()
    stop = StopRequest()
    print("starting the app, the action server and the Rasa engine (the engine needs about a minute) …")
    if not started(stack):
        return 1
    print(
        "\n邻里助手 is running:\n"
        f"  chat (REST):   POST {stack.urls['engine']}/webhooks/rest/webhook\n"
        f"  engine API:    {stack.urls['engine']}/status?token=<ENGINE_API_TOKEN>\n"
        f"  action server: {stack.urls['actions']}/health\n"
        f"  app:           {stack.urls['app']}/healthz   API docs: {stack.urls['app']}/docs\n"
        f"  resident chat: {stack.urls['app']}/chat/\n"
        f"  voice kiosk:   {stack.urls['app']}/kiosk/?kiosk=lobby-1{voice_note()}\n"
        f"  WeChat:        {stack.urls['engine']}/webhooks/wechat/webhook"
        f"{'' if os.environ.get('WECHAT_TOKEN') else '   (off: set WECHAT_TOKEN to open it)'}\n"
        f"  staff console: {stack.urls['app']}/staff/{'' if has_staff(stack.database_url) else NO_STAFF_YET}\n"
        f"  logs:          {stack.log_dir}\n"
        f"  secrets:       {stack.secrets_file}   (this installation's own; keep the file private)\n"
        "Ctrl-C stops all three.\n",
        flush=True,
    )
    return supervise(stack, stop)


if __name__ == "__main__":
    sys.exit(main())
