"""Staff keep the knowledge base: entries, their ways of asking, 核实, and the questions residents
asked that the bot could not answer (or answered without much confidence) turned into entries or
ways of asking. The matcher (bot/services/knowledge_base.py) rebuilds its index when entries or
ways of asking change, so the next resident's question is matched against what staff saved here —
no retraining. Every change is kept (ContentChange, before and after) and audited."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.models import ContentChange, KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from bot.services import audit, knowledge_base
from bot.services.knowledge_base import DETAILS, core
from bot.services.records import as_utc
from nlu.text import normal

TITLE_MIN, TITLE_MAX = 2, 80
SPOKEN_MAX = 120  # read aloud: two short sentences
SPOKEN_SENTENCES = 2
ASK_MAX = 200
DETAIL_MAX = 300
SOURCE_MAX = 300
LOW_SCORE = 0.6  # answered or "A 还是 B？" with less than this: shown to staff as unsure
REVIEW_DAYS = 180  # an entry not checked for this long is due for 核实 again
SIMILAR = 70  # wordings at least this alike (rapidfuzz ratio, 0–100) are one group
EXAMPLES = 5
_SENTENCE_END = re.compile(r"[。！？!?；;]+")


class KnowledgeError(ValueError):
    """A change staff asked for that breaks a rule; the message is shown to them as it is."""


# --- rules --------------------------------------------------------------------------------------


def _title(session: Session, title: str, *, entry: KnowledgeEntry | None = None) -> str:
    title = " ".join(title.split())
    if len(title) < TITLE_MIN:
        raise KnowledgeError(f"标题至少要{TITLE_MIN}个字。")
    if len(title) > TITLE_MAX:
        raise KnowledgeError(f"标题最多{TITLE_MAX}个字，现在有{len(title)}个。")
    taken = session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == title))
    if taken is not None and taken is not entry:
        raise KnowledgeError(f"已经有一个叫“{title}”的条目了，换个标题，或者去改那一条。")
    return title


def _spoken(spoken: str) -> str:
    spoken = spoken.strip()
    if not spoken:
        raise KnowledgeError("念给居民听的回答不能是空的。")
    if len(spoken) > SPOKEN_MAX:
        raise KnowledgeError(
            f"念给居民听的回答最多{SPOKEN_MAX}个字（两句短句），现在有{len(spoken)}个；细节请写到下面的栏里。"
        )
    sentences = [s for s in _SENTENCE_END.split(spoken) if s.strip()]
    if len(sentences) > SPOKEN_SENTENCES:
        raise KnowledgeError(f"念给居民听的回答最多两句，现在有{len(sentences)}句；细节请写到下面的栏里。")
    return spoken


def _details(details: dict[str, str]) -> dict[str, str]:
    unknown = set(details) - set(DETAILS)
    if unknown:
        raise KnowledgeError("细节只能写：" + "、".join(DETAILS.values()) + "。")
    kept = {}
    for key in DETAILS:  # in the screen's order
        value = " ".join(str(details.get(key, "")).split())
        if len(value) > DETAIL_MAX:
            raise KnowledgeError(f"“{DETAILS[key]}”最多{DETAIL_MAX}个字。")
        if value:
            kept[key] = value
    return kept


def _source(source: str) -> str:
    source = " ".join(source.split())
    if len(source) > SOURCE_MAX:
        raise KnowledgeError(f"来源最多{SOURCE_MAX}个字。")
    return source


def _new_asks(session: Session, entry: KnowledgeEntry | None, texts: list[str], *, strict: bool) -> list[str]:
    """The ways of asking among `texts` that `entry` does not have yet, in order, each once.
    `strict` (staff typed them): one it already has, or another entry's title or way of asking
    (the matcher would not know which to answer), is refused; else (residents' wordings) skipped."""
    own = entry.id if entry is not None else None
    have = {normal(a.text) for a in entry.asks} if entry is not None else set()
    others: dict[str, str] = {}
    for entry_id, title, ask in session.execute(
        select(KnowledgeEntry.id, KnowledgeEntry.title, KnowledgeAsk.text).outerjoin(KnowledgeAsk)
    ):
        if entry_id != own:
            others.setdefault(normal(title), title)
            if ask is not None:
                others.setdefault(normal(ask), title)
    kept: list[str] = []
    typed: set[str] = set()
    for raw in texts:
        text = " ".join(raw.split())
        if not text:
            continue
        if len(text) > ASK_MAX:
            raise KnowledgeError(f"一种问法最多{ASK_MAX}个字：“{text[:20]}…”")
        said = normal(text)
        if not said:
            raise KnowledgeError(f"“{text}”里没有字。")
        if said in typed:  # the same line twice in one go: once
            continue
        typed.add(said)
        if said in have or said in others:
            if not strict:
                continue
            if said in have:
                raise KnowledgeError(f"“{text}”这种问法已经有了。")
            raise KnowledgeError(f"“{text}”已经是条目“{others[said]}”的问法了，一种问法只能属于一个条目。")
        kept.append(text)
    return kept


# --- snapshots, history -------------------------------------------------------------------------


def snapshot(entry: KnowledgeEntry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "spoken": entry.spoken,
        "details": dict(entry.details or {}),
        "source": entry.source,
        "asks": [a.text for a in sorted(entry.asks, key=lambda a: a.id or 0)],
        "needs_confirmation": entry.needs_confirmation,
        "checked_by": entry.checked_by,
        "checked_at": as_utc(entry.checked_at).isoformat() if entry.checked_at else None,
    }


def _keep(
    session: Session, entry: KnowledgeEntry, before: dict[str, Any], *, actor: str, action: str, detail: str = ""
) -> None:
    session.flush()
    after = snapshot(entry)
    session.add(ContentChange(kind="knowledge", name=entry.title[:64], before=before, after=after, actor=actor))
    audit.record(session, actor=actor, action=action, kind="knowledge", object_id=str(entry.id), detail=detail)
    session.commit()
    # The matcher's index, rebuilt now when titles or ways of asking changed (its classifier
    # refitted: seconds): staff wait for it on their save, so the next resident's question meets it.
    knowledge_base.index(session, wait=True)


def get_entry(session: Session, entry_id: int) -> KnowledgeEntry | None:
    return session.scalar(
        select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id).options(selectinload(KnowledgeEntry.asks))
    )


