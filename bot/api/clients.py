"""The app's HTTP clients, one of each per process, made when the app starts and closed when it
stops (the app's lifespan): the engine's channels (chat page, kiosk) and the taxi provider.

A client per message cost a connection pool and a TLS context each time: a flood of 500 messages
took the app from 159 to 557 MB, and the memory never came back. One client keeps its connections
to the engine open between turns and its size flat."""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection

from bot.config import get_settings
from bot.services import knowledge_base

ENGINE_TIMEOUT = httpx.Timeout(30.0)  # a turn with several actions, under load
# Turns waiting for the engine beyond these connections queue for one (within the timeout).
ENGINE_POOL = httpx.Limits(max_connections=200, max_keepalive_connections=50)
PROVIDER_TIMEOUT = 3.0  # the taxi provider: staff dispatch by hand if it is slow


@dataclass(frozen=True)
class Clients:
    engine: httpx.AsyncClient
    provider: httpx.Client


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with httpx.AsyncClient(timeout=ENGINE_TIMEOUT, limits=ENGINE_POOL) as engine:
        with httpx.Client(timeout=PROVIDER_TIMEOUT) as provider:
            app.state.clients = Clients(engine=engine, provider=provider)
            if get_settings().knowledge_warm_up:
                threading.Thread(target=knowledge_base.warm_up, name="knowledge-warm-up", daemon=True).start()
            yield


def clients(connection: HTTPConnection) -> Clients:
    made: Clients = connection.app.state.clients
    return made


ClientsDep = Annotated[Clients, Depends(clients)]
