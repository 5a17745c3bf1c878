"""Tables. Times of day are "HH:MM" strings ("24:00" allowed): they sort correctly and read as-is."""

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.clock import utcnow  # the app's one clock: defaults follow the same "now" as the rules
from bot.db import Base


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored in UTC and read back timezone-aware. SQLite keeps no time zone: without
    this, a Shanghai-time "now" and a UTC default would be stored as different wall-clock times."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # a naive moment is taken as UTC, as PostgreSQL's timestamptz takes it in a UTC session
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Facility(Base):
    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    periods: Mapped[list["OpeningPeriod"]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", order_by="OpeningPeriod.opens"
    )
    exceptions: Mapped[list["HoursException"]] = relationship(back_populates="facility", cascade="all, delete-orphan")


class OpeningPeriod(Base):
    """One opening period in the weekly schedule; a day can have several (morning, afternoon)."""

    __tablename__ = "opening_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday, as date.weekday()
    opens: Mapped[str] = mapped_column(String(5))
    closes: Mapped[str] = mapped_column(String(5))

    facility: Mapped[Facility] = relationship(back_populates="periods")


class HoursException(Base):
    """A dated exception to the weekly schedule (public holiday, closure); no periods = closed."""

    __tablename__ = "hours_exception"
    __table_args__ = (UniqueConstraint("facility_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    periods: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")

    facility: Mapped[Facility] = relationship(back_populates="exceptions")


class TaxiPlace(Base):
    """A pickup or destination a resident can choose by touch when booking a taxi; staff keep the
    lists (bot/services/taxi_places.py), shown in `position` order."""

    __tablename__ = "taxi_place"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # pickup | destination
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class KnowledgeEntry(Base):
    """What residents ask about services and policies: a short spoken answer, details for the screen,
    its source; matched at run time against its ways of asking (bot/services/knowledge_base.py), so
    an entry staff add answers the next resident without retraining."""

    __tablename__ = "knowledge_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80), unique=True)
    # the dialogue contract's policy_topic this entry answers (加装电梯 …), for the NLU's canonical value
    topic: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    spoken: Mapped[str] = mapped_column(Text)  # at most two short sentences, read aloud
    details: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # who, bring, where, hours, phone, cost
    source: Mapped[str] = mapped_column(String(300), default="")
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)  # 待核实
    checked_by: Mapped[str] = mapped_column(String(64), default="")
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    asks: Mapped[list["KnowledgeAsk"]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="KnowledgeAsk.id"
    )


class KnowledgeAsk(Base):
    """One way residents ask an entry's question (staff add more, e.g. from unanswered questions)."""

    __tablename__ = "knowledge_ask"
    __table_args__ = (UniqueConstraint("entry_id", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entry.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entry: Mapped[KnowledgeEntry] = relationship(back_populates="asks")


class KnowledgeQuestion(Base):
    """A resident's question as the knowledge base took it: answered (which entry, how sure), or not
    (entry_id empty) — what 没答上的问题 shows staff, and what "most asked" counts."""

    __tablename__ = "knowledge_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sender_id: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_entry.id", ondelete="SET NULL"), nullable=True, index=True
    )
    score: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(16))  # answered | asked_which | unknown
    handled: Mapped[bool] = mapped_column(Boolean, default=False)  # staff turned it into an entry or an ask