def entry_history(session: Session, *, entry: KnowledgeEntry, limit: int = 20) -> list[ContentChange]:
    """Changes to this entry under any of the titles it had (kept by title: policy edits too)."""
    return list(
        session.scalars(
            select(ContentChange)
            .where(ContentChange.kind.in_(("knowledge", "policy")), ContentChange.name == entry.title[:64])
            .order_by(ContentChange.id.desc())
            .limit(limit)
        )
    )


# --- entries ------------------------------------------------------------------------------------


def create_entry(
    session: Session,
    *,
    title: str,
    spoken: str,
    details: dict[str, str],
    source: str,
    asks: list[str],
    actor: str,
) -> KnowledgeEntry:
    """A new entry, 待核实 until a member of staff marks it checked (mark_checked)."""
    try:
        entry = KnowledgeEntry(
            title=_title(session, title),
            spoken=_spoken(spoken),
            details=_details(details),
            source=_source(source),
            needs_confirmation=True,
        )
        new = _new_asks(session, None, asks, strict=True)
    except KnowledgeError:
        session.rollback()
        raise
    entry.asks = [KnowledgeAsk(text=text, added_by=actor[:64]) for text in new]
    session.add(entry)
    _keep(session, entry, {}, actor=actor, action="create")
    return entry


def update_entry(
    session: Session,
    *,
    entry: KnowledgeEntry,
    title: str,
    spoken: str,
    details: dict[str, str],
    source: str,
    actor: str,
) -> bool:
    """Save the edited fields; False (and nothing written) when nothing changed."""
    before = snapshot(entry)
    try:
        new_title, new_spoken = _title(session, title, entry=entry), _spoken(spoken)
        new_details, new_source = _details(details), _source(source)
    except KnowledgeError:
        session.rollback()
        raise
    if (new_title, new_spoken, new_details, new_source) == (
        before["title"],
        before["spoken"],
        before["details"],
        before["source"],
    ):
        return False
    entry.title, entry.spoken, entry.details, entry.source = new_title, new_spoken, new_details, new_source
    _keep(session, entry, before, actor=actor, action="change")
    return True


