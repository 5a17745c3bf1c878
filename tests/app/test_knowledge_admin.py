"""Staff keep the knowledge base (bot/services/knowledge_admin.py and the console's 知识库 and
没答上的问题 pages): rules with Chinese refusals that leave nothing half-written, each change kept
before/after and audited, residents' open questions grouped and turned into entries or ways of
asking — and the next question answered, without retraining."""

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.models import AuditEntry, ContentChange, KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from bot.services import knowledge_admin, knowledge_base
from bot.services.knowledge_admin import KnowledgeError
from tests.app.conftest import SATURDAY_10AM

NOW = SATURDAY_10AM.astimezone(timezone.utc)
GLASSES = "社区里能不能借到老花镜"


def create(session: Session, title: str = "借老花镜", *asks: str, **fields: object) -> KnowledgeEntry:
    values: dict[str, object] = {
        "spoken": "党群服务站前台可以借老花镜，用好请还回来。",
        "details": {"where": "党群服务站前台", "cost": "免费"},
        "source": "居委会",
        **fields,
    }
    return knowledge_admin.create_entry(
        session,
        title=title,
        asks=list(asks) or ["哪里借老花镜", "老花镜可以借吗"],
        actor="admin",
        **values,  # type: ignore[arg-type]
    )


def ask(session: Session, text: str, *, outcome: str = "unknown", score: float = 0.0, entry_id: int | None = None,
        at: datetime = NOW) -> int:  # fmt: skip
    question = KnowledgeQuestion(text=text, outcome=outcome, score=score, entry_id=entry_id, asked_at=at, sender_id="r")
    session.add(question)
    session.commit()
    return question.id


def changes(session: Session) -> list[ContentChange]:
    return list(
        session.scalars(select(ContentChange).where(ContentChange.kind == "knowledge").order_by(ContentChange.id))
    )


def audits(session: Session) -> list[tuple[str, str, str, str]]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.object_kind == "knowledge").order_by(AuditEntry.id))
    return [(a.actor, a.action, a.object_id, a.detail) for a in rows]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- entries --------------------------------------------------------------------------------------


def test_a_new_entry_is_kept_with_its_asks_pending_confirmation_and_recorded(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        entry = create(session, " 借老花镜 ", "哪里借老花镜", " 老花镜可以借吗 ", "", "哪里借老花镜!")
        entry_id = entry.id
    with seeded() as session:
        row = session.get(KnowledgeEntry, entry_id)
        assert row is not None
        assert (row.title, row.needs_confirmation, row.checked_by, row.checked_at) == ("借老花镜", True, "", None)
        assert row.details == {"where": "党群服务站前台", "cost": "免费"}
        assert sorted(a.text for a in row.asks) == ["哪里借老花镜", "老花镜可以借吗"]  # blank and same-words dropped
        assert all(a.added_by == "admin" for a in row.asks)
        [change] = changes(session)
        assert change.before == {} and change.actor == "admin" and change.name == "借老花镜"
        assert change.after["asks"] == ["哪里借老花镜", "老花镜可以借吗"] and change.after["needs_confirmation"] is True
        assert audits(session) == [("admin", "create", str(entry_id), "")]


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"title": "借"}, "标题至少要2个字"),
        ({"title": "借" * 81}, "标题最多80个字"),
        ({"title": "敬老卡在哪办"}, "已经有一个叫“敬老卡在哪办”的条目了"),
        ({"spoken": "   "}, "回答不能是空的"),
        ({"spoken": "好" * 121}, "最多120个字"),
        ({"spoken": "第一句。第二句。第三句。"}, "最多两句，现在有3句"),
        ({"asks": ["借" * 201]}, "一种问法最多200个字"),
        ({"asks": ["敬老卡在哪办"]}, "已经是条目“敬老卡在哪办”的问法了"),
        ({"asks": ["？！"]}, "里没有字"),
        ({"details": {"price": "1元"}}, "细节只能写：谁可以办、要带、在哪里办、时间、电话、费用"),
    ],
)
def test_entries_that_break_a_rule_are_refused_in_chinese_and_nothing_is_written(
    seeded: sessionmaker[Session], fields: dict[str, object], refusal: str
) -> None:
    fields = dict(fields)  # the parameter is shared by both databases' runs
    with seeded() as session:
        before = count(session, KnowledgeEntry), count(session, KnowledgeAsk)
        title = str(fields.pop("title", "借老花镜"))
        asks = list(fields.pop("asks", ["哪里借老花镜"]))  # type: ignore[call-overload]
        with pytest.raises(KnowledgeError, match=re.escape(refusal)):
            create(session, title, *asks, **fields)
    with seeded() as session:
        assert (count(session, KnowledgeEntry), count(session, KnowledgeAsk)) == before
        assert changes(session) == [] and audits(session) == []


