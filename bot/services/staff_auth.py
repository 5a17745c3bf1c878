"""Staff accounts: Argon2 password hashes (pwdlib), roles, and a sign-in that slows guessing down
without letting a stranger lock staff out.

Every sign-in does the same work whether or not the account exists: an unknown or deactivated
username is checked against a dummy Argon2 hash, so the answer takes as long as for a real account
and says the same "用户名或密码不对".

Guessing is slowed by waits that grow, never by a lock (see `Throttle`):
- per account, for browsers the account has never signed in from: after FREE_TRIES failures
  each further attempt waits 1 s, 2 s, 4 s … up to MAX_WAIT after the last failure;
- per network source (an IPv4 address, an IPv6 /64), for those same unknown browsers: after
  SOURCE_FREE_TRIES failures in a row on any accounts, the same growing waits (a sprayer trying
  many names);
- a browser the account has signed in from before (its device cookie is on a good attempt for
  that username, `LoginAttempt.device`) is held only by its own failures. A stranger's guesses,
  from anywhere, never make the rightful user's usual browser wait.
An attempt that arrives during a wait is refused without its password being looked at (so
guessing faster gains nothing) and is not counted.
"""

import hashlib
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pwdlib import PasswordHash
from sqlalchemy import CursorResult, Result, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import LoginAttempt, LoginThrottle, StaffSession, StaffUser
from bot.services import audit

ROLES = ("staff", "admin")
MIN_PASSWORD = 8

FREE_TRIES = 3  # failures for one account (or one known browser) before the waits begin
SOURCE_FREE_TRIES = 10  # a whole office may sit behind one address: more room there
MAX_WAIT = timedelta(minutes=5)
FORGET_AFTER = {"user": timedelta(hours=24), "device": timedelta(hours=24), "source": timedelta(hours=1)}
HOLD = timedelta(seconds=10)  # an attempt being checked holds its keys; a crashed one lets go after this
KNOWN_DEVICE_FOR = timedelta(days=90)
KEEP_RECORDS = timedelta(days=90)  # login attempts and ended sessions

_hasher = PasswordHash.recommended()
# Checked when the account is unknown or inactive, so that answer costs one Argon2 verify too.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class TryLater(Exception):
    """Attempts for this account or from this place must wait: `seconds` more."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class AccountError(ValueError):
    pass


def create_user(
    session: Session, *, username: str, password: str, role: str = "staff", display_name: str = ""
) -> StaffUser:
    if role not in ROLES:
        raise AccountError("没有这个角色。")
    _check_new_password(password)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise AccountError(f"用户名 {username} 已经有人用了。")
    user = StaffUser(
        username=username, display_name=display_name or username, password_hash=_hasher.hash(password), role=role
    )
    session.add(user)
    session.commit()
    return user


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少要{MIN_PASSWORD}位。")


# --- the waits ---------------------------------------------------------------------------------


def wait_after(failures: int, free: int) -> timedelta:
    """1 s after the first failure past the free ones, then doubling, never more than MAX_WAIT."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_WAIT)


def source_of(client: str) -> str:
    """The network a client address belongs to for counting: the address itself, or for IPv6 its
    /64 (one household or one server usually holds a whole /64)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _rows(result: Result[Any]) -> int:
    """How many rows an UPDATE changed."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


@dataclass
class _Key:
    kind: str  # user | source | device
    value: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.value}"[:160]

    @property
    def free(self) -> int:
        return SOURCE_FREE_TRIES if self.kind == "source" else FREE_TRIES