def add_asks(session: Session, *, entry: KnowledgeEntry, texts: list[str], actor: str) -> list[str]:
    """More ways of asking for `entry` (what staff typed, one per line); the ones added."""
    before = snapshot(entry)
    try:
        new = _new_asks(session, entry, texts, strict=True)
    except KnowledgeError:
        session.rollback()
        raise
    if not new:
        raise KnowledgeError("请写上至少一种问法，一行一种。")
    entry.asks.extend(KnowledgeAsk(text=text, added_by=actor[:64]) for text in new)
    _keep(session, entry, before, actor=actor, action="change", detail="加问法")
    return new


def remove_ask(session: Session, *, entry: KnowledgeEntry, ask_id: int, actor: str) -> str:
    """Take one way of asking off `entry`; its text."""
    found = next((a for a in entry.asks if a.id == ask_id), None)
    if found is None:
        raise KnowledgeError("这个条目没有这种问法（可能已经删掉了）。")
    before = snapshot(entry)
    entry.asks.remove(found)
    session.delete(found)
    _keep(session, entry, before, actor=actor, action="change", detail="删问法")
    return found.text


def mark_checked(session: Session, *, entry: KnowledgeEntry, actor: str, now: datetime) -> None:
    """核实: a member of staff confirms the entry is right as it stands, now."""
    before = snapshot(entry)
    entry.needs_confirmation, entry.checked_by, entry.checked_at = False, actor[:64], now
    _keep(session, entry, before, actor=actor, action="change", detail="已核实")


def entries(session: Session, *, words: str = "") -> list[KnowledgeEntry]:
    """Every entry, by title; with `words`, those whose title, answer or a way of asking holds
    each of the words (split on spaces)."""
    query = select(KnowledgeEntry).options(selectinload(KnowledgeEntry.asks)).order_by(KnowledgeEntry.title)
    for word in words.split()[:5]:
        pattern = f"%{word[:40]}%"
        query = query.where(
            or_(
                KnowledgeEntry.title.like(pattern),
                KnowledgeEntry.spoken.like(pattern),
                KnowledgeEntry.id.in_(select(KnowledgeAsk.entry_id).where(KnowledgeAsk.text.like(pattern))),
            )
        )
    return list(session.scalars(query))


def needing_review(session: Session, *, now: datetime) -> list[KnowledgeEntry]:
    """Entries 待核实, and entries nobody has checked for REVIEW_DAYS days: never checked first,
    then the longest ago."""
    since = now - timedelta(days=REVIEW_DAYS)
    found = session.scalars(
        select(KnowledgeEntry).where(
            or_(
                KnowledgeEntry.needs_confirmation.is_(True),
                KnowledgeEntry.checked_at.is_(None),
                KnowledgeEntry.checked_at < since,
            )
        )
    )
    return sorted(found, key=lambda e: (e.checked_at is not None, as_utc(e.checked_at) if e.checked_at else 0, e.title))


def is_stale(entry: KnowledgeEntry, *, now: datetime) -> bool:
    return entry.checked_at is None or as_utc(entry.checked_at) < now - timedelta(days=REVIEW_DAYS)


# --- the questions residents asked --------------------------------------------------------------


@dataclass
class Group:
    text: str  # the wording asked most often
    count: int
    examples: list[str]  # distinct wordings, the representative first
    question_ids: list[int]
    last: datetime
    outcomes: Counter[str] = field(default_factory=Counter)
    entry_id: int | None = None  # the entry the matcher leaned to, if any
    entry_title: str = ""
    _key: str = ""
    _texts: Counter[str] = field(default_factory=Counter)

    @property
    def unsure(self) -> bool:
        """Only ever answered (or asked "A 还是 B？") without confidence, never "不知道"."""
        return self.outcomes["unknown"] == 0


def open_questions(session: Session, *, now: datetime, days: int = 90) -> list[KnowledgeQuestion]:
    """Questions of the last `days` not yet handled: unanswered, or matched with a low score."""
    return list(
        session.scalars(
            select(KnowledgeQuestion)
            .where(
                KnowledgeQuestion.handled.is_(False),
                KnowledgeQuestion.asked_at >= now - timedelta(days=days),
                or_(
                    KnowledgeQuestion.outcome == "unknown",
                    (KnowledgeQuestion.outcome.in_(("answered", "asked_which")))
                    & (KnowledgeQuestion.score < LOW_SCORE),
                ),
            )
            .order_by(KnowledgeQuestion.asked_at, KnowledgeQuestion.id)
        )
    )


