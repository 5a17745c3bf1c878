"""The knowledge base: questions matched at run time against the entries' ways of asking; an entry
or a way of asking staff add answers the next question, without retraining."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from bot.services import knowledge_admin, knowledge_base

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)


def add(session: Session, title: str, spoken: str, *asks: str) -> KnowledgeEntry:
    entry = KnowledgeEntry(title=title, spoken=spoken, details={}, source="test", needs_confirmation=False)
    entry.asks = [KnowledgeAsk(text=a, added_by="test") for a in asks]
    session.add(entry)
    session.commit()
    return entry


def test_a_question_gets_the_seeded_entry_it_asks_about_in_other_words(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        assert knowledge_base.rank(session, "阿拉姆妈想申请长期护理保险，要哪能弄")[0].title == "长护险怎么申请"
        assert knowledge_base.rank(session, "敬老卡在哪办")[0].title == "敬老卡在哪办"  # a title, word for word
        assert knowledge_base.rank(session, "敬老卡在哪办")[0].score == 1.0
        # "侬晓得……伐" only says a question comes: the questions no entry answers that begin so
        # ("侬晓得哪里好买到崇明糕伐") do not make this one none of ours
        wheelchair = knowledge_base.rank(session, "侬晓得哪里好借轮椅伐")
        assert wheelchair[0].title == "轮椅拐杖哪里借" and knowledge_base.decide(wheelchair) == "answered"


def test_sure_close_and_nothing_near_are_told_apart() -> None:
    def c(*pairs: tuple[float, float]) -> list[knowledge_base.Candidate]:
        return [knowledge_base.Candidate(i, f"t{i}", score, near) for i, (score, near) in enumerate(pairs)]

    sure, near, offer, second = knowledge_base.SURE, knowledge_base.NEAR, knowledge_base.OFFER, knowledge_base.SECOND
    assert knowledge_base.decide(c((sure, near), (0.1, 0.3))) == "answered"
    assert knowledge_base.decide(c((sure - 0.01, near), (second / 2, 0.3))) == "asked_which"  # "您是想问 A 吗？"
    assert knowledge_base.decide(c((offer - 0.01, near), (second, 0.3))) == "asked_which"  # "A 还是 B？"
    assert knowledge_base.decide(c((offer - 0.01, near), (second / 2, 0.3))) == "unknown"
    assert knowledge_base.decide(c((0.99, near - 0.01))) == "unknown"  # likely, but near nothing we know
    assert knowledge_base.decide([]) == "unknown"
    # strict (a question the NLU took for out of scope): only a sure and near one is answered
    assert knowledge_base.decide(c((sure, near), (0.1, 0.3)), strict=True) == "unknown"
    assert knowledge_base.decide(c((0.9, 0.7)), strict=True) == "answered"
    assert knowledge_base.decide(c((0.4, 0.7), (0.3, 0.6)), strict=True) == "unknown"


def test_an_entry_staff_add_answers_the_next_question_without_retraining(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        before = knowledge_base.answer(session, question="测试养猫补贴怎么领", now=NOW)
        assert before.outcome != "answered" or before.entry.title != "测试宠物补贴"  # type: ignore[union-attr]
        knowledge_admin.create_entry(
            session,
            title="测试宠物补贴",
            spoken="没有这项补贴。",
            details={},
            source="测试",
            asks=["养猫补贴怎么领", "养狗有补贴吗"],
            actor="xiaoli",
        )
        after = knowledge_base.answer(session, question="测试养猫补贴怎么领", now=NOW)
        assert after.outcome == "answered" and after.entry is not None and after.entry.title == "测试宠物补贴"
        kept = session.scalars(select(KnowledgeQuestion).order_by(KnowledgeQuestion.id)).all()[-2:]
        assert [q.outcome for q in kept][-1] == "answered" and kept[-1].entry_id == after.entry.id


def test_an_entry_added_elsewhere_is_learned_in_the_background_while_questions_go_on(
    seeded: sessionmaker[Session],
) -> None:
    """Another process (a second app worker, a script) adds an entry: this one's next question is
    answered at once from the old index, and the refit done in the background answers the later ones."""
    with seeded() as session:
        knowledge_base.rank(session, "敬老卡在哪办")  # the index as it is
        add(session, "测试养鸟登记", "不用登记。", "养鹦鹉要登记吗", "家里养鸟要不要去办证", "养八哥要报备吗")
        start = time.monotonic()
        meanwhile = knowledge_base.rank(session, "我养了只鹦鹉要去登记伐")
        assert time.monotonic() - start < 1.0  # no refit waited for
        assert meanwhile and meanwhile[0].title != "测试养鸟登记"
        assert knowledge_base.rank(session, "养鹦鹉要登记吗")[0].title == "测试养鸟登记"  # word for word at once
        deadline = time.monotonic() + 120
        while knowledge_base.rank(session, "我养了只鹦鹉要去登记伐")[0].title != "测试养鸟登记":
            assert time.monotonic() < deadline, "the background refit never came"
            time.sleep(0.5)


def test_questions_arriving_together_after_a_change_start_one_refit(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        knowledge_base.index(session, wait=True)
        add(session, "测试养鱼须知", "不用登记。", "家里养金鱼要登记吗", "养鱼要不要办证")

    def ask(_: int) -> str:
        with seeded() as own:
            return knowledge_base.rank(own, "敬老卡在哪办")[0].title

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(ask, range(20))) == {"敬老卡在哪办"}  # all answered, none waiting for a fit
    refits = [t for t in threading.enumerate() if t.name == "knowledge-refit"]
    assert len(refits) <= 1
    for refit in refits:
        refit.join(120)


def test_an_edit_of_an_answer_alone_needs_no_refit(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        before = knowledge_base.index(session, wait=True)
        entry = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.title == "长护险怎么申请")).one()
        knowledge_admin.update_entry(
            session,
            entry=entry,
            title=entry.title,
            spoken="改过的回答。",
            details=dict(entry.details),
            source=entry.source,
            actor="xiaoli",
        )
        after = knowledge_base.index(session)
        assert after.model is before.model
        assert knowledge_base.answer(session, question="长护险怎么申请", now=NOW).entry.spoken == "改过的回答。"  # type: ignore[union-attr]


def test_the_answer_api_gives_the_entry_with_its_details_and_keeps_the_question(
    client: TestClient, seeded: sessionmaker[Session]
) -> None:
    with seeded() as session:
        entry = add(session, "测试电费怎么交", "用一网通办或者银行交。", "电费哪能交", "交电费")
        entry.details = {"where": "一网通办", "cost": "按用电量"}
        session.commit()
    sure = client.post("/api/knowledge/answer", json={"question": "电费哪能交", "sender_id": "r1", "channel": "kiosk"})
    body = sure.json()
    assert body["outcome"] == "answered" and body["entry"]["title"] == "测试电费怎么交"
    assert body["entry"]["details"] == [["在哪里办", "一网通办"], ["费用", "按用电量"]]
    nothing = client.post("/api/knowledge/answer", json={"question": "火星上的天气怎么样", "sender_id": "r1"}).json()
    assert nothing["outcome"] == "unknown" and nothing["entry"] is None
    with seeded() as session:
        kept = session.scalars(select(KnowledgeQuestion).where(KnowledgeQuestion.sender_id == "r1")).all()
        assert [(q.text, q.outcome, q.channel) for q in kept] == [
            ("电费哪能交", "answered", "kiosk"),
            ("火星上的天气怎么样", "unknown", ""),
        ]
    assert client.post("/api/knowledge/answer", json={"question": ""}).status_code == 422
