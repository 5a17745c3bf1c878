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


@lru_cache
def get_settings() -> Settings:
    return Settings()
