"""Shared dependencies: database session, the clock, and the service-token check."""

import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy.orm import Session

from bot import clock
from bot.config import get_settings
from bot.db import session_scope


def get_session() -> Iterator[Session]:
    yield from session_scope()


def get_now() -> datetime:
    """Now in the community's time zone, from the app's one clock (`bot.clock`, which tests pin)."""
    return clock.now()


def require_service_token(authorization: Annotated[str | None, Header()] = None) -> None:
    expected = get_settings().service_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong service token",
            headers={"WWW-Authenticate": "Bearer"},
        )


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
