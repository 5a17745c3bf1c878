"""One settings object for the app process, read from the environment (and `.env` if present)."""

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # SQLite file by default: nothing to install. PostgreSQL: postgresql+psycopg://user@host:5432/db
    # Build the knowledge base's index (encoder, classifier: a few seconds) when the app starts, so
    # that the first resident's question is answered as fast as the others (bot.launcher sets it).
    knowledge_warm_up: bool = False
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'linli.db'}"
    # Actions present this token to the app's API; the API is never open without it. No default:
    # `make run` makes one per installation (bot/installation_secrets.py), the app refuses to start
    # with an empty or placeholder one.
    service_token: str = ""
    timezone: str = "Asia/Shanghai"
    content_file: Path = PROJECT_ROOT / "content" / "knowledge.yml"
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    log_level: str = "INFO"
    # Taxi dispatch: empty URL = staff dispatch by hand (申程出行 by phone); else a provider API.
    taxi_dispatch_url: str = ""
    taxi_dispatch_key: str = ""
    # Staff console: the key that signs session cookies (made per installation like the token;
    # several app processes must share it) and how long a sign-in lasts.
    session_secret: str = ""
    session_hours: float = 8
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto the app believes: comma-separated
    # addresses or networks ("127.0.0.1", "10.0.0.0/24"). Empty: none — the address that connects
    # is the client's, and the scheme is the connection's own.
    trusted_proxies: str = ""
    # The Rasa engine, for the chat page's messages (the page talks to the app, the app to the engine).
    engine_url: str = "http://127.0.0.1:5005"
    # Where Rasa keeps conversations; empty = derived from database_url (see tracker_database_url).
    tracker_database_url: str = ""
    # Residents' personal data is kept this many days after a record's last change (conversations:
    # after each message); then `python -m bot.cli purge-old-data` (run daily by `make run`)
    # deletes or anonymises it. See bot/services/retention.py.
    retention_days: int = 180

    # Limits on what strangers can make the app do (bot/api/limits.py, bot/api/body_limit.py).
    # Messages per minute and at once (burst), per sender (one phone's chat, one kiosk session)
    # and per source (one client address). A resident types or taps a few messages a minute; a
    # lobby kiosk is one address for everyone who uses it, so its per-source limit is wide.
    chat_sender_per_minute: float = 20
    chat_sender_burst: int = 15
    chat_source_per_minute: float = 120
    chat_source_burst: int = 60
    kiosk_sender_per_minute: float = 30
    kiosk_sender_burst: int = 20
    kiosk_source_per_minute: float = 240
    kiosk_source_burst: int = 120
    # The largest request body accepted, in bytes (refused with 413 before it is read in full).
    max_body_bytes: int = 1_048_576
    # The largest kiosk WebSocket message (uvicorn's ws_max_size): audio comes in 3200-byte chunks.
    max_frame_bytes: int = 65_536

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (part.strip() for part in value.split(",")):
            if item:  # a typo must not silently trust nobody, or "*" everybody
                ipaddress.ip_network(item, strict=False)
        return value

    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    def tracker_url(self) -> str:
        """SQLAlchemy URL of Rasa's tracker store, which the staff console reads."""
        return self.tracker_database_url or tracker_database_url(self.database_url)


def tracker_database_url(database_url: str) -> str:
    """PostgreSQL: the same database (Rasa's table is `events`). SQLite: a second file beside the
    app's (`rasa_tracker.db`), so the engine and the app never wait on one SQLite writer lock."""
    if database_url.startswith("sqlite"):
        app_file = Path(database_url.split("///", 1)[1])
        return f"sqlite:///{app_file.with_name('rasa_tracker.db')}"
    if database_url.startswith("postgresql"):
        return database_url
    raise ValueError(f"unsupported DATABASE_URL for the tracker store: {database_url.split(':', 1)[0]}")


@lru_cache
def get_settings() -> Settings:
    return Settings()
