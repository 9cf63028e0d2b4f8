"""The schema built by `flask db upgrade` is exactly the one the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from actionkit.extensions import db


def test_migrations_match_models(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_existing_signatures_get_a_recorded_submission(tmp_path):
    """Upgrading a database that already holds actions keeps 'one signature per e-mail and campaign' true."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from actionkit import create_app
    from actionkit.letters.models import Action, Submission, SubmissionStatus
    from tests.conftest import _config
    from tests.factories import make_action, make_campaign

    app = create_app(_config(f"sqlite:///{tmp_path / 'upgrade.sqlite'}", tmp_path / "instance"))
    with app.app_context():
        upgrade()
        campaign = make_campaign()
        kept, deleted = make_action(campaign), make_action(campaign)
        deleted.supporter.deleted_at = sa.func.now()
        db.session.commit()
        expected = {kept.id: kept.supporter.email_hash, deleted.id: None}
        tokens = {kept.id: kept.token_hash, deleted.id: deleted.token_hash}
        db.session.remove()
        downgrade(revision="42e2767ced96")  # before the submissions table
        upgrade()
        rows = db.session.scalars(sa.select(Submission).order_by(Submission.action_id)).all()
        assert {r.action_id: r.email_hash for r in rows} == expected
        assert {r.action_id: r.token_hash for r in rows} == tokens
        assert all(r.status is SubmissionStatus.RECORDED and r.payload is None for r in rows)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 2
        db.session.remove()
        db.engine.dispose()
