"""The knowledge base: what residents ask about services and policies, matched at run time.

Each entry has a title and several ways residents ask it. A question is matched in two ways:
- which entry: a linear classifier (logistic regression) over the same features the NLU uses —
  sentence semantics from the pre-trained encoder (nlu/encoder.py), character 1–3-grams, and
  toneless pinyin 1–2-grams, which survive a recogniser's same-sound characters — fitted on every
  entry's title and ways of asking, and on questions no entry answers as a class of their own
  (seconds; again whenever staff change a title or a way of asking, see index());
- how near: the question's best similarity to one of that entry's ways of asking (meaning,
  characters, pinyin), so a question about nothing we know is not forced onto the likeliest entry.
Sure and near → the answer; likely → "您是想问 A 吗？" or, unsure between two, "A 还是 B？" with
都不是; nothing near → an honest
"这个我还不知道", and the question is kept for staff (KnowledgeQuestion), who can turn it into a new
entry or another way of asking an old one — and the next resident is answered, without retraining
the dialogue engine. Chosen against plain best-similarity by cross-validation over the seeded ways
of asking (bench/knowledge_report.py --tune); the independent test questions only measure.
"""

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse
import yaml
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.config import PROJECT_ROOT
from bot.models import KnowledgeAsk, KnowledgeEntry, KnowledgeQuestion
from nlu.encoder import encode
from nlu.text import normal, syllables

# Chosen by cross-validation over the seeded ways of asking and the questions no entry answers
# (bench/knowledge_report.py --tune); never on the test questions.
WEIGHTS = (0.6, 0.25, 0.15)  # nearness: meaning, characters, pinyin
SURE = 0.6  # the likeliest entry answers when the classifier gives it this much …
NEAR = 0.5  # … and the question is this near one of its ways of asking; else
OFFER = 0.1  # "您是想问 A 吗？" when it is this likely, or
SECOND = 0.05  # "A 还是 B？" when the second is this likely too; else "这个我还不知道" —
GATE = 0.3  # and always when the question is this likely none of ours
# A question the NLU took for out of scope ("哪里可以借老花眼镜") may be one staff added an entry for
# since: answered only when this sure and near (never offered).
STRICT_SURE = 0.7
STRICT_NEAR = 0.5
STRENGTH = 20.0  # the classifier's inverse regularisation (C)
TOLERANCE = 1e-3  # when its fit stops: ten times the default, half the time, as good (--tune)
# Questions no entry answers, a class of their own ("none of ours", NONE) beside the entries, so a
# question sharing words with an entry ("敬老卡的密码忘记了怎么办") is not taken for it: an independent
# writer's near-misses and other questions, and the NLU's out_of_scope examples. One within this
# similarity of a way of asking is dropped (a way staff added wins over a negative).
NEGATIVES = (
    PROJECT_ROOT / "content" / "knowledge_negatives.yml",
    PROJECT_ROOT / "nlu_data" / "nlu" / "out_of_scope.yml",
)
NONE = -1
OVERLAP = 85
STAFF_WAIT = 30.0  # seconds a save waits for the refit (112 entries: a few; 1,000: minutes)
# Words that say "I have a question" and nothing about which: left out before comparing.
_FILLER = re.compile(
    r"请问|问一下|问下|我想问|想问问|想问|我问|打听一下|麻烦|你好|您好|侬好|帮我|告诉我|一下"
    r"|你知道|您知道|侬晓得|你晓得|晓得伐|知道吗|吗|呀|啊|呢|伐|哦|吧"
)
# An entry's details, for the screen and chat (never read aloud): what each is called there.
DETAILS = {"who": "谁可以办", "bring": "要带", "where": "在哪里办", "hours": "时间", "phone": "电话", "cost": "费用"}
MOST_ASKED_DAYS = 30
TILES = 7  # titles offered by touch on one page (and 更多): as many long ones as fit a kiosk screen


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    title: str
    score: float  # how likely this entry is the one asked about (the classifier)
    near: float = 0.0  # how near the question is to its nearest way of asking
    none: float = 0.0  # how likely the question is none of ours (the classifier's class NONE)


