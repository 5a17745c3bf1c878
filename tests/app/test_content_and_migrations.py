from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import get_settings
from bot.db import Base
from bot.models import Facility, KnowledgeEntry
from bot.services.content import ContentError, load_content


def test_migrations_match_the_models(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        context = MigrationContext.configure(session.connection())
        assert compare_metadata(context, Base.metadata) == []


def test_loading_again_keeps_what_staff_edited(session_factory: sessionmaker[Session]) -> None:
    path = get_settings().content_file
    with session_factory() as session:
        first = load_content(session, path=path)
        assert first.facilities_added == 8 and first.entries_added >= 85
        topics = session.scalars(select(KnowledgeEntry.topic).where(KnowledgeEntry.topic.is_not(None))).all()
        assert len(topics) == 11  # every policy topic of the dialogue contract has its entry
        policy = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.topic == "垃圾分类")).one()
        policy.spoken = "工作人员改过的答案"
        session.commit()
        again = load_content(session, path=path)
        assert (again.facilities_added, again.entries_added, again.entries_kept) == (0, 0, first.entries_added)
        session.refresh(policy)
        assert policy.spoken == "工作人员改过的答案"
        load_content(session, path=path, overwrite=True)
        policy = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.topic == "垃圾分类")).one()
        assert policy.spoken != "工作人员改过的答案"
        assert session.scalar(select(func.count()).select_from(Facility)) == 8


def test_a_bad_content_file_writes_nothing(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "facilities:\n"
        "  - name: 居委会\n"
        "    weekly: {mon: [['09:00', '08:00']], tue: [], wed: [], thu: [], fri: [], sat: [], sun: []}\n",
        encoding="utf-8",
    )
    with session_factory() as session:
        with pytest.raises(ContentError):
            load_content(session, path=bad)
        assert session.scalar(select(func.count()).select_from(KnowledgeEntry)) == 0
        assert session.scalar(select(func.count()).select_from(Facility)) == 0
