"""Staff edits of facility hours and policy answers. The bot reads these rows on every question,
so a change applies to the next answer without retraining; each change is kept with who and when."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.clock import utcnow
from bot.models import ContentChange, Facility, HoursException, KnowledgeEntry, OpeningPeriod
from bot.services import audit
from bot.services.content import WEEKDAY_KEYS, ContentError, _period


def get_facility(session: Session, name: str) -> Facility | None:
    return session.scalar(
        select(Facility)
        .where(Facility.name == name)
        .options(selectinload(Facility.periods), selectinload(Facility.exceptions))
    )


def facility_snapshot(facility: Facility) -> dict[str, Any]:
    weekly: dict[str, list[list[str]]] = {key: [] for key in WEEKDAY_KEYS}
    for p in sorted(facility.periods, key=lambda p: (p.weekday, p.opens)):
        weekly[WEEKDAY_KEYS[p.weekday]].append([p.opens, p.closes])
    exceptions = [
        {"date": e.day.isoformat(), "periods": e.periods, "note": e.note}
        for e in sorted(facility.exceptions, key=lambda e: e.day)
    ]
    return {"weekly": weekly, "exceptions": exceptions, "note": facility.note}


def parse_periods(text: str) -> list[tuple[str, str]]:
    """ "08:30-11:30, 13:30-17:00" → [("08:30", "11:30"), ("13:30", "17:00")]; "" or "休息" → []."""
    text = text.replace("，", ",").replace("－", "-").replace("—", "-").replace("～", "-").replace("~", "-").strip()
    if text in ("", "休息", "关", "不开"):
        return []
    periods = []
    for part in text.split(","):
        if "-" not in part:
            raise ContentError(f"时段要写成 08:30-11:30：{part.strip()!r}")
        opens, closes = (p.strip() for p in part.split("-", 1))
        try:
            periods.append(_period([opens, closes]))
        except (ValueError, ContentError) as exc:
            raise ContentError(f"时段不对：{part.strip()!r}") from exc
    return sorted(periods)


def set_weekly(session: Session, facility: Facility, *, weekly: dict[int, str], actor: str) -> None:
    """Replace the weekly schedule; `weekly` maps weekday (0 = Monday) to "08:30-11:30, 13:30-17:00"."""
    before = facility_snapshot(facility)
    parsed = {weekday: parse_periods(text) for weekday, text in weekly.items()}  # all checked first
    facility.periods.clear()
    session.flush()
    for weekday, periods in parsed.items():
        for opens, closes in periods:
            facility.periods.append(OpeningPeriod(weekday=weekday, opens=opens, closes=closes))
    _keep(session, facility, before, actor)


def set_exception(session: Session, facility: Facility, *, day: date, periods: str, note: str, actor: str) -> None:
    before = facility_snapshot(facility)
    parsed = [list(p) for p in parse_periods(periods)]
    existing = next((e for e in facility.exceptions if e.day == day), None)
    if existing is None:
        facility.exceptions.append(HoursException(day=day, periods=parsed, note=note[:200]))
    else:
        existing.periods, existing.note = parsed, note[:200]
    _keep(session, facility, before, actor)


def remove_exception(session: Session, facility: Facility, *, day: date, actor: str) -> None:
    before = facility_snapshot(facility)
    facility.exceptions[:] = [e for e in facility.exceptions if e.day != day]
    _keep(session, facility, before, actor)


def _keep(session: Session, facility: Facility, before: dict[str, Any], actor: str) -> None:
    session.flush()
    session.refresh(facility)
    after = facility_snapshot(facility)
    session.add(ContentChange(kind="facility", name=facility.name, before=before, after=after, actor=actor))
    audit.record(session, actor=actor, action="change", kind="facility", object_id=facility.name)
    facility.needs_confirmation = False
    session.commit()


def set_policy(session: Session, policy: KnowledgeEntry, *, answer: str, actor: str) -> None:
    """A new spoken answer for the entry of a policy topic, checked by `actor` now."""
    answer = answer.strip()
    if not answer:
        raise ContentError("答案不能是空的")
    before = {"answer": policy.spoken}
    policy.spoken, policy.needs_confirmation = answer[:2000], False
    policy.checked_by, policy.checked_at = actor, utcnow()
    session.add(
        ContentChange(kind="policy", name=policy.title, before=before, after={"answer": policy.spoken}, actor=actor)
    )
    audit.record(session, actor=actor, action="change", kind="policy", object_id=policy.title)
    session.commit()


def history(session: Session, *, limit: int = 50) -> list[ContentChange]:
    return list(session.scalars(select(ContentChange).order_by(ContentChange.id.desc()).limit(limit)))
