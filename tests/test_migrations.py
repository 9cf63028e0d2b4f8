"""The schema built by `flask db upgrade` is exactly the one the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from actionkit.extensions import db


def test_migrations_match_models(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
