"""Tables. Times of day are "HH:MM" strings ("24:00" allowed): they sort correctly and read as-is."""

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Facility(Base):
    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

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


class Policy(Base):
    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), unique=True)
    answer: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200), default="")
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
