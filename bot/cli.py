"""Command line: `python -m bot.cli migrate | load-content [--overwrite] | create-admin NAME |
purge-old-data [--outbox FILE] | serve`."""

import argparse
import logging
from pathlib import Path

from bot.config import PROJECT_ROOT, get_settings


def migrate(database_url: str | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def load_content(path: Path, overwrite: bool) -> None:
    from bot.db import get_sessionmaker
    from bot.services.content import load_content as load

    with get_sessionmaker()() as session:
        result = load(session, path=path, overwrite=overwrite)
    print(
        f"content: {result.facilities_added} facilities written, {result.facilities_kept} kept as staff left them; "
        f"{result.taxi_place_lists_added} taxi place lists written; "
        f"{result.entries_added} knowledge entries written, {result.entries_kept} kept"
    )


def create_admin(username: str, display_name: str) -> None:
    """The first admin account (more accounts are made in the console by an admin)."""
    import getpass
    import os

    from bot.db import get_sessionmaker
    from bot.services.staff_auth import AccountError, create_user

    password = os.environ.get("LINLI_ADMIN_PASSWORD") or getpass.getpass("密码（至少8位）: ")
    with get_sessionmaker()() as session:
        try:
            create_user(session, username=username, password=password, role="admin", display_name=display_name)
        except AccountError as exc:
            raise SystemExit(f"not created: {exc}") from exc
    print(f"admin {username} created")


def purge_old_data(outboxes: list[Path]) -> None:
    """Residents' data older than RETENTION_DAYS deleted or anonymised (bot/services/retention.py)."""
    from bot import clock
    from bot.db import get_sessionmaker
    from bot.services import retention
    from bot.services.conversations import tracker_engine

    days = get_settings().retention_days
    if days < 1:
        raise SystemExit(f"nothing purged: RETENTION_DAYS must be at least 1, not {days}")
    with get_sessionmaker()() as session:
        result = retention.purge(session, now=clock.utcnow(), days=days, tracker=tracker_engine(), outboxes=outboxes)
    print(result.summary(), flush=True)


def serve() -> None:
    import uvicorn

    from bot.installation_secrets import WeakSecret, require
    from bot.privacy import install_log_masking

    settings = get_settings()
    try:
        require({"SERVICE_TOKEN": settings.service_token, "SESSION_SECRET": settings.session_secret})
    except WeakSecret as exc:
        raise SystemExit(f"the app does not start: {exc}") from exc
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from any loopback
    # client; the app itself believes it only from TRUSTED_PROXIES (bot/api/main.py).
    uvicorn.run(
        "bot.api.main:create_app",
        factory=True,
        host=settings.app_host,
        port=settings.app_port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        ws_max_size=settings.max_frame_bytes,  # a kiosk frame; the body limit is bot/api/body_limit.py
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    content = sub.add_parser("load-content", help="seed facility hours, policy answers and taxi places")
    content.add_argument("--file", type=Path, default=None)
    content.add_argument("--overwrite", action="store_true", help="replace rows staff have edited")
    admin = sub.add_parser("create-admin", help="create a staff admin (password from LINLI_ADMIN_PASSWORD or asked)")
    admin.add_argument("username")
    admin.add_argument("--name", default="", help="name shown in the console")
    purge = sub.add_parser(
        "purge-old-data", help="delete or anonymise residents' data older than RETENTION_DAYS (default 180)"
    )
    purge.add_argument(
        "--outbox", type=Path, action="append", default=[], help="an action server's outbox file (repeatable)"
    )
    sub.add_parser("serve", help="run the app (port 8000)")
    args = parser.parse_args()
    if args.command == "migrate":
        migrate()
    elif args.command == "load-content":
        load_content(args.file or get_settings().content_file, args.overwrite)
    elif args.command == "create-admin":
        create_admin(args.username, args.name)
    elif args.command == "purge-old-data":
        purge_old_data(args.outbox)
    elif args.command == "serve":
        serve()


if __name__ == "__main__":
    main()
