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

from bot.models import ClimberMachine, ClimberServicePeriod, Facility, HoursException, OpeningPeriod, Policy

WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class ContentError(ValueError):
    pass


@dataclass
class LoadResult:
    facilities_added: int = 0
    policies_added: int = 0
    facilities_kept: int = 0
    policies_kept: int = 0
    machines_added: int = 0
    taxi_place_lists_added: int = 0


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


def load_content(session: Session, *, path: Path, overwrite: bool = False) -> LoadResult:
    """One transaction: either the whole file is applied or nothing is."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        for item in data.get("policies", []):
            existing_policy = session.scalar(select(Policy).where(Policy.topic == item["topic"]))
            if existing_policy is not None and not overwrite:
                result.policies_kept += 1
                continue
            policy = existing_policy or Policy(topic=item["topic"])
            policy.answer = item["answer"].strip()
            policy.source = item.get("source", "") or ""
            policy.needs_confirmation = bool(item.get("needs_confirmation", False))
            session.add(policy)
            result.policies_added += 1
        result.machines_added = _load_stair_climber(session, data.get("stair_climber") or {}, overwrite=overwrite)
        result.taxi_place_lists_added = _load_taxi_places(session, data.get("taxi_places") or {}, overwrite=overwrite)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result


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