def test_an_edit_keeps_before_and_after_and_an_unchanged_save_writes_nothing(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        entry = create(session)
        assert not knowledge_admin.update_entry(
            session, entry=entry, title="借老花镜", spoken=entry.spoken, details=dict(entry.details), source="居委会",
            actor="xiaoli",
        )  # fmt: skip
        assert len(changes(session)) == 1
        assert knowledge_admin.update_entry(
            session, entry=entry, title="老花镜哪里借", spoken="党群服务站可以借。",
            details={"where": "党群服务站", "hours": ""}, source="居委会通知", actor="xiaoli",
        )  # fmt: skip
        with pytest.raises(KnowledgeError, match="已经有一个叫“敬老卡在哪办”的条目了"):
            knowledge_admin.update_entry(
                session, entry=entry, title="敬老卡在哪办", spoken="x。", details={}, source="", actor="xiaoli"
            )
        entry_id = entry.id
    with seeded() as session:
        row = session.get(KnowledgeEntry, entry_id)
        assert row is not None and (row.title, row.spoken, row.details) == (
            "老花镜哪里借",
            "党群服务站可以借。",
            {"where": "党群服务站"},
        )
        last = changes(session)[-1]
        assert last.actor == "xiaoli" and last.name == "老花镜哪里借"
        assert (last.before["title"], last.before["spoken"]) == (
            "借老花镜",
            "党群服务站前台可以借老花镜，用好请还回来。",
        )
        assert last.before["details"] == {"where": "党群服务站前台", "cost": "免费"}
        assert (last.after["title"], last.after["source"]) == ("老花镜哪里借", "居委会通知")
        assert [a[1] for a in audits(session)] == ["create", "change"]


def test_ways_of_asking_are_added_and_removed_and_the_matcher_follows(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        entry = create(session, "借老花镜", "哪里借老花镜")
        added = knowledge_admin.add_asks(
            session, entry=entry, texts=["老人看报的眼镜能借吗", "老人看报的眼镜能借吗"], actor="x"
        )
        assert added == ["老人看报的眼镜能借吗"]
        with pytest.raises(KnowledgeError, match="“哪里借 老花镜”这种问法已经有了"):
            knowledge_admin.add_asks(session, entry=entry, texts=["新的问法", "哪里借 老花镜"], actor="x")
        with pytest.raises(KnowledgeError, match="请写上至少一种问法"):
            knowledge_admin.add_asks(session, entry=entry, texts=["  "], actor="x")
        assert sorted(a.text for a in knowledge_admin.get_entry(session, entry.id).asks) == [  # type: ignore[union-attr]
            "哪里借老花镜", "老人看报的眼镜能借吗",
        ]  # fmt: skip
        assert knowledge_base.rank(session, "老人看报的眼镜能借吗")[0].title == "借老花镜"
        gone = next(a for a in entry.asks if a.text == "老人看报的眼镜能借吗")
        assert knowledge_admin.remove_ask(session, entry=entry, ask_id=gone.id, actor="x") == "老人看报的眼镜能借吗"
        with pytest.raises(KnowledgeError, match="没有这种问法"):
            knowledge_admin.remove_ask(session, entry=entry, ask_id=gone.id, actor="x")
        assert [a.text for a in session.scalars(select(KnowledgeAsk).where(KnowledgeAsk.entry_id == entry.id))] == [
            "哪里借老花镜"
        ]
        last = changes(session)[-1]
        assert last.before["asks"] == ["哪里借老花镜", "老人看报的眼镜能借吗"] and last.after["asks"] == [
            "哪里借老花镜"
        ]
        assert [a[3] for a in audits(session)] == ["", "加问法", "删问法"]


def test_checking_an_entry_and_what_needs_review(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        pending = {e.title for e in session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.needs_confirmation))}
        never = {e.title for e in session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.checked_at.is_(None)))}
        assert {e.title for e in knowledge_admin.needing_review(session, now=NOW)} == pending | never
        entry = create(session)
        knowledge_admin.mark_checked(session, entry=entry, actor="xiaoli", now=NOW)
        assert (entry.needs_confirmation, entry.checked_by) == (False, "xiaoli")
        last = changes(session)[-1]
        assert last.before["needs_confirmation"] is True and last.before["checked_at"] is None
        assert last.after["needs_confirmation"] is False and last.after["checked_at"] == NOW.isoformat()
        assert "借老花镜" not in {
            e.title for e in knowledge_admin.needing_review(session, now=NOW + timedelta(days=180))
        }
        later = NOW + timedelta(days=181)
        assert "借老花镜" in {e.title for e in knowledge_admin.needing_review(session, now=later)}
        assert knowledge_admin.is_stale(entry, now=later) and not knowledge_admin.is_stale(entry, now=NOW)


