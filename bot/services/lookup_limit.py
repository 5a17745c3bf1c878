"""How many wrong number-plus-phone lookups a conversation and a source may make.

Finding someone else's record takes its number and the phone on it. A guesser who knows a
neighbour's phone could otherwise walk the numbers (374 tries a second walked all old six-digit
taxi numbers in minutes), so failed tries are counted in the database, where every app process
sees the same count:

- per conversation (the sender id): MAX_PER_CONVERSATION failures within WINDOW;
- per source, the client address the request came from (see `source_key`), which a guesser cannot
  change as easily as a sender id: MAX_PER_SOURCE failures within WINDOW. A source is shared (the
  lobby kiosk serves everyone who walks up, a household's router every phone in it), so it gets
  more than one conversation.

When either is reached, lookups by number and phone are refused, right ones too (a refusal that
let the right answer through would still tell a guesser when he hit), until the oldest failure
leaves the window. A record of the same conversation (its sender) is always found, and a number
that fails its check digit is no try at all (records.check_number).
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.models import Facility, LookupFailure
from bot.ratelimit import source_of

MAX_PER_CONVERSATION = 5
MAX_PER_SOURCE = 10
WINDOW = timedelta(minutes=15)
OFFICE = "居委会"


class TooManyFailures(Exception):
    """Lookups refused for now; `message` says where to go instead (in Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def source_key(client: str | None) -> str:
    """The source a client address stands for: an IPv4 address as it is, an IPv6 address by its
    /64 network (one household or phone gets a whole /64 and can pick any address in it); "" when
    none is known (WeChat: every message comes from WeChat's servers, and the sender, which WeChat
    signs, is the one key). All of loopback is one source (bot/ratelimit.py)."""
    return source_of(client) if client else ""


def _failures(session: Session, *, since: datetime, sender_id: str, source: str) -> tuple[int, int]:
    recent = select(func.count()).select_from(LookupFailure).where(LookupFailure.at >= since)
    by_sender = session.scalar(recent.where(LookupFailure.sender_id == sender_id)) or 0
    by_source = (session.scalar(recent.where(LookupFailure.source == source)) or 0) if source else 0
    return int(by_sender), int(by_source)


def refusal(session: Session) -> str:
    """What a resident hears instead of a lookup: where staff look it up for them."""
    office = session.scalar(select(Facility).where(Facility.name == OFFICE))
    phone = f"请打居委会电话{office.phone}，" if office is not None and office.phone else "请"
    where = f"（{office.location}）" if office is not None and office.location else ""
    return f"编号或者手机号已经错了好几次，为了保护大家的信息，先暂停查询。{phone}或者到居委会{where}，工作人员帮您查。"


def check(session: Session, *, sender_id: str, client: str | None, now: datetime) -> None:
    """Raise TooManyFailures if this conversation or source has used up its tries."""
    source = source_key(client)
    by_sender, by_source = _failures(session, since=now - WINDOW, sender_id=sender_id, source=source)
    if by_sender >= MAX_PER_CONVERSATION or (source and by_source >= MAX_PER_SOURCE):
        raise TooManyFailures(refusal(session))


def record_failure(session: Session, *, sender_id: str, client: str | None, now: datetime) -> None:
    """Count one wrong number-plus-phone try; rows older than the window go (they count no more)."""
    session.execute(delete(LookupFailure).where(LookupFailure.at < now - WINDOW))
    session.add(LookupFailure(sender_id=sender_id[:128], source=source_key(client), at=now))
    session.commit()