@dataclass
class Result:
    outcome: str  # answered | asked_which | unknown
    candidates: list[Candidate]  # best first
    entry: KnowledgeEntry | None = None
    question_id: int | None = None
    choices: list[Candidate] = field(default_factory=list)  # offered when asked_which


@dataclass
class _Index:
    signature: tuple[Any, ...]
    entry_of: list[int]  # for each way of asking, its entry
    titles: dict[int, str]
    texts: list[str]  # normalised
    pinyin: list[str]
    vectors: np.ndarray  # unit rows
    exact: dict[str, int] = field(default_factory=dict)  # a title or way of asking, word for word
    chars: TfidfVectorizer | None = None
    sounds: TfidfVectorizer | None = None
    model: LogisticRegression | None = None


logger = logging.getLogger(__name__)
_lock = threading.Lock()  # guards the globals below, never held over a fit
_fitting = threading.Lock()
_index: _Index | None = None
_meanwhile: _Index | None = None  # what answers while a refit runs in the background
_refit: threading.Thread | None = None  # that refit
_refit_rows: tuple[list[int], list[str]] | None = None  # what it learns from
warmed = threading.Event()  # warm_up() has run (the app's /healthz waits for it)
_generation = 0  # builds begun, each from rows read after the one before
_installed = 0  # the build the index is from
_vectors: dict[str, np.ndarray] = {}  # sentence → unit vector, kept across rebuilds


def core(text: str) -> str:
    """The question without spaces, punctuation and filler words (numbers in one form)."""
    stripped = _FILLER.sub("", normal(text))
    return stripped or normal(text)


def spelled(text: str) -> str:
    return " ".join(syllables(text))


def _unit(texts: list[str], *, keep: bool = True) -> np.ndarray:
    """Unit sentence vectors. `keep`: remembered across rebuilds (the ways of asking and the
    negatives); a resident's question is not (else memory would grow with every new question)."""
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    if not keep:
        vectors = encode(texts)
        return np.asarray(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12))
    missing = [t for t in dict.fromkeys(texts) if t not in _vectors]
    if missing:
        for text, vector in zip(missing, encode(missing), strict=True):
            _vectors[text] = vector / (np.linalg.norm(vector) or 1.0)
    return np.vstack([_vectors[t] for t in texts])


def _signature(session: Session) -> tuple[Any, ...]:
    """What the index was built from: which database, which entries and ways of asking, and the last
    edit (a changed title changes updated_at). One small query per question."""
    entries = session.execute(
        select(func.count(KnowledgeEntry.id), func.sum(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))
    ).one()
    asks = session.execute(select(func.count(KnowledgeAsk.id), func.sum(KnowledgeAsk.id))).one()
    bind = session.get_bind()
    return (str(bind.engine.url), *entries, *asks)


def features(built: _Index, texts: list[str], *, keep: bool = True) -> scipy.sparse.csr_matrix:
    assert built.chars is not None and built.sounds is not None
    return scipy.sparse.hstack(
        [
            built.chars.transform(texts),
            built.sounds.transform([spelled(t) for t in texts]),
            scipy.sparse.csr_matrix(_unit(texts, keep=keep)),
        ]
    ).tocsr()


