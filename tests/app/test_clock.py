"""The app's one clock: the "now" the rules use and the timestamps the rows get are the same, so a
pinned or moved clock moves both (and `make test` runs these tests again a year ahead with faketime)."""

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import clock as app_clock
from bot.api.deps import get_now
from bot.models import AuditEntry, ResidentRequest, StatusChange
from tests.app.conftest import SHANGHAI, sign_in
from tests.app.test_bookings import request_body

# Far from any day the suite runs on: a wall clock leaking into a row or a rule shows at once.
FAR_AHEAD = datetime(2031, 3, 3, 9, 30, tzinfo=SHANGHAI)


def test_rows_are_stamped_by_the_clock_the_rules_read(
    staff: TestClient, seeded: sessionmaker[Session], clock: dict[str, Any]
) -> None:
    clock["now"] = FAR_AHEAD
    assert get_now() == FAR_AHEAD
    assert sign_in(staff).status_code == 303  # the sign-in time comes from the same clock
    number = staff.post("/api/requests", json=request_body("clock-test-1")).json()["number"]
    clock["now"] = FAR_AHEAD + timedelta(hours=2)
    assert staff.get(f"/staff/requests/{number}").status_code == 200  # viewing is audited, two hours on
    with seeded() as session:
        request = session.scalars(select(ResidentRequest).where(ResidentRequest.number == number)).one()
        first_status = session.scalars(select(StatusChange).where(StatusChange.record_id == request.id)).first()
        viewed = session.scalars(select(AuditEntry).where(AuditEntry.object_id == number)).all()
    assert app_clock_utc(request.created_at) == FAR_AHEAD
    assert first_status is not None and app_clock_utc(first_status.created_at) == FAR_AHEAD
    assert viewed and app_clock_utc(viewed[-1].at) == FAR_AHEAD + timedelta(hours=2)


def test_a_request_is_overdue_by_its_own_filing_time_not_the_wall_clock(
    staff: TestClient, clock: dict[str, Any]
) -> None:
    clock["now"] = FAR_AHEAD
    assert sign_in(staff).status_code == 303
    number = staff.post("/api/requests", json=request_body("clock-test-2", category="飞线充电")).json()["number"]
    assert number not in staff.get("/staff/requests", params={"overdue": "true"}).text
    clock["now"] = FAR_AHEAD + timedelta(days=5)
    assert sign_in(staff).status_code == 303
    assert number in staff.get("/staff/requests", params={"overdue": "true"}).text


def test_the_clock_wants_a_time_zone() -> None:
    with app_clock.pinned(lambda: datetime(2031, 3, 3, 9, 30)), pytest.raises(ValueError):
        app_clock.now()


def app_clock_utc(moment: datetime) -> datetime:
    """SQLite gives stored times back without their zone (they are stored in UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
