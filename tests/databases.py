"""Fresh databases for tests: a SQLite file, and a throwaway PostgreSQL database when
TEST_DATABASE_URL points at a server (created here, dropped afterwards)."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

KINDS = ["sqlite", "postgresql"]


def skip_unless_available(kind: str) -> None:
    if kind == "postgresql" and not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / 'linli.db'}"
        return
    server = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"linli_test_{uuid.uuid4().hex[:12]}"
    # pre-ping: the server may have been restarted meanwhile (test_faults restarts it)
    admin = create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
