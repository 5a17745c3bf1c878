"""The knowledge base: what residents ask about services and policies, matched at run time.

A question is compared with every way of asking of every entry (and its title): sentence semantics
from the same encoder the NLU uses (nlu/encoder.py), the characters themselves, and toneless
pinyin, which survives a recogniser's same-sound characters. An entry scores as its best way of
asking. Sure of one entry → its answer; two close → "您是想问 A 还是 B？"; nothing near → an honest
"这个我还不知道", and the question is kept for staff (KnowledgeQuestion), who can turn it into a new
entry or another way of asking an old one — and the next resident is answered, without retraining.

The index (vectors and pinyin of every way of asking) is built once and rebuilt when entries or
ways of asking change; only new sentences are encoded again.
"""

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from nlu.encoder import encode
from nlu.text import normal, syllables

# How the three similarities are weighed, and when the best entry is sure enough: chosen by
# leave-one-out over the seeded ways of asking (bench/knowledge_report.py --tune), never on the
# independent test questions.
WEIGHTS = (0.6, 0.25, 0.15)  # meaning, characters, pinyin
SURE = 0.62  # the best entry answers …
MARGIN = 0.04  # … when it leads the next entry by this much; else "A 还是 B？"
NEAR = 0.5  # below this, no entry is near: "这个我还不知道"
# Words that say "I have a question" and nothing about which: left out before comparing.
_FILLER = re.compile(
    r"请问|问一下|问下|我想问|想问问|想问|我问|打听一下|麻烦|你好|您好|侬好|帮我|告诉我|一下|吗|呀|啊|呢|伐|哦|吧"
)
# An entry's details, for the screen and chat (never read aloud): what each is called there.
DETAILS = {"who": "谁可以办", "bring": "要带", "where": "在哪里办", "hours": "时间", "phone": "电话", "cost": "费用"}
MOST_ASKED_DAYS = 30
TILES = 12  # titles offered by touch


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    title: str
    score: float


@dataclass
class Result:
    outcome: str  # answered | asked_which | unknown
    candidates: list[Candidate]  # best first
    entry: KnowledgeEntry | None = None
    question_id: int | None = None


@dataclass
class _Index:
    signature: tuple[Any, ...]
    entry_of: list[int]  # for each way of asking, its entry
    titles: dict[int, str]
    texts: list[str]  # normalised
    pinyin: list[str]
    vectors: np.ndarray  # unit rows
    exact: dict[str, int] = field(default_factory=dict)  # a title or way of asking, word for word


_lock = threading.Lock()
_index: _Index | None = None
_vectors: dict[str, np.ndarray] = {}  # sentence → unit vector, kept across rebuilds


def core(text: str) -> str:
    """The question without spaces, punctuation and filler words (numbers in one form)."""
    stripped = _FILLER.sub("", normal(text))
    return stripped or normal(text)


def _unit(texts: list[str]) -> np.ndarray:
    missing = [t for t in dict.fromkeys(texts) if t not in _vectors]
    if missing:
        for text, vector in zip(missing, encode(missing), strict=True):
            _vectors[text] = vector / (np.linalg.norm(vector) or 1.0)
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    return np.vstack([_vectors[t] for t in texts])


def _signature(session: Session) -> tuple[Any, ...]:
    """What the index was built from: which database, which entries and ways of asking, and the last
    edit (a changed title changes updated_at). One small query per question."""
    entries = session.execute(
        select(func.count(KnowledgeEntry.id), func.sum(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))
    ).one()
    asks = session.execute(select(func.count(KnowledgeAsk.id), func.sum(KnowledgeAsk.id))).one()
    return (str(session.get_bind().url), *entries, *asks)


