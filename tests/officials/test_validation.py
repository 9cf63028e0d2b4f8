"""One set of rules for an office's contact details and a holder's name, shared by the staff edit form and the
sheriffs CSV import; the cases here are also run through both (test_views.py, test_sheriffs.py)."""
from __future__ import annotations

import pytest

from actionkit.officials import validation

# (sheriffs CSV column, edit form field, value, the reason both must give)
BAD_VALUES = [
    ("website", "website", "javascript:alert(1)", "must be a web address starting with https://"),
    ("website", "website", "javascript://example.org/%0Aalert(1)", "must be a web address starting with https://"),
    ("website", "website", "data:text/html,<script>alert(1)</script>", "must be a web address"),
    ("email", "email", "not an email", "is not a valid email address"),
    ("email", "email", "sheriff@@example.org", "is not a valid email address"),
    ("sheriff_name", "holder_name", "Pat\r\nBcc: someone@example.org", "must be on one line"),
    ("sheriff_name", "holder_name", "Pat\x00Example", "contains a control character"),
    ("sheriff_name", "holder_name", "Pat \u202eelpmaxE", "contains a control character"),
    ("phone", "phone", "555\x1b[31m0100", "contains a control character"),
    ("address", "postal_address", "1 Example St\x00", "contains a control character"),
    ("sheriff_name", "holder_name", "P" * 300, "is too long (300 characters; at most 255)"),
]


@pytest.mark.parametrize("column, field, value, reason", BAD_VALUES)
def test_bad_values_are_refused_with_a_reason_that_does_not_repeat_them(column, field, value, reason):
    name = {"holder_name": "name"}.get(field, field)
    with pytest.raises(validation.Invalid) as err:
        validation.clean(name, value)
    assert reason in str(err.value) and value not in str(err.value)


@pytest.mark.parametrize("field, value, stored", [
    ("website", " https://www.adamscosheriff.org/ ", "https://www.adamscosheriff.org/"),
    ("web_form_url", "http://example.org/contact?x=1", "http://example.org/contact?x=1"),
    ("email", "sheriff@hinds.example.org", "sheriff@hinds.example.org"),
    ("name", "José Núñez\u00a0Jr.", "José Núñez\u00a0Jr."),
    ("postal_address", "1 Example St\r\nJackson, MS", "1 Example St\r\nJackson, MS"),
    ("phone", "", None),
    ("cwc_office_code", "MS02", "MS02"),
])
def test_good_values_pass(field, value, stored):
    assert validation.clean(field, value) == stored