@cache
def negatives() -> tuple[str, ...]:
    """The questions no entry answers (NEGATIVES), normalised as questions are."""
    said: list[str] = []
    for path in NEGATIVES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "nlu" in data:  # Rasa's training data: the out_of_scope intent's examples
            for block in data["nlu"]:
                if block.get("intent") == "out_of_scope":
                    said += [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
        else:
            said += [text for group in data.values() for text in group]
    return tuple(dict.fromkeys(core(text) for text in said))


def fit(
    built: _Index, rows: list[int] | None = None, unanswerable: tuple[str, ...] | None = None
) -> LogisticRegression | None:
    """The classifier over the ways of asking (`rows` of them: all by default; the bench leaves
    some out) and the questions no entry answers (class NONE: `unanswerable`, by default
    negatives(), but for those too like a way of asking). None when there is fewer than two
    entries to tell apart."""
    rows = list(range(len(built.texts))) if rows is None else rows
    texts = [built.texts[i] for i in rows]
    labels = [built.entry_of[i] for i in rows]
    if len(set(labels)) < 2:
        return None
    unanswerable = negatives() if unanswerable is None else unanswerable
    others = [q for q in unanswerable if process.extractOne(q, texts, scorer=fuzz.ratio, score_cutoff=OVERLAP) is None]
    # the n-grams of the entries alone: a question's words no entry has count for none of them
    built.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True).fit(texts)
    built.sounds = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True).fit(
        [spelled(t) for t in texts]
    )
    model = LogisticRegression(C=STRENGTH, tol=TOLERANCE, max_iter=3000)
    return model.fit(features(built, texts + others), labels + [NONE] * len(others))


def _rows(session: Session) -> tuple[list[int], list[str], dict[str, int], dict[int, str]]:
    """What the classifier learns from: each entry's title and ways of asking (normalised)."""
    # in a fixed order (PostgreSQL returns an updated row last), so that unchanged rows compare equal
    query = select(KnowledgeEntry).options(selectinload(KnowledgeEntry.asks)).order_by(KnowledgeEntry.id)
    entries = session.scalars(query).all()
    entry_of: list[int] = []
    texts: list[str] = []
    exact: dict[str, int] = {}
    for entry in entries:
        for said in [entry.title, *(ask.text for ask in sorted(entry.asks, key=lambda a: a.id))]:
            text = core(said)
            if text:
                entry_of.append(entry.id)
                texts.append(text)
                exact.setdefault(normal(said), entry.id)
    return entry_of, texts, exact, {e.id: e.title for e in entries}


def _build(signature: tuple[Any, ...], rows: tuple[list[int], list[str], dict[str, int], dict[int, str]]) -> _Index:
    entry_of, texts, exact, titles = rows
    built = _Index(
        signature=signature,
        entry_of=entry_of,
        titles=titles,
        texts=texts,
        pinyin=[spelled(t) for t in texts],
        vectors=_unit(texts),
        exact=exact,
    )
    built.model = fit(built)
    return built


def _install(built: _Index, generation: int) -> None:
    """`built` becomes the index unless one begun later (from newer rows) is there already."""
    global _index, _installed
    with _lock:
        if generation > _installed:
            _index, _installed = built, generation


def _refit_in_background(signature: tuple[Any, ...], rows: Any, generation: int) -> None:
    global _meanwhile, _refit, _refit_rows
    try:
        _install(_build(signature, rows), generation)
    except Exception:  # the old index goes on answering; the next question tries again
        logger.warning("the knowledge base's index was not rebuilt", exc_info=True)
    finally:
        with _lock:
            if _refit is threading.current_thread():
                _meanwhile = _refit = _refit_rows = None


