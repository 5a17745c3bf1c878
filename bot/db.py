"""Database engine and sessions. Nothing connects until a session is first used."""

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from bot.config import get_settings


class Base(DeclarativeBase):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets staff pages read while the bot writes; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def community_schema(url: str) -> str | None:
    """The PostgreSQL schema a URL's search_path names (one community of several in one database)."""
    if not url.startswith("postgresql"):
        return None
    found = re.search(r"search_path(?:=|%3D)([A-Za-z_][A-Za-z0-9_]*)", str(make_url(url).query.get("options", "")))
    return found.group(1) if found else None


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def session_scope() -> Iterator[Session]:
    """A session for one request; services commit their own transactions."""
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()
