"""Staff accounts: Argon2 password hashes (pwdlib), roles, and a sign-in that slows down guessing.

After MAX_FAILURES failed sign-ins for one account (or from one client) within LOCK_WINDOW, further
attempts are refused until the window has passed, even with the right password.
"""

from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.models import LoginAttempt, StaffUser

ROLES = ("staff", "admin")
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8

_hasher = PasswordHash.recommended()


class LoginLocked(Exception):
    """Too many failed attempts: try again later."""


class AccountError(ValueError):
    pass


def create_user(
    session: Session, *, username: str, password: str, role: str = "staff", display_name: str = ""
) -> StaffUser:
    if role not in ROLES:
        raise AccountError(f"role must be one of {ROLES}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise AccountError(f"user {username!r} exists")
    user = StaffUser(
        username=username, display_name=display_name or username, password_hash=_hasher.hash(password), role=role
    )
    session.add(user)
    session.commit()
    return user


def _recent_failures(session: Session, *, username: str, client: str, now: datetime) -> int:
    since = now - LOCK_WINDOW
    return int(
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
                or_(LoginAttempt.username == username, LoginAttempt.client == client),
            )
        )
        or 0
    )


def authenticate(session: Session, *, username: str, password: str, client: str, now: datetime) -> StaffUser | None:
    if _recent_failures(session, username=username, client=client, now=now) >= MAX_FAILURES:
        raise LoginLocked()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username, StaffUser.active))
    good = user is not None and _hasher.verify(password, user.password_hash)
    session.add(LoginAttempt(username=username[:64], client=client[:64], succeeded=good, at=now))
    if good and user is not None:
        user.last_login_at = now
    session.commit()
    return user if good else None


def get_user(session: Session, user_id: int) -> StaffUser | None:
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.active else None
