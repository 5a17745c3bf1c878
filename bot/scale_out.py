"""Several engines behind nginx, as a district would run Linli for many communities.

    .venvs/app/bin/python -m bot.scale_out --engines 2      (make scale-out)

One app (it owns the database), N action servers and N Rasa engines (engine i calls action server
i), and nginx in front of the engines, round robin. The engines share what a conversation needs:
its events in PostgreSQL (Rasa's SQL tracker store, the app's database), the per-conversation
lock and the once-per-message answers in Redis. So any engine can take any turn of any
conversation, and one engine can die without losing a confirmed booking: nginx sends new turns
to the others, a turn in flight fails and the resident says it again.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot import installation_secrets
from bot.config import PROJECT_ROOT, get_settings
from bot.launcher import Daily, Stack, StopRequest, port_in_use, started

NGINX = "/usr/sbin/nginx"

NGINX_CONF = """\
# Written by bot/scale_out.py: nginx in front of the Rasa engines, round robin.
daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr $request_time';
    access_log {run}/nginx-access.log upstream;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream engines {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        # Only the channel webhooks face residents; the engines' HTTP API stays on the private network.
        location / {{
            return 404;
        }}
        location /webhooks/ {{
            proxy_pass http://engines;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # An engine that refuses the connection (dead, restarting) is skipped: the turn goes to
            # the next one. A turn already sent is never sent twice (nginx does not repeat a POST),
            # so a turn in flight on a dying engine fails and the resident says it again.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


@dataclass
class ScaledStack:
    database_url: str
    redis_url: str
    engines: int = 2
    front_port: int = 5005
    engine_port: int = 5010  # engine i listens on engine_port + i, its action server on actions_port + i
    actions_port: int = 5060
    app_port: int = 8000
    run_dir: Path = PROJECT_ROOT / ".run" / "scale-out"
    secrets_file: Path = field(default_factory=lambda: installation_secrets.default_file(PROJECT_ROOT))
    extra_env: dict[str, str] = field(default_factory=dict)
    stacks: list[Stack] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not self.database_url.startswith("postgresql"):
            raise ValueError(
                "engines share conversations through PostgreSQL: set DATABASE_URL to a PostgreSQL database"
            )
        shared = {
            **self.extra_env,
            "LINLI_REDIS_URL": self.redis_url,
            # Rasa's conversation lock lives 60 s by default: an engine that dies mid-turn would hold
            # that resident's conversation for a minute. A turn takes well under 20 s.
            "TICKET_LOCK_LIFETIME": "20",
        }
        self.stacks = [
            Stack(
                engine_port=self.engine_port + i,
                actions_port=self.actions_port + i,
                app_port=self.app_port,
                database_url=self.database_url,
                log_dir=self.run_dir / "logs",
                extra_env=shared,
                front_url=self.front_url,
                secrets_file=self.secrets_file,
            )
            for i in range(self.engines)
        ]

    @property
    def front_url(self) -> str:
        return f"http://127.0.0.1:{self.front_port}"

    @property
    def urls(self) -> dict[str, str]:
        """As Stack.urls: where residents' messages go (nginx) and the app."""
        return {"engine": self.front_url, "app": self.stacks[0].urls["app"]}

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """Every process by name (app, engine-0, actions-1, …, nginx), e.g. to measure memory."""
        named = {"app": self.stacks[0].processes["app"]} if "app" in self.stacks[0].processes else {}
        for i, stack in enumerate(self.stacks):
            named.update({f"{name}-{i}": p for name, p in stack.processes.items() if name != "app"})
        if self.nginx is not None:
            named["nginx"] = self.nginx
        return named

    @property
    def engine_urls(self) -> list[str]:
        return [stack.urls["engine"] for stack in self.stacks]

    def nginx_conf(self) -> Path:
        run = self.run_dir / "nginx"
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (run / temp).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            # max_fails=0: an engine is never struck off for failing. A dead one refuses at once and
            # the turn goes to the next; striking off the last live engine for one slow turn (it
            # waited for a lock the dead engine held) would answer everyone 502 ("no live upstreams").
            f"        server {stack.private_host}:{stack.engine_port} max_fails=0;"
            for stack in self.stacks
        )
        conf = run / "nginx.conf"
        conf.write_text(NGINX_CONF.format(run=run, servers=servers, port=self.front_port), encoding="utf-8")
        return conf

    def start(self, timeout: float = 480) -> None:
        if not Path(NGINX).exists():
            raise RuntimeError(f"{NGINX} is missing: `make scale-out` installs Debian's nginx")
        ports = [self.front_port, self.app_port] + [p for s in self.stacks for p in (s.engine_port, s.actions_port)]
        busy = [str(port) for port in ports if port_in_use(port)]
        if busy:
            raise RuntimeError(f"port(s) {', '.join(busy)} already in use: is another Linli still running?")
        first = self.stacks[0]
        for stack in self.stacks:
            stack.secrets  # noqa: B018 (one file for all: the first makes it, the others read it)
        first.prepare_database()
        first.start_app()
        for stack in self.stacks:
            stack.start_actions()
            stack.start_engine()
        conf = self.nginx_conf()
        log = open(conf.parent / "nginx.out", "ab")  # noqa: SIM115 (the child owns it)
        self.nginx = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(conf.parent)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for stack in self.stacks:
            stack.wait_until_ready(timeout)

    def kill_engine(self, index: int) -> None:
        """As a crash would: no chance to finish what it was doing."""
        process = self.stacks[index].processes.pop("engine")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            os.killpg(self.nginx.pid, signal.SIGTERM)
            self.nginx.wait(timeout=20)
        for stack in reversed(self.stacks):  # the first stack owns the app: stopped last
            stack.stop()

    def __enter__(self) -> "ScaledStack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    os.umask(0o077)  # everything the processes write (logs, outboxes) is this user's alone
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("LINLI_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    stop = StopRequest()
    try:
        scaled = ScaledStack(database_url=get_settings().database_url, redis_url=args.redis_url, engines=args.engines)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"starting the app, {args.engines} action servers, {args.engines} engines and nginx …", flush=True)
    if not started(scaled):
        return 1
    try:
        print(
            f"\n邻里助手 (scaled out) is running:\n"
            f"  chat (REST), through nginx: POST {scaled.front_url}/webhooks/rest/webhook\n"
            f"  engines:       {', '.join(scaled.engine_urls)}\n"
            f"  app:           {scaled.stacks[0].urls['app']}   (resident chat /chat/, kiosk /kiosk/, staff /staff/)\n"
            f"  logs:          {scaled.run_dir}\n"
            f"  secrets:       {scaled.secrets_file}   (this installation's own; keep the file private)\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        # residents' data past the retention, at start and then every day (one app, one database)
        purge = Daily(lambda: scaled.stacks[0].purge_old_data([stack.outbox for stack in scaled.stacks]))
        while not stop.received:
            purge.tick()
            time.sleep(0.5)
    finally:
        print("stopping …")
        scaled.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
