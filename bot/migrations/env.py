from alembic import context
from sqlalchemy import Connection, text

import bot.models  # noqa: F401  (registers the tables)
from bot.config import get_settings
from bot.db import Base, community_schema, make_engine

target_metadata = Base.metadata


def ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # Rasa's tracker store keeps its `events` table in the same PostgreSQL database: not ours.
    return not (type_ == "table" and reflected and name == "events")


def create_community_schema(connection: Connection, url: str) -> None:
    """Several communities may share one PostgreSQL database, each in a schema of its own, named
    by the URL (`?options=-csearch_path%3Dhongqiao`, see README: a district). It is created here,
    so a new community needs nothing but its URL."""
    schema = community_schema(url)
    if schema:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, include_object=ours)
    with context.begin_transaction():
        context.run_migrations()


url = context.config.attributes.get("database_url") or get_settings().database_url
if context.is_offline_mode():
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        create_community_schema(connection, url)
        run(connection)
    engine.dispose()
