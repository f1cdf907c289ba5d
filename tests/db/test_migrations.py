"""The migration tree and the models agree, on the database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from agentdeck.db.migrate import head_revision
from agentdeck.db.models import Base


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:

            def _diff(sync_connection: object) -> list[object]:
                context = MigrationContext.configure(
                    sync_connection,  # type: ignore[arg-type]
                    opts={"compare_type": True},
                )
                assert context.get_current_revision() == head_revision()
                return list(compare_metadata(context, Base.metadata))

            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
