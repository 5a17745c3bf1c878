"""Several communities in one PostgreSQL database, each in a schema of its own named by its
DATABASE_URL (README: a district): each community's app, content, records and conversations stay
in its schema, and a new community needs nothing but its URL (migrate creates the schema)."""

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from bot.launcher import Stack
from tests.databases import fresh_database
from tests.integration.conftest import PORT_OFFSET
from tests.integration.test_conversations import new_sender, rows

TAXI = ["明天上午九点帮我叫部车去六院", "13812345678", "五号楼门口", "一个人", "不要", "对"]


def in_schema(url: str, schema: str) -> str:
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Stack, Stack]]:
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    tmp: Path = tmp_path_factory.mktemp("district")
    with fresh_database("postgresql", tmp) as url:
        hongqiao, hanyang = (
            Stack(
                engine_port=5805 + i + PORT_OFFSET,
                actions_port=5855 + i + PORT_OFFSET,
                app_port=8805 + i + PORT_OFFSET,
                database_url=in_schema(url, name),
                log_dir=tmp / name,
                secrets_file=tmp / "secrets.env",  # one installation, two communities
            )
            for i, name in enumerate(("hongqiao", "hanyang"))
        )
        try:
            hongqiao.start()
            hanyang.prepare_database()  # the second community: its app alone is enough here
            hanyang.start_app()
            hanyang.wait_until_ready()
            yield url, hongqiao, hanyang
        finally:
            hanyang.stop()
            hongqiao.stop()


def test_each_community_keeps_to_its_own_schema(district: tuple[str, Stack, Stack]) -> None:
    url, hongqiao, hanyang = district
    me = new_sender()
    with httpx.Client(timeout=60) as http:
        for said in TAXI:
            response = http.post(
                f"{hongqiao.urls['engine']}/webhooks/rest/webhook", json={"sender": me, "message": said}
            )
        assert "编号" in " ".join(m.get("text", "") for m in response.json())
        assert http.get(f"{hanyang.urls['app']}/healthz").status_code == 200
    db = create_engine(url)
    try:
        assert rows(db, "SELECT count(*) FROM hongqiao.taxi_booking WHERE sender_id = :s", s=me) == [(1,)]
        assert rows(db, "SELECT count(*) FROM hanyang.taxi_booking") == [(0,)]
        # the engine kept the conversation in the community's schema too
        assert rows(db, "SELECT count(*) FROM hongqiao.events WHERE sender_id = :s", s=me)[0][0] >= len(TAXI)
        tables = rows(db, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'knowledge_entry'")
        assert sorted(t[0] for t in tables) == ["hanyang", "hongqiao"]  # nothing in public
        assert rows(db, "SELECT count(*) > 0 FROM hanyang.knowledge_entry") == [(True,)]  # its own content
        assert rows(db, "SELECT to_regclass('public.events')") == [(None,)]
    finally:
        db.dispose()
