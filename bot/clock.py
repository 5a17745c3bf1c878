"""The app's one clock.

Every "now" a rule compares with (the request handlers' `NowDep`) and every timestamp written to
the database (the models' `created_at`/`updated_at`/`at` defaults, the staff sign-in time) reads
this clock, so pinning it pins both: a row filed "now" is never in the future or the past of the
"now" it is later judged against. Tests pin it with `pinned()`; nothing else sets it.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.config import get_settings

Source = Callable[[], datetime]


def _wall() -> datetime:
    return datetime.now(timezone.utc)


_source: Source = _wall


@lru_cache
def zone() -> ZoneInfo:
    """The community's time zone (`Settings.timezone`): what "today" means."""
    return ZoneInfo(get_settings().timezone)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: for timestamps stored in the database."""
    return _aware(_source()).astimezone(timezone.utc)


def now() -> datetime:
    """Now in the community's time zone: for rules about today, opening hours, due dates."""
    return _aware(_source()).astimezone(zone())


def timestamp() -> float:
    """Now as seconds since the epoch."""
    return utcnow().timestamp()


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock must give timezone-aware datetimes")
    return moment


@contextmanager
def pinned(source: Source) -> Iterator[None]:
    """Let `source` be the clock inside the block (tests: a fixed or moved "now")."""
    global _source
    before, _source = _source, source
    try:
        yield
    finally:
        _source = before
