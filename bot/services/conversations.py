"""Conversations as staff read them, straight from Rasa's tracker store (its `events` table).

Nothing is copied: the engine writes the events, the console reads them. Staff's own notes
(reviewed, tags, corrected intents) live in the app's tables, keyed by conversation and event id.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, inspect, select
from sqlalchemy.orm import Session

from bot.config import get_settings
from bot.db import make_engine
from bot.models import ClimberBooking, ConversationReview, IntentCorrection, ResidentRequest, TaxiBooking

# Rasa's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent).
_metadata = MetaData()
EVENTS = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# What staff read for each intent of the dialogue contract.
INTENT_LABELS = {
    "greet": "打招呼", "goodbye": "再见", "thank": "道谢", "affirm": "对/是的", "deny": "不对/不要",
    "bot_challenge": "问是不是真人", "help": "问能做什么", "repeat": "再说一遍", "human_handoff": "转人工",
    "emergency": "紧急求助", "out_of_scope": "办不了的事", "ask_service_hours": "办事时间", "ask_policy": "政策",
    "book_taxi": "叫出租车", "book_stair_climber": "约爬楼机", "file_request": "报修/诉求", "check_status": "查进度",
    "cancel_booking": "取消", "inform": "回答问题", "nlu_fallback": "没听懂",
}  # fmt: skip
CHANNELS = {"rest": "网页接口", "socketio": "网页聊天", "webchat": "网页聊天", "wechat": "微信", "kiosk": "自助机"}
LOW_CONFIDENCE = 0.7
FALLBACK_ACTIONS = {"action_clarify", "utter_ask_rephrase", "utter_default"}
UNANSWERED_ACTIONS = FALLBACK_ACTIONS | {"utter_out_of_scope", "utter_ask_which_policy", "utter_ask_which_facility"}
HANDOFF_ACTIONS = {"action_human_handoff"}
EMERGENCY_ACTIONS = {"action_emergency"}
QUIET_ACTIONS = {"action_listen", "action_session_start"}


@lru_cache
def tracker_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().tracker_url())


def _has_events(engine: Engine) -> bool:
    return inspect(engine).has_table("events")  # the engine creates it on its first conversation


@dataclass
class Message:
    event_id: int
    at: datetime
    kind: str  # user | bot | action
    text: str = ""
    intent: str = ""
    confidence: float | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    action: str = ""
    corrected: str = ""
    touched: bool = False  # a button, not words: never an "unanswered question"


@dataclass
class Summary:
    sender_id: str
    channel: str
    started: datetime
    last: datetime
    user_messages: int
    first_text: str
    intents: set[str]
    min_confidence: float | None
    fallback: bool
    handoff: bool
    emergency: bool
    booked: bool = False
    reviewed: bool = False
    tags: list[str] = field(default_factory=list)

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel or "未知")

    @property
    def low_confidence(self) -> bool:
        return self.min_confidence is not None and self.min_confidence < LOW_CONFIDENCE


def _when(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, tz=timezone.utc)


def _rows(engine: Engine, sender_id: str | None = None) -> list[Any]:
    if not _has_events(engine):
        return []
    query = select(EVENTS).where(EVENTS.c.type_name.in_(("user", "bot", "action"))).order_by(EVENTS.c.id)
    if sender_id is not None:
        query = query.where(EVENTS.c.sender_id == sender_id)
    with engine.connect() as conn:
        return list(conn.execute(query))


def _said(text: str, intent: str, entities: list[dict[str, Any]]) -> str:
    """What staff read for a message: a touch (a payload such as `/inform{"answer": "…"}`) as the
    words it stood for, or the button's meaning, marked 〔按键〕; never the payload itself."""
    if not text.startswith("/"):
        return text
    words = next((str(e["value"]) for e in entities if e.get("entity") == "answer" and e.get("value")), "")
    named = "、".join(str(e["value"]) for e in entities if e.get("entity") not in ("answer", "item") and e.get("value"))
    return f"〔按键〕{words or INTENT_LABELS.get(intent, '按钮')}{'：' + named if named and not words else ''}"


