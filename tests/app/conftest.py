import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bot import clock as app_clock
from bot.api import deps
from bot.api.main import create_app
from bot.cli import migrate
from bot.config import get_settings
from bot.db import make_engine
from bot.services import staff_auth
from bot.services.content import load_content
from tests.databases import KINDS, fresh_database, skip_unless_available

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Saturday morning: 2026-11-21 is a 星期六.
SATURDAY_10AM = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="package", autouse=True)
def installation_secrets() -> Iterator[None]:
    """The app starts only with real secrets (bot/installation_secrets.py): each run makes its own,
    as `make run` does for an installation (and takes them away after tests/app)."""
    before = {name: os.environ.get(name) for name in ("SERVICE_TOKEN", "SESSION_SECRET")}
    for name in before:
        os.environ[name] = secrets.token_urlsafe(32)
    get_settings.cache_clear()
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()


@pytest.fixture(params=KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    skip_unless_available(request.param)
    with fresh_database(request.param, tmp_path) as url:
        migrate(url)
        yield url


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def seeded(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory() as session:
        load_content(session, path=get_settings().content_file)
    return session_factory


@pytest.fixture(autouse=True)
def clock() -> Iterator[dict[str, datetime]]:
    """The app's one clock pinned to a Saturday morning for every app test; a test moves it by
    setting "now". Rules and the timestamps the rows get read the same clock (`bot.clock`)."""
    pinned = {"now": SATURDAY_10AM}
    with app_clock.pinned(lambda: pinned["now"]):
        yield pinned


@pytest.fixture
def client(seeded: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app()

    def session_override() -> Iterator[Session]:
        with seeded() as session:
            yield session

    app.dependency_overrides[deps.get_session] = session_override
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {get_settings().service_token}"
        # As a browser on the console's own pages sends it (bot/api/csrf.py refuses other origins).
        test_client.headers["Origin"] = str(test_client.base_url)
        yield test_client


PASSWORD = "correct-horse-9"


@pytest.fixture
def accounts(seeded: sessionmaker[Session]) -> sessionmaker[Session]:
    with seeded() as session:
        staff_auth.create_user(session, username="admin", password=PASSWORD, role="admin", display_name="王主任")
        staff_auth.create_user(session, username="xiaoli", password=PASSWORD, role="staff", display_name="小李")
    return seeded


def sign_in(client: TestClient, username: str = "admin", password: str = PASSWORD) -> Any:
    return client.post(
        "/staff/login", data={"username": username, "password": password, "next": "/staff/"}, follow_redirects=False
    )


@pytest.fixture
def staff(client: TestClient, accounts: sessionmaker[Session]) -> Iterator[TestClient]:
    """The app client, also signed in to the staff console as an admin."""
    assert sign_in(client).status_code == 303
    yield client
