"""The taxi form's places a resident can choose by touch (the kiosk's tiles, the chat's buttons):
one ordered list of pickups and one of destinations. Seeded from content/knowledge.yml
(`taxi_places:`, bot/services/content.py); after that staff own them in the console, and the next
question shows the new list without retraining. Every change is kept with who, when, before and
after (ContentChange, and the audit log)."""

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import ContentChange, TaxiPlace
from bot.services import audit
from bot.services.content import ContentError

PICKUP, DESTINATION = "pickup", "destination"
KINDS = {PICKUP: "上车地点", DESTINATION: "目的地"}  # kind → its name on the staff's screen
MAX_NAME = 40  # the column's length; a tile shows a short name
MAX_PLACES = 30  # more tiles than an elder can look through


class TaxiPlaceError(ContentError):
    """A list staff cannot save, with a Chinese message saying what to fix."""


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown taxi place kind: {kind!r}")
    return kind


def places(session: Session, *, kind: str) -> list[str]:
    """The names of one list (`kind` is "pickup" or "destination"), in the order staff gave."""
    query = select(TaxiPlace.name).where(TaxiPlace.kind == _kind(kind)).order_by(TaxiPlace.position, TaxiPlace.id)
    return list(session.scalars(query))


def lines(text: str) -> list[str]:
    """A textarea's text, one place a line, as a list: blank lines are left out."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def check(*, kind: str, names: list[str]) -> list[str]:
    """The names as they will be kept (spaces around them trimmed), or TaxiPlaceError."""
    label = KINDS[_kind(kind)]
    cleaned = [name.strip() for name in names]
    if not cleaned:
        raise TaxiPlaceError(f"{label}至少要留一个。")
    if len(cleaned) > MAX_PLACES:
        raise TaxiPlaceError(f"{label}最多{MAX_PLACES}个，现在有{len(cleaned)}个，请删掉一些。")
    seen: set[str] = set()
    for number, name in enumerate(cleaned, start=1):
        if not name:
            raise TaxiPlaceError(f"{label}第{number}个是空的，请写上名字或者删掉这一行。")
        if len(name) > MAX_NAME:
            raise TaxiPlaceError(f"{label}“{name[:MAX_NAME]}…”太长了：最多{MAX_NAME}个字，现在{len(name)}个字。")
        if name in seen:
            raise TaxiPlaceError(f"{label}“{name}”写了两遍，请删掉一个。")
        seen.add(name)
    return cleaned


def set_place_lists(session: Session, *, lists: Mapping[str, list[str]], actor: str) -> list[str]:
    """Replace whole lists at once ({"pickup": [...], "destination": [...]}, either or both),
    in one transaction: every list is checked before anything is written. Returns the kinds that
    changed; a list saved as it was writes no change record."""
    wanted = {kind: check(kind=kind, names=names) for kind, names in lists.items()}
    changed = []
    try:
        for kind, names in wanted.items():
            before = places(session, kind=kind)
            if names == before:
                continue
            _replace(session, kind=kind, names=names)
            session.add(
                ContentChange(
                    kind="taxi_places", name=f"叫车{KINDS[kind]}", before={"places": before},
                    after={"places": names}, actor=actor,
                )
            )  # fmt: skip
            audit.record(session, actor=actor, action="change", kind="taxi_places", object_id=kind)
            changed.append(kind)
        session.commit()
    except IntegrityError as exc:  # someone else saved the same new name in the same moment
        session.rollback()
        raise TaxiPlaceError("刚才别人也在改这些地点，请刷新页面再改一次。") from exc
    except Exception:
        session.rollback()
        raise
    return changed


def set_places(session: Session, *, kind: str, names: list[str], actor: str) -> bool:
    """Replace one list with `names`, in this order; True if it changed."""
    return bool(set_place_lists(session, lists={kind: names}, actor=actor))


def seed(session: Session, *, kind: str, names: list[str], overwrite: bool) -> bool:
    """For the content loader (in its transaction): the file's list goes in while there is none
    of this kind, or over the staff's one when `overwrite` is asked for. True if written."""
    names = check(kind=kind, names=names)
    exists = session.scalar(select(TaxiPlace.id).where(TaxiPlace.kind == kind).limit(1)) is not None
    if exists and not overwrite:
        return False
    _replace(session, kind=kind, names=names)
    return True


def _replace(session: Session, *, kind: str, names: list[str]) -> None:
    """Rows kept for names still there (moved to their new place), added for new names, deleted
    for names gone: a place staff did not touch keeps its row."""
    rows = {row.name: row for row in session.scalars(select(TaxiPlace).where(TaxiPlace.kind == kind))}
    for name in set(rows) - set(names):
        session.delete(rows.pop(name))
    session.flush()
    for position, name in enumerate(names):
        row = rows.get(name)
        if row is None:
            session.add(TaxiPlace(kind=kind, name=name, position=position))
        elif row.position != position:
            row.position = position
    session.flush()
