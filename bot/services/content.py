"""Seeds the knowledge tables from content/knowledge.yml.

The file only seeds: once a row exists, staff own it in the console, so loading again adds
what is missing and leaves edited rows alone (unless `overwrite` is asked for explicitly).
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    ClimberMachine,
    ClimberServicePeriod,
    Facility,
    HoursException,
    KnowledgeAsk,
    KnowledgeEntry,
    OpeningPeriod,
)
from bot.services import knowledge_base

WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class ContentError(ValueError):
    pass


@dataclass
class LoadResult:
    facilities_added: int = 0
    facilities_kept: int = 0
    machines_added: int = 0
    taxi_place_lists_added: int = 0
    entries_added: int = 0
    entries_kept: int = 0


def _hhmm(value: str) -> str:
    hour, minute = value.split(":")
    if not (0 <= int(hour) <= 24 and 0 <= int(minute) < 60) or (int(hour) == 24 and int(minute)):
        raise ContentError(f"bad time of day: {value!r}")
    return f"{int(hour):02d}:{int(minute):02d}"


def _period(pair: list[str]) -> tuple[str, str]:
    opens, closes = _hhmm(pair[0]), _hhmm(pair[1])
    if opens >= closes:
        raise ContentError(f"period closes before it opens: {pair!r}")
    return opens, closes


def _build_facility(item: dict[str, Any]) -> Facility:
    facility = Facility(
        name=item["name"],
        location=item.get("location", ""),
        phone=str(item.get("phone", "")),
        note=item.get("note", "") or "",
        needs_confirmation=bool(item.get("needs_confirmation", False)),
    )
    weekly = item.get("weekly") or {}
    for weekday, key in enumerate(WEEKDAY_KEYS):
        if key not in weekly:
            raise ContentError(f"{facility.name}: weekly schedule lacks {key}")
        for pair in weekly[key]:
            opens, closes = _period(pair)
            facility.periods.append(OpeningPeriod(weekday=weekday, opens=opens, closes=closes))
    for exc in item.get("exceptions") or []:
        periods = [] if exc.get("closed") else [list(_period(p)) for p in exc.get("periods", [])]
        facility.exceptions.append(
            HoursException(day=date.fromisoformat(str(exc["date"])), periods=periods, note=exc.get("note", ""))
        )
    return facility


ENTRIES_FILE = "knowledge_entries.yml"  # beside the content file: the knowledge base's entries


def load_content(session: Session, *, path: Path, overwrite: bool = False) -> LoadResult:
    """One transaction: either the whole file (and the knowledge entries beside it) is applied or
    nothing is."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries_path = path.with_name(ENTRIES_FILE)
    entries = yaml.safe_load(entries_path.read_text(encoding="utf-8")) if entries_path.exists() else {}
    result = LoadResult()
    try:
        for item in data.get("facilities", []):
            existing = session.scalar(select(Facility).where(Facility.name == item["name"]))
            if existing is not None and not overwrite:
                result.facilities_kept += 1
                continue
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(_build_facility(item))
            result.facilities_added += 1
        result.entries_added, result.entries_kept = _load_entries(
            session, (entries or {}).get("entries") or [], overwrite=overwrite
        )
        result.machines_added = _load_stair_climber(session, data.get("stair_climber") or {}, overwrite=overwrite)
        result.taxi_place_lists_added = _load_taxi_places(session, data.get("taxi_places") or {}, overwrite=overwrite)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result


def _load_entries(session: Session, items: list[dict[str, Any]], *, overwrite: bool) -> tuple[int, int]:
    """Knowledge entries by title: a new title is added, one staff may have edited is kept."""
    added = kept = 0
    for item in items:
        title = str(item["title"]).strip()
        existing = session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.title == title))
        if existing is not None and not overwrite:
            kept += 1
            continue
        if existing is not None:
            session.delete(existing)
            session.flush()
        details = {
            k: str(v).strip() for k, v in (item.get("details") or {}).items() if k in knowledge_base.DETAILS and v
        }
        entry = KnowledgeEntry(
            title=title,
            topic=item.get("topic") or None,
            spoken=str(item["spoken"]).strip(),
            details=details,
            source=str(item.get("source") or "")[:300],
            needs_confirmation=bool(item.get("needs_confirmation", True)),
        )
        asks = dict.fromkeys(str(a).strip()[:200] for a in item.get("asks") or [] if str(a).strip())
        entry.asks = [KnowledgeAsk(text=text, added_by="seed") for text in asks]
        session.add(entry)
        added += 1
    return added, kept


def _load_stair_climber(session: Session, data: dict[str, Any], *, overwrite: bool) -> int:
    """Machines are added by name; the service schedule is seeded only while there is none."""
    added = 0
    for item in data.get("machines") or []:
        if session.scalar(select(ClimberMachine).where(ClimberMachine.name == item["name"])) is None:
            session.add(
                ClimberMachine(
                    name=item["name"],
                    operator_name=item.get("operator", ""),
                    operator_phone=str(item.get("operator_phone", "")),
                )
            )
            added += 1
    has_schedule = session.scalar(select(ClimberServicePeriod.id).limit(1)) is not None
    if data.get("service") and (overwrite or not has_schedule):
        for old in session.scalars(select(ClimberServicePeriod)):
            session.delete(old)
        minutes = int(data.get("slot_minutes", 120))
        if not 15 <= minutes <= 480:
            raise ContentError(f"stair_climber.slot_minutes out of range: {minutes}")
        for weekday, key in enumerate(WEEKDAY_KEYS):
            for pair in data["service"].get(key) or []:
                starts, ends = _period(pair)
                session.add(ClimberServicePeriod(weekday=weekday, starts=starts, ends=ends, slot_minutes=minutes))
    return added


def _load_taxi_places(session: Session, data: dict[str, Any], *, overwrite: bool) -> int:
    """Each list (pickups, destinations) is seeded only while it has no places: staff may remove
    a seeded place, and loading again must not bring it back."""
    from bot.services import taxi_places  # it uses ContentError from here

    added = 0
    for key, kind in (("pickups", taxi_places.PICKUP), ("destinations", taxi_places.DESTINATION)):
        if key in data:
            names = [str(name) for name in data[key] or []]
            added += taxi_places.seed(session, kind=kind, names=names, overwrite=overwrite)
    return added