def unanswered_groups(session: Session, *, now: datetime, days: int = 90, similarity: int = SIMILAR) -> list[Group]:
    """Open questions grouped by similar wording (fuzzy match of the words without filler), most
    asked first, then the most recent."""
    groups: list[Group] = []
    for question in open_questions(session, now=now, days=days):
        key = core(question.text)
        home = next((g for g in groups if fuzz.ratio(g._key, key) >= similarity), None)
        if home is None:
            home = Group(text=question.text, count=0, examples=[], question_ids=[], last=question.asked_at, _key=key)
            groups.append(home)
        home.count += 1
        home.question_ids.append(question.id)
        home.last = max(as_utc(home.last), as_utc(question.asked_at))
        home.outcomes[question.outcome] += 1
        home._texts[question.text] += 1
    leaning: dict[int, Counter[int]] = {}
    if groups:
        for question in session.scalars(
            select(KnowledgeQuestion).where(
                KnowledgeQuestion.id.in_([i for g in groups for i in g.question_ids]),
                KnowledgeQuestion.entry_id.is_not(None),
                KnowledgeQuestion.outcome != "unknown",
            )
        ):
            leaning.setdefault(question.id, Counter())[question.entry_id] += 1  # type: ignore[index]
    titles = dict(session.execute(select(KnowledgeEntry.id, KnowledgeEntry.title)).tuples().all())
    for group in groups:
        group.examples = [text for text, _ in group._texts.most_common(EXAMPLES)]
        group.text = group.examples[0]
        votes: Counter[int] = Counter()
        for question_id in group.question_ids:
            votes.update(leaning.get(question_id, Counter()))
        if votes:
            group.entry_id = votes.most_common(1)[0][0]
            group.entry_title = titles.get(group.entry_id, "")
    groups.sort(key=lambda g: (g.count, as_utc(g.last)), reverse=True)
    return groups


def _open(session: Session, question_ids: list[int]) -> list[KnowledgeQuestion]:
    wanted = sorted(set(question_ids))
    if not wanted:
        raise KnowledgeError("没有选中问题。")
    found = list(
        session.scalars(
            select(KnowledgeQuestion).where(KnowledgeQuestion.id.in_(wanted)).order_by(KnowledgeQuestion.id)
        )
    )
    if len(found) != len(wanted) or any(q.handled for q in found):
        raise KnowledgeError("这些问题已经有人处理过了，请刷新页面再看。")
    return found


def _texts(questions: list[KnowledgeQuestion]) -> list[str]:
    counted = Counter(" ".join(q.text.split())[:ASK_MAX] for q in questions)
    return [text for text, _ in counted.most_common()]


def entry_from_questions(
    session: Session,
    *,
    question_ids: list[int],
    title: str,
    spoken: str,
    actor: str,
    more_asks: list[str] | None = None,
) -> KnowledgeEntry:
    """A new entry (待核实) whose ways of asking are these questions' wordings, and `more_asks`
    staff wrote beside them (the matcher generalises from two or three wordings far better than
    from one); the questions are handled."""
    questions = _open(session, question_ids)
    try:
        entry = KnowledgeEntry(
            title=_title(session, title), spoken=_spoken(spoken), details={}, source="", needs_confirmation=True
        )
        asks = _new_asks(session, None, _texts(questions), strict=False)
        typed = _new_asks(session, None, more_asks or [], strict=True)
        asks += [text for text in typed if normal(text) not in {normal(a) for a in asks}]
    except KnowledgeError:
        session.rollback()
        raise
    entry.asks = [KnowledgeAsk(text=text, added_by=actor[:64]) for text in asks]
    session.add(entry)
    for question in questions:
        question.handled = True
    _keep(session, entry, {}, actor=actor, action="create", detail=f"来自居民的{len(questions)}个问题")
    return entry


def add_questions_to_entry(
    session: Session, *, question_ids: list[int], entry: KnowledgeEntry, actor: str
) -> list[str]:
    """These questions' wordings become ways of asking of `entry` (those it lacks); they are handled.
    The wordings added."""
    questions = _open(session, question_ids)
    before = snapshot(entry)
    try:
        asks = _new_asks(session, entry, _texts(questions), strict=False)
    except KnowledgeError:
        session.rollback()
        raise
    entry.asks.extend(KnowledgeAsk(text=text, added_by=actor[:64]) for text in asks)
    for question in questions:
        question.handled = True
    _keep(session, entry, before, actor=actor, action="change", detail=f"加了居民的{len(questions)}个问题")
    return asks


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count(KnowledgeEntry.id))) or 0