def test_entries_are_found_by_words_in_title_answer_or_ways_of_asking(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        create(session, "借老花镜", "看报眼镜哪里借")
        assert [e.title for e in knowledge_admin.entries(session, words="看报眼镜")] == ["借老花镜"]
        assert [e.title for e in knowledge_admin.entries(session, words="前台 还回来")] == ["借老花镜"]
        assert knowledge_admin.entries(session, words="老花镜 火星") == []
        assert len(knowledge_admin.entries(session)) == count(session, KnowledgeEntry)


# --- the questions residents asked ------------------------------------------------------------------


def test_open_questions_are_grouped_by_wording_most_asked_first(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        card = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.title == "敬老卡在哪办")).one()
        a = ask(session, GLASSES)
        b = ask(session, "请问社区里能不能借到老花镜呀", at=NOW - timedelta(days=1))
        c = ask(session, GLASSES, at=NOW - timedelta(days=2))
        d = ask(session, "敬老卡丢了怎么补办", outcome="answered", score=0.55, entry_id=card.id)
        ask(session, "敬老卡在哪办", outcome="answered", score=1.0, entry_id=card.id)  # sure: not shown
        ask(session, "火星上有没有居委会", at=NOW - timedelta(days=91))  # too long ago
        done = ask(session, "小区里能养鸡吗")
        session.get(KnowledgeQuestion, done).handled = True  # type: ignore[union-attr]
        session.commit()
        groups = knowledge_admin.unanswered_groups(session, now=NOW)
    assert [(g.text, g.count, sorted(g.question_ids)) for g in groups] == [
        (GLASSES, 3, sorted([a, b, c])),
        ("敬老卡丢了怎么补办", 1, [d]),
    ]
    assert groups[0].examples == [GLASSES, "请问社区里能不能借到老花镜呀"]
    assert groups[0].entry_id is None and not groups[0].unsure and groups[0].last == NOW
    assert (groups[1].entry_title, groups[1].unsure) == ("敬老卡在哪办", True)