def index(session: Session, *, wait: bool = False) -> _Index:
    """The index of every way of asking, current with the database. An edit that changes no title
    and no way of asking (a spoken answer, details, 核实) needs no refit. Otherwise the classifier is
    refitted (seconds; minutes with a thousand entries) in the background while the old index goes
    on answering, so a resident never waits for it; only the very first index is built while the
    question waits. `wait`: staff saving an entry wait for the refit (up to STAFF_WAIT), so the
    next resident's question meets what they saved; their save is compared with what the index
    learnt even when the signature looks the same (a rename changes no count)."""
    global _index, _meanwhile, _refit, _refit_rows, _generation
    signature = _signature(session)
    current, meanwhile = _index, _meanwhile
    if not wait:
        if current is not None and current.signature == signature:
            return current
        if meanwhile is not None and meanwhile.signature == signature:
            return meanwhile  # a refit for it is under way
    with _lock:
        # read under the lock, so that builds begin in the order their rows were read
        rows = _rows(session)
        entry_of, texts, exact, titles = rows
        current = _index
        if current is not None and current.signature[0] != signature[0]:
            current = None  # another database's (tests): nothing to answer with meanwhile
        if current is not None and (current.entry_of, current.texts) == (entry_of, texts):
            _index = replace(current, signature=signature, titles=titles, exact=exact)
            return _index
        _generation += 1
        generation = _generation
        refit = _refit
        if current is not None:
            if refit is None or _refit_rows != (entry_of, texts):  # else: the refit under way is this one
                refit = threading.Thread(
                    target=_refit_in_background, args=(signature, rows, generation), name="knowledge-refit", daemon=True
                )
                try:
                    refit.start()
                except RuntimeError:  # no thread to be had now: the old index answers, the next question retries
                    logger.warning("the knowledge base's refit could not start", exc_info=True)
                    return current
                _refit, _refit_rows = refit, (entry_of, texts)
            # the old index, with today's titles and word-for-word questions, until the refit is done
            _meanwhile = meanwhile = replace(current, signature=signature, titles=titles, exact=exact)
    if current is not None and refit is not None and meanwhile is not None:
        if wait:
            refit.join(STAFF_WAIT)
        installed = _index
        return installed if installed is not None and installed.signature == signature else meanwhile
    with _fitting:  # the first index: one build at a time
        installed = _index
        if installed is None or installed.signature[0] != signature[0]:
            built = _build(signature, rows)
            _install(built, generation)
            return built
    return index(session, wait=wait)  # another caller built it meanwhile: reuse it or refit from it


def warm_up(attempts: int = 15) -> None:
    """The index built once at start (the app's lifespan, in a thread), the database waited for a
    little; then /healthz says ready (if the database never came, the first question builds it)."""
    from bot.db import get_sessionmaker

    try:
        for attempt in range(1, attempts + 1):
            try:
                with get_sessionmaker()() as session:
                    index(session)
                return
            except Exception:  # never stops the app: only the first question is slower
                if attempt == attempts:
                    logger.warning("the knowledge base's index was not built at start", exc_info=True)
                else:
                    time.sleep(2)
    finally:
        warmed.set()


def rank(session: Session, question: str, *, limit: int = 3) -> list[Candidate]:
    """The entries most likely asked about, best first, each with how near the question is to it."""
    built = index(session)
    if not built.texts:
        return []
    said = normal(question)
    if said in built.exact:
        best = built.exact[said]
        return [Candidate(best, built.titles[best], 1.0, 1.0)]
    return ranked(built, question, limit=limit)


def ranked(
    built: _Index,
    question: str,
    *,
    limit: int = 3,
    model: LogisticRegression | None = None,
    without: frozenset[int] = frozenset(),
) -> list[Candidate]:
    """`model` and `without` (ways of asking left out): for the bench's cross-validation."""
    model = model or built.model
    nearness = combined(similarities(built, question))
    near: dict[int, float] = {}
    for row, (entry_id, score) in enumerate(zip(built.entry_of, nearness.tolist(), strict=True)):
        if row not in without and score > near.get(entry_id, -1.0):
            near[entry_id] = score
    none = 0.0
    if model is None:  # one entry only: nearness is all there is
        likely = {entry_id: 1.0 for entry_id in near}
    else:
        probabilities = model.predict_proba(features(built, [core(question)], keep=False))[0]
        likely = dict(zip(model.classes_.tolist(), probabilities.tolist(), strict=True))
        # which entry, if it is one of ours; how likely it is none of ours, apart
        none = likely.pop(NONE, 0.0)
        likely = {e: p / max(1.0 - none, 1e-9) for e, p in likely.items()}
    best = sorted((e for e in likely if e in built.titles), key=lambda e: likely[e], reverse=True)[:limit]
    return [
        Candidate(e, built.titles[e], round(likely[e], 4), round(near.get(e, 0.0), 4), round(none, 4)) for e in best
    ]


