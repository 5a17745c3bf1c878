"""One settings object for the app process, read from the environment (and `.env` if present)."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # SQLite file by default: nothing to install. PostgreSQL: postgresql+psycopg://user@host:5432/db
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'linli.db'}"
    # Actions present this token to the app's API; the API is never open without it.
    service_token: str = "dev-service-token-change-me"
    timezone: str = "Asia/Shanghai"
    content_file: Path = PROJECT_ROOT / "content" / "knowledge.yml"
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    log_level: str = "INFO"
    # Taxi dispatch: empty URL = staff dispatch by hand (申程出行 by phone); else a provider API.
    taxi_dispatch_url: str = ""
    taxi_dispatch_key: str = ""
    # Staff console: the key that signs session cookies (set your own: with several app
    # processes all must share it) and how long a sign-in lasts.
    session_secret: str = "dev-session-secret-change-me"
    session_hours: float = 8
    # The Rasa engine, for the chat page's messages (the page talks to the app, the app to the engine).
    engine_url: str = "http://127.0.0.1:5005"
    # Where Rasa keeps conversations; empty = derived from database_url (see tracker_database_url).
    tracker_database_url: str = ""
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