class Throttle:
    """Claims the keys of one attempt (all of them, or none) and records its outcome."""

    def __init__(self, session: Session, keys: list[_Key], now: datetime) -> None:
        self.session, self.keys, self.now = session, keys, now
        self.hold_until = now + HOLD

    def claim(self) -> None:
        claimed: list[_Key] = []
        for key in self.keys:
            self._ensure_row(key)
            # One statement: of several parallel attempts only one finds next_at in the past.
            won = _rows(
                self.session.execute(
                    update(LoginThrottle)
                    .where(LoginThrottle.key == key.id, LoginThrottle.next_at <= self.now)
                    .values(next_at=self.hold_until)
                )
            )
            if not won:
                self._release(claimed)
                waiting_until = self.session.scalar(select(LoginThrottle.next_at).where(LoginThrottle.key == key.id))
                self.session.commit()
                seconds = (waiting_until - self.now).total_seconds() if waiting_until else 1
                raise TryLater(max(1, math.ceil(seconds)))
            claimed.append(key)
        self.session.commit()  # other processes see the hold while the password is checked

    def _ensure_row(self, key: _Key) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(
            insert(LoginThrottle)
            .values(key=key.id, failures=0, next_at=self.now, last_failure_at=None)
            .on_conflict_do_nothing(index_elements=["key"])
        )

    def _release(self, keys: list[_Key]) -> None:
        for key in keys:
            self.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == key.id, LoginThrottle.next_at == self.hold_until)
                .values(next_at=self.now)
            )

    def failed(self) -> None:
        for key in self.keys:
            row = self.session.get(LoginThrottle, key.id)
            if row is None:  # purged meanwhile: start again
                row = LoginThrottle(key=key.id, failures=0)
                self.session.add(row)
            forgotten = row.last_failure_at is None or self.now - row.last_failure_at > FORGET_AFTER[key.kind]
            row.failures = 1 if forgotten else row.failures + 1
            row.last_failure_at = self.now
            row.next_at = self.now + wait_after(row.failures, key.free)

    def succeeded(self) -> None:
        for key in self.keys:
            row = self.session.get(LoginThrottle, key.id)
            if row is None:
                continue
            row.next_at = self.now
            # A good sign-in clears the account's and the browser's count, not the source's: a
            # sprayer who owns one account must not wipe the slate by signing in to it.
            if key.kind != "source":
                row.failures, row.last_failure_at = 0, None


# --- sign-in -----------------------------------------------------------------------------------


def new_device_id() -> str:
    return secrets.token_urlsafe(24)


def _device_digest(device: str) -> str:
    """What is kept of a browser's device cookie: its SHA-256. Whoever reads the database (or a
    backup) learns no cookie that would let him spend a known browser's own allowance of tries."""
    return hashlib.sha256(device.encode()).hexdigest() if device else ""


def known_device(session: Session, *, username: str, device: str, now: datetime) -> bool:
    """Has this browser (its device cookie) signed in to this account lately?"""
    if not device:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    LoginAttempt.device == _device_digest(device),
                    LoginAttempt.username == username,
                    LoginAttempt.succeeded.is_(True),
                    LoginAttempt.at >= now - KNOWN_DEVICE_FOR,
                )
            )
        )
    )


def _verify(user: StaffUser | None, password: str) -> bool:
    """One Argon2 verify whatever the account: the real hash, or the dummy one."""
    if user is None or not user.active:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    good, rehashed = _hasher.verify_and_update(password, user.password_hash)
    if good and rehashed:  # the hash parameters were raised since this password was set
        user.password_hash = rehashed
    return good


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client: str,
    device: str,
    now: datetime,
    signing_in: bool = True,
) -> StaffUser | None:
    """The active user when the password is right, None when not; TryLater when this attempt must
    wait (its password is then not looked at). `client` is the address the request came from,
    `device` the browser's device cookie ("" if none)."""
    username = username[:64]
    if known_device(session, username=username, device=device, now=now):
        keys = [_Key("device", _device_digest(device))]
    else:
        keys = [_Key("user", username), _Key("source", source_of(client))]
    throttle = Throttle(session, keys, now)
    throttle.claim()
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    good = _verify(user, password)
    session.add(
        LoginAttempt(username=username, client=client[:64], device=_device_digest(device), succeeded=good, at=now)
    )
    if good and user is not None:
        throttle.succeeded()
        if signing_in:
            user.last_login_at = now
            _forget_old(session, now)
    else:
        throttle.failed()
    session.commit()
    return user if good else None


