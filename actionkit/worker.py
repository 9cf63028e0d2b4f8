"""Entry point for `celery -A actionkit.worker worker` and `celery -A actionkit.worker beat`."""
from actionkit import create_app

app = create_app()
celery = app.extensions["celery"]
