"""Entry point for `celery -A actionkit.worker worker` and `celery -A actionkit.worker beat`."""
from actionkit import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
