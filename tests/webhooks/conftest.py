"""The supporter journey's fixtures (directory, demo campaign, fake geocoder, captured queue), for webhooks."""
from tests.letters.conftest import (  # noqa: F401
    app, campaign, directory, fake_census, geocoded, journey, letters_template, queued,
)
