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

from bot.models import Facility, HoursException, OpeningPeriod, Policy

WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class ContentError(ValueError):
    pass


@dataclass
class LoadResult:
    facilities_added: int = 0
    policies_added: int = 0
    facilities_kept: int = 0
    policies_kept: int = 0


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
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result