def test_a_group_becomes_an_entry_and_the_next_resident_is_answered(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        first = knowledge_base.answer(session, question=GLASSES, now=NOW)
        assert first.outcome == "unknown" and first.question_id is not None
        ids = [first.question_id, ask(session, GLASSES)]
        entry = knowledge_admin.entry_from_questions(
            session, question_ids=ids, title="借老花镜", spoken="党群服务站前台可以借老花镜。", actor="xiaoli",
            more_asks=["老花眼镜可以借吗", "社区里能不能借到老花镜！"],  # the second: a question's words again
        )  # fmt: skip
        assert entry.needs_confirmation and [a.text for a in entry.asks] == [GLASSES, "老花眼镜可以借吗"]
        assert all(q.handled for q in session.scalars(select(KnowledgeQuestion).where(KnowledgeQuestion.id.in_(ids))))
        assert knowledge_admin.unanswered_groups(session, now=NOW) == []
        [change] = changes(session)
        assert change.before == {} and change.after["asks"] == [GLASSES, "老花眼镜可以借吗"]
        assert audits(session) == [("xiaoli", "create", str(entry.id), "来自居民的2个问题")]
        with pytest.raises(KnowledgeError, match="已经有人处理过了"):
            knowledge_admin.entry_from_questions(session, question_ids=ids, title="又一条", spoken="好。", actor="x")
        later = knowledge_base.answer(session, question="老花眼镜可以借吗", now=NOW)
        assert later.outcome == "answered" and later.entry is not None and later.entry.title == "借老花镜"
        # in other words: answered, or at least offered first ("您是想问“借老花镜”吗？")
        other = knowledge_base.answer(session, question="哪里可以借老花眼镜", now=NOW)
        assert other.outcome in ("answered", "asked_which") and other.candidates[0].title == "借老花镜"


def test_a_refused_new_entry_leaves_the_questions_open(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        ids = [ask(session, GLASSES)]
        with pytest.raises(KnowledgeError, match="回答不能是空的"):
            knowledge_admin.entry_from_questions(session, question_ids=ids, title="借老花镜", spoken="", actor="x")
        with pytest.raises(KnowledgeError, match="没有选中问题"):
            knowledge_admin.entry_from_questions(session, question_ids=[], title="借老花镜", spoken="好。", actor="x")
        with pytest.raises(KnowledgeError, match="已经有人处理过了"):
            knowledge_admin.entry_from_questions(
                session, question_ids=[ids[0], 99999], title="借老花镜", spoken="好。", actor="x"
            )
    with seeded() as session:
        assert [g.question_ids for g in knowledge_admin.unanswered_groups(session, now=NOW)] == [ids]
        assert session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == "借老花镜")) is None
        assert changes(session) == []


def test_questions_become_ways_of_asking_of_an_existing_entry(seeded: sessionmaker[Session]) -> None:
    with seeded() as session:
        entry = create(session, "借老花镜", "哪里借老花镜")
        unsure = ask(session, "老花镜 哪里借", outcome="answered", score=0.52, entry_id=entry.id)
        ids = [unsure, ask(session, "看报眼镜能借伐"), ask(session, "哪里借老花镜")]
        added = knowledge_admin.add_questions_to_entry(session, question_ids=ids, entry=entry, actor="xiaoli")
        assert added == ["老花镜 哪里借", "看报眼镜能借伐"]  # the one it had already is not added twice
        assert sorted(a.text for a in knowledge_admin.get_entry(session, entry.id).asks) == sorted(  # type: ignore[union-attr]
            ["哪里借老花镜", "老花镜 哪里借", "看报眼镜能借伐"]
        )
        assert all(q.handled for q in session.scalars(select(KnowledgeQuestion).where(KnowledgeQuestion.id.in_(ids))))
        last = changes(session)[-1]
        assert last.before["asks"] == ["哪里借老花镜"] and last.after["asks"] == [
            "哪里借老花镜",
            "老花镜 哪里借",
            "看报眼镜能借伐",
        ]
        assert audits(session)[-1] == ("xiaoli", "change", str(entry.id), "加了居民的3个问题")
        with pytest.raises(KnowledgeError, match="已经有人处理过了"):
            knowledge_admin.add_questions_to_entry(session, question_ids=ids[:1], entry=entry, actor="xiaoli")