def _forget_old(session: Session, now: datetime) -> None:
    """Old records go at each good sign-in: nothing else needs to run on a schedule."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_RECORDS))
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now - KEEP_RECORDS))
    longest = max(FORGET_AFTER.values()) + MAX_WAIT
    session.execute(delete(LoginThrottle).where(LoginThrottle.next_at < now - longest, LoginThrottle.failures == 0))
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - longest))


def get_user(session: Session, user_id: int) -> StaffUser | None:
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.active else None


# --- sessions (the cookie carries a random id; the table keeps its hash) ------------------------


def _hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def start_session(session: Session, *, user: StaffUser, client: str, now: datetime, hours: float) -> str:
    """A new session for `user`; returns the id for the cookie (never stored as such)."""
    raw = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_hash=_hash_id(raw), user_id=user.id, client=client[:64], created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )  # fmt: skip
    session.commit()
    return raw


SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is refreshed at most this often (the alerts poll every 5 s)


def session_user(session: Session, *, raw: str, now: datetime) -> tuple[StaffSession, StaffUser] | None:
    """The live session with this cookie id and its active user, or None."""
    if not raw or len(raw) > 100:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.id_hash == _hash_id(raw)))
    if row is None or row.ended_at is not None:
        return None
    if now >= row.expires_at:
        _end(row, "expired", now)
        session.commit()
        return None
    user = get_user(session, row.user_id)
    if user is None:
        _end(row, "deactivated", now)
        session.commit()
        return None
    if now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
        session.commit()
    return row, user


def _end(row: StaffSession, reason: str, now: datetime) -> None:
    row.ended_at, row.end_reason = now, reason


def end_session(session: Session, *, raw: str, now: datetime) -> None:
    row = session.scalar(select(StaffSession).where(StaffSession.id_hash == _hash_id(raw)))
    if row is not None and row.ended_at is None:
        _end(row, "logout", now)
        session.commit()


def end_all_sessions(session: Session, *, user_id: int, reason: str, now: datetime) -> int:
    """End every live session of one account; how many were live."""
    return _rows(
        session.execute(
            update(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )
    )


# --- account changes (each ends the account's sessions) ----------------------------------------


def change_password(
    session: Session, *, user: StaffUser, current: str, new: str, client: str, device: str, now: datetime
) -> None:
    """The user's own change: the current password must be right (checked with the same waits as a
    sign-in, so a borrowed open console cannot be used to guess it). Ends every session of the
    account; the caller starts a fresh one for the browser that made the change."""
    _check_new_password(new)
    checked = authenticate(
        session, username=user.username, password=current, client=client, device=device, now=now, signing_in=False
    )
    if checked is None:
        raise AccountError("现在的密码不对。")
    audit.record(session, actor=user.username, action="password", kind="staff_user", object_id=user.username)
    _set_password(session, user, new, now=now)


def reset_password(session: Session, *, user: StaffUser, new: str, actor: str, now: datetime) -> None:
    """An admin sets another account's password (forgotten, or feared known to someone)."""
    _check_new_password(new)
    audit.record(session, actor=actor, action="reset_password", kind="staff_user", object_id=user.username)
    _set_password(session, user, new, now=now)


def _set_password(session: Session, user: StaffUser, new: str, *, now: datetime) -> None:
    user.password_hash = _hasher.hash(new)
    end_all_sessions(session, user_id=user.id, reason="password", now=now)
    session.commit()


def set_active(session: Session, *, user: StaffUser, active: bool, actor: str, now: datetime) -> None:
    user.active = active
    if not active:
        end_all_sessions(session, user_id=user.id, reason="deactivated", now=now)
    audit.record(
        session, actor=actor, action="activate" if active else "deactivate", kind="staff_user", object_id=user.username
    )
    session.commit()