class HandoffRequest(Base):
    """A resident asked for a person: staff call back (or the resident comes by)."""

    __tablename__ = "handoff_request"
    __table_args__ = (UniqueConstraint("sender_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    message_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="待回电")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Alert(Base):
    """Something staff must see at once: an emergency now, later also urgent requests and rides."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("sender_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="emergency")
    kind: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    message_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    # where to go and whom to call: the kiosk's location, a phone the conversation gave (staff only)
    place: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


# --- Bookings and requests -------------------------------------------------------------------
# Each record carries a short number a resident can read out (digits, first digit = kind), the
# conversation it came from, and an idempotency key: the action's retry of the same confirmation
# finds the row written the first time instead of writing a second one.


class TaxiBooking(Base):
    __tablename__ = "taxi_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    pickup: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(200))
    pickup_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    asap: Mapped[bool] = mapped_column(Boolean, default=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    passengers: Mapped[int] = mapped_column(Integer, default=1)
    assistance: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="待派车", index=True)
    dispatcher: Mapped[str] = mapped_column(String(16), default="staff")
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    plate: Mapped[str | None] = mapped_column(String(16))
    car: Mapped[str | None] = mapped_column(String(64))
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ClimberMachine(Base):
    """One 电动载人爬楼机 with the operator who runs it: the scarce resource being booked."""

    __tablename__ = "climber_machine"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    operator_name: Mapped[str] = mapped_column(String(64), default="")
    operator_phone: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ClimberServicePeriod(Base):
    """When the machines work: a weekday period cut into bookable slots of `slot_minutes`."""

    __tablename__ = "climber_service_period"

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday
    starts: Mapped[str] = mapped_column(String(5))
    ends: Mapped[str] = mapped_column(String(5))
    slot_minutes: Mapped[int] = mapped_column(Integer, default=120)


class ClimberBooking(Base):
    __tablename__ = "climber_booking"
    # The database itself refuses a second live booking of one machine for one slot; a
    # cancelled booking no longer counts, so cancelling frees the slot.
    __table_args__ = (
        Index(
            "uq_climber_machine_slot_live",
            "machine_id",
            "slot_start",
            unique=True,
            postgresql_where=text("status <> '已取消'"),
            sqlite_where=text("status <> '已取消'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("climber_machine.id"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    slot_end: Mapped[datetime] = mapped_column(UTCDateTime())
    building: Mapped[str] = mapped_column(String(32))
    floor: Mapped[int] = mapped_column(Integer)
    room: Mapped[str] = mapped_column(String(16), default="")
    direction: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="已预约", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    machine: Mapped[ClimberMachine] = relationship()


class ResidentRequest(Base):
    """诉求/报修: something staff dispatch to a department and follow up (接诉即办)."""

    __tablename__ = "resident_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="已受理", index=True)
    department: Mapped[str] = mapped_column(String(32), default="")
    assignee: Mapped[str] = mapped_column(String(64), default="")
    satisfaction: Mapped[str] = mapped_column(String(8), default="")  # 满意 | 基本满意 | 不满意
    followup_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class StatusChange(Base):
    """Every status a booking or request went through, with who moved it and why."""

    __tablename__ = "status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(16))  # taxi | climber | request
    record_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_status_change_record", "record_kind", "record_id"),)


# --- Staff console ----------------------------------------------------------------------------


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="staff")  # staff | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginAttempt(Base):
    """Every sign-in whose password was checked, good or bad: the record of who tried, from where
    and from which browser (`device`, the browser's device cookie; "" when it had none). A good
    one from a browser makes that browser a known device of the account (staff_auth)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    device: Mapped[str] = mapped_column(String(64), default="", index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LoginThrottle(Base):
    """How long sign-in attempts of one kind must wait: one row per account ("user:…"), per
    network source ("source:…") and per known browser ("device:…"). In the database, so every app
    process sees the same waits; claimed with one conditional UPDATE, so parallel guesses cannot
    all slip through the same opening (staff_auth)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # no attempt before this
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A sign-in to the staff console. The browser's cookie carries a random id; only its SHA-256
    is kept here, so a copy of this table signs no one in. Ended by sign-out, a password change or
    reset, deactivating the account, or SESSION_HOURS after it began."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str] = mapped_column(String(16), default="")  # logout | password | deactivated | expired


class LookupFailure(Base):
    """A wrong number-plus-phone lookup of a record (bot/services/lookup_limit.py): who tried (the
    conversation) and from where (the client address, an IPv6 one by its /64). Rows live only as
    long as they count, WINDOW minutes."""

    __tablename__ = "lookup_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(64), default="", index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditEntry(Base):
    """Who looked at or changed a request, booking or content item, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # view | change | export | …
    object_kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ContentChange(Base):
    """Every staff edit of facility hours, a policy answer or the taxi places: before and after."""

    __tablename__ = "content_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # facility | policy | taxi_places
    name: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ConversationReview(Base):
    """Staff notes on a conversation (read from Rasa's tracker store, never copied)."""

    __tablename__ = "conversation_review"

    sender_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class IntentCorrection(Base):
    """The intent a user message should have had, for the next training round."""

    __tablename__ = "intent_correction"
    __table_args__ = (UniqueConstraint("sender_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255), index=True)
    event_id: Mapped[int] = mapped_column(Integer)  # the row id in Rasa's `events` table
    text: Mapped[str] = mapped_column(Text)
    predicted_intent: Mapped[str] = mapped_column(String(64), default="")
    intent: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