def similarities(built: _Index, question: str) -> np.ndarray:
    """(3, ways of asking): meaning, characters and pinyin of `question` against each."""
    text = core(question)
    meaning = built.vectors @ _unit([text], keep=False)[0]
    chars = process.cdist([text], built.texts, scorer=fuzz.ratio)[0] / 100.0
    sounds = process.cdist([spelled(text)], built.pinyin, scorer=fuzz.ratio)[0] / 100.0
    return np.vstack([meaning, chars, sounds])


def combined(parts: np.ndarray, weights: tuple[float, float, float] = WEIGHTS) -> np.ndarray:
    summed: np.ndarray = np.asarray(weights) @ parts
    return summed


def decide(
    candidates: list[Candidate],
    *,
    sure: float = SURE,
    near: float = NEAR,
    offer: float = OFFER,
    second: float = SECOND,
    gate: float = GATE,
    strict: bool = False,
) -> str:
    """answered | asked_which | unknown, from the scores alone. `strict`: for a question the NLU took
    for something out of scope, only a sure and near entry answers, and none is offered."""
    if strict:
        sure, near, offer, second = STRICT_SURE, STRICT_NEAR, 2.0, 2.0
    if not candidates or candidates[0].near < near or candidates[0].none >= gate:
        return "unknown"
    if candidates[0].score >= sure:
        return "answered"
    if candidates[0].score >= offer or (len(candidates) > 1 and candidates[1].score >= second):
        return "asked_which"
    return "unknown"


def offered(candidates: list[Candidate], *, second: float = SECOND) -> list[Candidate]:
    """What "您是想问……？" offers: the likeliest entry, and the next one if it is likely too."""
    return candidates[:1] + [c for c in candidates[1:2] if c.score >= second]


def answer(
    session: Session, *, question: str, sender_id: str = "", channel: str = "", now: datetime, strict: bool = False
) -> Result:
    """Match a resident's question and keep it (what staff see, and what "most asked" counts)."""
    candidates = rank(session, question)
    outcome = decide(candidates, strict=strict)
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
    choices = offered(candidates) if outcome == "asked_which" else []
    return Result(outcome=outcome, candidates=candidates, entry=entry, question_id=kept.id, choices=choices)


def labelled_details(entry: KnowledgeEntry) -> list[tuple[str, str]]:
    return [(label, entry.details[key]) for key, label in DETAILS.items() if entry.details.get(key)]


def most_asked(session: Session, *, now: datetime, limit: int | None = None) -> list[str]:
    """Every title: those residents were answered with most in the last 30 days first, then the
    policy topics of the dialogue contract (what residents asked most before there were any
    figures), then the others in the order they were added (`limit`: only the first ones)."""
    since = now - timedelta(days=MOST_ASKED_DAYS)
    counted = session.execute(
        select(KnowledgeEntry.title)
        .join(KnowledgeQuestion, KnowledgeQuestion.entry_id == KnowledgeEntry.id)
        .where(KnowledgeQuestion.asked_at >= since, KnowledgeQuestion.outcome == "answered")
        .group_by(KnowledgeEntry.title)
        .order_by(func.count(KnowledgeQuestion.id).desc(), KnowledgeEntry.title)
    ).scalars()
    rest = select(KnowledgeEntry.title).order_by(KnowledgeEntry.topic.is_(None), KnowledgeEntry.id)
    titles = list(dict.fromkeys([*counted, *session.scalars(rest)]))
    return titles[:limit] if limit else titles


def tiles_page(session: Session, *, now: datetime, page: int = 1) -> tuple[list[str], bool]:
    """The titles of one page of tiles (most asked first), and whether there are more."""
    titles = most_asked(session, now=now)
    start = (max(page, 1) - 1) * TILES
    return titles[start : start + TILES], len(titles) > start + TILES
