"""The knowledge base: questions matched at run time against the entries' ways of asking; an entry
or a way of asking staff add answers the next question, without retraining."""

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from bot.services import knowledge_base

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)


def add(session: Session, title: str, spoken: str, *asks: str) -> KnowledgeEntry:
    entry = KnowledgeEntry(title=title, spoken=spoken, details={}, source="test", needs_confirmation=False)
    entry.asks = [KnowledgeAsk(text=a, added_by="test") for a in asks]
    session.add(entry)
    session.commit()
    return entry


def test_a_question_gets_the_entry_it_asks_about_in_other_words(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        add(session, "测试长护险怎么申请", "先做统一需求评估。", "长护险哪能申请", "长期护理保险怎么办")
        add(session, "测试敬老卡怎么办", "到受理中心办。", "敬老卡在哪里办", "老年卡哪能办")
        found = knowledge_base.rank(session, "阿拉姆妈想申请长期护理保险，要哪能弄")
        assert found[0].title == "测试长护险怎么申请"
        assert knowledge_base.rank(session, "老年卡在哪办")[0].title == "测试敬老卡怎么办"


def test_an_entry_staff_add_answers_the_next_question_without_retraining(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        before = knowledge_base.answer(session, question="测试养猫补贴怎么领", now=NOW)
        assert before.outcome != "answered" or before.entry.title != "测试宠物补贴"  # type: ignore[union-attr]
        add(session, "测试宠物补贴", "没有这项补贴。", "养猫补贴怎么领", "养狗有补贴吗")
        after = knowledge_base.answer(session, question="测试养猫补贴怎么领", now=NOW)
        assert after.outcome == "answered" and after.entry is not None and after.entry.title == "测试宠物补贴"
        kept = session.scalars(select(KnowledgeQuestion).order_by(KnowledgeQuestion.id)).all()[-2:]
        assert [q.outcome for q in kept][-1] == "answered" and kept[-1].entry_id == after.entry.id


def test_the_answer_api_says_which_entry_or_offers_two(client: TestClient, seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        add(session, "测试电费怎么交", "用一网通办或者银行交。", "电费哪能交", "交电费")
        add(session, "测试水费怎么交", "用一网通办或者银行交。", "水费哪能交", "交水费")
    sure = client.post("/api/knowledge/answer", json={"question": "电费哪能交", "sender_id": "r1"}).json()
    assert sure["outcome"] == "answered" and sure["entry"]["title"] == "测试电费怎么交"
    unsure = client.post("/api/knowledge/answer", json={"question": "费用怎么交", "sender_id": "r1"}).json()
    assert unsure["outcome"] in ("asked_which", "unknown")
    if unsure["outcome"] == "asked_which":
        assert set(unsure["choices"]) == {"测试电费怎么交", "测试水费怎么交"}
    assert client.post("/api/knowledge/answer", json={"question": ""}).status_code == 422