# --- the pages --------------------------------------------------------------------------------------


def entry_id_of(factory: sessionmaker[Session], title: str) -> int:
    with factory() as session:
        return session.scalars(select(KnowledgeEntry.id).where(KnowledgeEntry.title == title)).one()


def test_the_knowledge_pages_list_search_and_show_what_needs_review(staff: TestClient) -> None:
    page = staff.get("/staff/knowledge")
    assert page.status_code == 200 and "需要核实" in page.text and "待核实" in page.text and "敬老卡在哪办" in page.text
    assert '<a href="/staff/knowledge" class="here">知识库</a>' in page.text
    found = staff.get("/staff/knowledge", params={"q": "敬老卡"})
    assert (
        "敬老卡在哪办" in found.text and "垃圾分类" not in found.text.split('id="entries"')[1].split('id="review"')[0]
    )
    assert "没有找到含“火星”的条目" in staff.get("/staff/knowledge", params={"q": "火星"}).text


def test_staff_create_edit_add_and_remove_asks_and_check_an_entry_from_the_pages(
    staff: TestClient, accounts: sessionmaker[Session], clock: dict[str, datetime]
) -> None:
    form = {"title": "借老花镜", "spoken": "党群服务站前台可以借老花镜。", "where": "党群服务站前台", "cost": "免费",
            "source": "居委会", "asks": "哪里借老花镜\r\n老花镜可以借吗\r\n"}  # fmt: skip
    made = staff.post("/staff/knowledge/new", data=form, follow_redirects=False)
    assert made.status_code == 303
    entry_id = entry_id_of(accounts, "借老花镜")
    assert made.headers["location"] == f"/staff/knowledge/{entry_id}"
    shown = staff.get(made.headers["location"]).text
    assert "已建好（待核实）" in shown and "哪里借老花镜" in shown and 'value="党群服务站前台"' in shown
    refused = staff.post(f"/staff/knowledge/{entry_id}", data={**form, "spoken": "一。二。三。"})
    assert refused.status_code == 400 and "最多两句，现在有3句" in html.unescape(refused.text)
    assert "一。二。三。" in refused.text  # what staff typed is kept in the box
    saved = staff.post(
        f"/staff/knowledge/{entry_id}", data={**form, "hours": "每天 8:30-17:00"}, follow_redirects=False
    )
    assert saved.status_code == 303
    added = staff.post(f"/staff/knowledge/{entry_id}/asks", data={"asks": "看报眼镜能借伐\n"}, follow_redirects=False)
    assert added.status_code == 303 and "加了1种问法" in staff.get(f"/staff/knowledge/{entry_id}").text
    again = staff.post(f"/staff/knowledge/{entry_id}/asks", data={"asks": "看报眼镜能借伐"})
    assert again.status_code == 400 and "“看报眼镜能借伐”这种问法已经有了" in html.unescape(again.text)
    with accounts() as session:
        ask_id = session.scalars(select(KnowledgeAsk.id).where(KnowledgeAsk.text == "老花镜可以借吗")).one()
    assert staff.post(f"/staff/knowledge/{entry_id}/asks/{ask_id}/delete", follow_redirects=False).status_code == 303
    checked = staff.post(f"/staff/knowledge/{entry_id}/checked")
    assert "“借老花镜”已核实" in html.unescape(checked.text) and "上次核实：admin，2026-11-21 10:00" in checked.text
    with accounts() as session:
        row = session.get(KnowledgeEntry, entry_id)
        assert row is not None and row.details == {
            "where": "党群服务站前台",
            "hours": "每天 8:30-17:00",
            "cost": "免费",
        }
        assert sorted(a.text for a in row.asks) == ["哪里借老花镜", "看报眼镜能借伐"]
        assert (row.needs_confirmation, row.checked_by) == (False, "admin")
        assert [a.detail for a in session.scalars(select(AuditEntry).where(AuditEntry.object_kind == "knowledge"))] == [
            "", "", "加问法", "删问法", "已核实"
        ]  # fmt: skip
    assert staff.get("/staff/knowledge/99999").status_code == 404