def _message(row: Any) -> Message:
    data = json.loads(row.data or "{}")
    at = _when(row.timestamp)
    if row.type_name == "user":
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        entities = [{"entity": e.get("entity"), "value": e.get("value")} for e in parse.get("entities") or []]
        return Message(
            row.id,
            at,
            "user",
            text=_said(data.get("text") or "", intent.get("name") or "", entities),
            intent=intent.get("name") or "",
            confidence=intent.get("confidence"),
            entities=entities,
            touched=(data.get("text") or "").startswith("/"),
        )
    if row.type_name == "bot":
        return Message(row.id, at, "bot", text=data.get("text") or "")
    return Message(row.id, at, "action", action=row.action_name or data.get("name") or "")


def transcript(session: Session, *, sender_id: str, engine: Engine | None = None) -> list[Message]:
    """Every user message (with intent, confidence, entities), bot message and action, in order."""
    messages = [
        m
        for m in (_message(r) for r in _rows(engine or tracker_engine(), sender_id))
        if not (m.kind == "action" and m.action in QUIET_ACTIONS)
    ]
    corrections = {
        c.event_id: c.intent
        for c in session.scalars(select(IntentCorrection).where(IntentCorrection.sender_id == sender_id))
    }
    for message in messages:
        message.corrected = corrections.get(message.event_id, "")
    return messages


def _booked_senders(session: Session) -> set[str]:
    senders: set[str] = set()
    for model in (TaxiBooking, ClimberBooking, ResidentRequest):
        senders |= set(session.scalars(select(model.sender_id)))
    return senders


def summaries(session: Session, *, engine: Engine | None = None) -> list[Summary]:
    """One line per conversation, newest first."""
    by_sender: dict[str, list[Any]] = {}
    channels: dict[str, str] = {}
    for row in _rows(engine or tracker_engine()):
        by_sender.setdefault(row.sender_id, []).append(row)
        if row.type_name == "user" and row.sender_id not in channels:
            channels[row.sender_id] = json.loads(row.data or "{}").get("input_channel") or ""
    booked = _booked_senders(session)
    reviews = {r.sender_id: r for r in session.scalars(select(ConversationReview))}
    result = []
    for sender_id, rows in by_sender.items():
        messages = [_message(r) for r in rows]
        users = [m for m in messages if m.kind == "user"]
        if not users:
            continue
        actions = {m.action for m in messages if m.kind == "action"}
        confidences = [m.confidence for m in users if m.confidence is not None]
        review = reviews.get(sender_id)
        result.append(
            Summary(
                sender_id=sender_id,
                channel=channels.get(sender_id, ""),
                started=users[0].at,
                last=messages[-1].at,
                user_messages=len(users),
                first_text=users[0].text,
                intents={m.intent for m in users if m.intent},
                min_confidence=min(confidences) if confidences else None,
                fallback=bool(actions & FALLBACK_ACTIONS) or any(m.intent == "nlu_fallback" for m in users),
                handoff=bool(actions & HANDOFF_ACTIONS),
                emergency=bool(actions & EMERGENCY_ACTIONS),
                booked=sender_id in booked,
                reviewed=bool(review and review.reviewed_at),
                tags=list(review.tags) if review else [],
            )
        )
    result.sort(key=lambda s: s.last, reverse=True)
    return result


@dataclass
class Filters:
    channel: str = ""
    since: date | None = None
    until: date | None = None
    intent: str = ""
    flag: str = ""  # low_confidence | fallback | handoff | emergency | booked | unreviewed

    def keep(self, summary: Summary, tz: Any) -> bool:
        day = summary.started.astimezone(tz).date()
        if self.channel and summary.channel != self.channel:
            return False
        if self.since and day < self.since:
            return False
        if self.until and day > self.until:
            return False
        if self.intent and self.intent not in summary.intents:
            return False
        if self.flag == "unreviewed":
            return not summary.reviewed
        return not self.flag or bool(getattr(summary, self.flag, False))


