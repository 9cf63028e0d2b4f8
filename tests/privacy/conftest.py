"""The journey fixtures of tests/letters, for the privacy pages reached from the thank-you page and e-mail."""
from tests.letters.conftest import (  # noqa: F401
    app, campaign, directory, fake_census, geocoded, journey, letters_template, queued,
)