def index(session: Session) -> _Index:
    """The index of every way of asking, rebuilt when the entries changed."""
    global _index
    signature = _signature(session)
    with _lock:
        if _index is not None and _index.signature == signature:
            return _index
        entries = session.scalars(select(KnowledgeEntry).options(selectinload(KnowledgeEntry.asks))).all()
        entry_of: list[int] = []
        texts: list[str] = []
        exact: dict[str, int] = {}
        for entry in entries:
            for said in [entry.title, *(ask.text for ask in entry.asks)]:
                text = core(said)
                if text:
                    entry_of.append(entry.id)
                    texts.append(text)
                    exact.setdefault(normal(said), entry.id)
        _index = _Index(
            signature=signature,
            entry_of=entry_of,
            titles={e.id: e.title for e in entries},
            texts=texts,
            pinyin=[" ".join(syllables(t)) for t in texts],
            vectors=_unit(texts),
            exact=exact,
        )
        return _index


def rank(session: Session, question: str, *, limit: int = 3) -> list[Candidate]:
    """The entries nearest to `question`, best first, each scored by its nearest way of asking."""
    built = index(session)
    if not built.texts:
        return []
    said = normal(question)
    if said in built.exact:
        best = built.exact[said]
        return [Candidate(best, built.titles[best], 1.0)]
    text = core(question)
    meaning = built.vectors @ _unit([text])[0]
    chars = process.cdist([text], built.texts, scorer=fuzz.ratio)[0] / 100.0
    sounds = process.cdist([" ".join(syllables(text))], built.pinyin, scorer=fuzz.ratio)[0] / 100.0
    scores = WEIGHTS[0] * meaning + WEIGHTS[1] * chars + WEIGHTS[2] * sounds
    best: dict[int, float] = {}
    for entry_id, score in zip(built.entry_of, scores.tolist(), strict=True):
        if score > best.get(entry_id, -1.0):
            best[entry_id] = score
    ranked = sorted(best.items(), key=lambda pair: pair[1], reverse=True)[:limit]
    return [Candidate(entry_id, built.titles[entry_id], round(score, 4)) for entry_id, score in ranked]


def decide(candidates: list[Candidate]) -> str:
    """answered | asked_which | unknown, from the scores alone."""
    if not candidates or candidates[0].score < NEAR:
        return "unknown"
    runner_up = candidates[1].score if len(candidates) > 1 else 0.0
    if candidates[0].score >= SURE and candidates[0].score - runner_up >= MARGIN:
        return "answered"
    return "asked_which"


def answer(session: Session, *, question: str, sender_id: str = "", channel: str = "", now: datetime) -> Result:
    """Match a resident's question and keep it (what staff see, and what "most asked" counts)."""
    candidates = rank(session, question)
    outcome = decide(candidates)
    entry = session.get(KnowledgeEntry, candidates[0].entry_id) if outcome == "answered" else None
    kept = KnowledgeQuestion(
        text=question.strip()[:200],
        asked_at=now,
        sender_id=sender_id[:128],
        channel=channel[:32],
        entry_id=candidates[0].entry_id if candidates else None,
        score=candidates[0].score if candidates else 0.0,
        outcome=outcome,
    )
    session.add(kept)
    session.commit()
    return Result(outcome=outcome, candidates=candidates, entry=entry, question_id=kept.id)


def labelled_details(entry: KnowledgeEntry) -> list[tuple[str, str]]:
    return [(label, entry.details[key]) for key, label in DETAILS.items() if entry.details.get(key)]


def most_asked(session: Session, *, now: datetime, limit: int = 8) -> list[str]:
    """The titles residents were answered with most in the last 30 days, then the others by title."""
    since = now - timedelta(days=MOST_ASKED_DAYS)
    counted = session.execute(
        select(KnowledgeEntry.title, func.count(KnowledgeQuestion.id).label("asked"))
        .join(KnowledgeQuestion, KnowledgeQuestion.entry_id == KnowledgeEntry.id)
        .where(KnowledgeQuestion.asked_at >= since, KnowledgeQuestion.outcome == "answered")
        .group_by(KnowledgeEntry.title)
        .order_by(func.count(KnowledgeQuestion.id).desc(), KnowledgeEntry.title)
        .limit(limit)
    ).all()
    titles = [row.title for row in counted]
    if len(titles) < limit:
        rest = session.scalars(
            select(KnowledgeEntry.title).where(KnowledgeEntry.title.not_in(titles)).order_by(KnowledgeEntry.id)
        )
        titles += list(rest)[: limit - len(titles)]
    return titles