def review(session: Session, *, sender_id: str, actor: str, reviewed: bool, tags: list[str], now: datetime) -> None:
    row = session.get(ConversationReview, sender_id) or ConversationReview(sender_id=sender_id, tags=[])
    row.reviewed_at, row.reviewed_by = (now, actor) if reviewed else (None, None)
    row.tags = sorted({t.strip() for t in tags if t.strip()})[:20]
    session.add(row)
    session.commit()


def correct_intent(
    session: Session, *, sender_id: str, event_id: int, intent: str, actor: str, engine: Engine | None = None
) -> IntentCorrection:
    """Remember the right intent for one user message (by its event id in the tracker store)."""
    message = next((m for m in transcript(session, sender_id=sender_id, engine=engine) if m.event_id == event_id), None)
    if message is None or message.kind != "user":
        raise LookupError(f"no user message {event_id} in conversation {sender_id}")
    row = session.scalar(
        select(IntentCorrection).where(IntentCorrection.sender_id == sender_id, IntentCorrection.event_id == event_id)
    ) or IntentCorrection(sender_id=sender_id, event_id=event_id)
    row.text, row.predicted_intent, row.intent, row.actor = message.text, message.intent, intent, actor
    session.add(row)
    session.commit()
    return row


def corrections_yaml(session: Session) -> str:
    """All corrections as a Rasa NLU training file (version 3.1), one block per intent."""
    by_intent: dict[str, list[str]] = {}
    for row in session.scalars(select(IntentCorrection).order_by(IntentCorrection.intent, IntentCorrection.id)):
        texts = by_intent.setdefault(row.intent, [])
        if row.text not in texts:
            texts.append(row.text)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {' '.join(t.split())}" for t in texts]
    return "\n".join(lines) + "\n"


@dataclass
class Question:
    text: str
    count: int
    examples: list[str]
    last: datetime


def unanswered(*, engine: Engine | None = None, similarity: int = 70) -> list[Question]:
    """Questions the bot could not answer (fallbacks, out of scope, unknown topic), grouped by
    similar wording (character-level fuzzy match), most frequent first."""
    asked: list[tuple[str, datetime]] = []
    pending: Message | None = None
    for row in _rows(engine or tracker_engine()):
        message = _message(row)
        if message.kind == "user":
            pending = None if message.touched else message
        elif pending is not None and message.kind == "action" and message.action in UNANSWERED_ACTIONS:
            asked.append((pending.text, pending.at))
            pending = None
    groups: list[Question] = []
    for text, at in asked:
        home = next((g for g in groups if fuzz.ratio(g.text, text) >= similarity), None)
        if home is None:
            groups.append(Question(text, 1, [text], at))
            continue
        home.count += 1
        home.last = max(home.last, at)
        if text not in home.examples and len(home.examples) < 5:
            home.examples.append(text)
    groups.sort(key=lambda g: (g.count, g.last), reverse=True)
    return groups


@dataclass
class Stats:
    per_day: Counter[date]
    per_channel: Counter[str]
    top_intents: list[tuple[str, int]]
    user_messages: int
    fallback_messages: int
    handoffs: int

    @property
    def fallback_rate(self) -> float:
        return self.fallback_messages / self.user_messages if self.user_messages else 0.0


def stats(session: Session, *, tz: Any, engine: Engine | None = None) -> Stats:
    all_summaries = summaries(session, engine=engine)
    intents: Counter[str] = Counter()
    users = fallbacks = 0
    for row in _rows(engine or tracker_engine()):
        if row.type_name == "user":
            users += 1
            intent = row.intent_name or ""
            intents[intent] += 1
            fallbacks += intent == "nlu_fallback"
    return Stats(
        per_day=Counter(s.started.astimezone(tz).date() for s in all_summaries),
        per_channel=Counter(s.channel_label for s in all_summaries),
        top_intents=[(i, n) for i, n in intents.most_common(10) if i],
        user_messages=users,
        fallback_messages=fallbacks,
        handoffs=sum(s.handoff for s in all_summaries),
    )