def test_the_unanswered_page_turns_a_group_into_an_entry_or_adds_it_to_one(
    staff: TestClient, accounts: sessionmaker[Session]
) -> None:
    with accounts() as session:
        glasses = [ask(session, GLASSES), ask(session, "社区里能不能借到老花镜啊")]
        card = entry_id_of(accounts, "敬老卡在哪办")
        lost = [ask(session, "敬老卡掉了怎么办", outcome="answered", score=0.51, entry_id=card)]
    page = staff.get("/staff/unanswered")
    assert page.status_code == 200 and GLASSES in page.text and "答得没把握" in page.text
    assert f'<option value="{card}" selected>敬老卡在哪办</option>' in page.text  # the entry it leaned to
    assert "对话里其他没听懂的话" in page.text
    unchosen = staff.post("/staff/unanswered/add-to-entry", data={"question": glasses, "entry_id": ""})
    assert unchosen.status_code == 400 and "请先选一个条目" in unchosen.text
    refused = staff.post("/staff/unanswered/new-entry", data={"question": glasses, "title": "借老花镜", "spoken": ""})
    assert refused.status_code == 400 and "回答不能是空的" in refused.text and "<details open>" in refused.text
    made = staff.post(
        "/staff/unanswered/new-entry",
        data={"question": glasses, "title": "借老花镜", "spoken": "党群服务站前台可以借。"},
        follow_redirects=False,
    )
    entry_id = entry_id_of(accounts, "借老花镜")
    assert made.status_code == 303 and made.headers["location"] == f"/staff/knowledge/{entry_id}"
    added = staff.post("/staff/unanswered/add-to-entry", data={"question": lost, "entry_id": card})
    assert "已加到“敬老卡在哪办”：新问法1种" in html.unescape(added.text)
    assert GLASSES not in added.text.split("对话里其他没听懂的话")[0]
    twice = staff.post("/staff/unanswered/add-to-entry", data={"question": lost, "entry_id": card})
    assert twice.status_code == 400 and "已经有人处理过了" in twice.text
    with accounts() as session:
        assert "敬老卡掉了怎么办" in [a.text for a in knowledge_admin.get_entry(session, card).asks]  # type: ignore[union-attr]
        assert sorted(a.text for a in knowledge_admin.get_entry(session, entry_id).asks) == sorted(  # type: ignore[union-attr]
            [GLASSES, "社区里能不能借到老花镜啊"]
        )
        assert session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.object_kind == "unanswered")
        )


def test_strangers_are_sent_to_sign_in_and_other_sites_are_refused(
    client: TestClient, accounts: sessionmaker[Session]
) -> None:
    with accounts() as session:
        ids = [ask(session, GLASSES)]
    for path in ("/staff/knowledge", "/staff/knowledge/new", "/staff/knowledge/1", "/staff/unanswered"):
        away = client.get(path, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"].startswith("/staff/login"), path
    stranger = client.post("/staff/unanswered/new-entry", data={"question": ids, "title": "借老花镜", "spoken": "好。"},
                           follow_redirects=False)  # fmt: skip
    assert stranger.status_code == 303 and stranger.headers["location"] == "/staff/login"
    from tests.app.conftest import sign_in

    assert sign_in(client).status_code == 303
    forged = client.post(
        "/staff/unanswered/new-entry",
        data={"question": ids, "title": "借老花镜", "spoken": "好。"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    with accounts() as session:
        assert session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == "借老花镜")) is None
        assert not session.get(KnowledgeQuestion, ids[0]).handled  # type: ignore[union-attr]
