"""The letter sandbox: merge fields, 287(g) conditionals, plain text kept verbatim, one-line subjects, and every
way a staff template can be refused (with its line and reason) or stopped (size and time limits)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from actionkit.campaigns.services import DEMO_TEMPLATES
from actionkit.letters import rendering
from actionkit.letters.rendering import RenderError, render_letter, sample_contexts, validate_template


def tpl(subject: str = "Hello {{ official.salutation }}", body: str = "Dear {{ official.salutation }},") -> object:
    return SimpleNamespace(subject=subject, body=body)


ACTIVE, NONE, PENDING = sample_contexts()


def test_merge_fields_and_287g_conditionals() -> None:
    body = ("Dear {{ official.salutation }},\n"
            "{% if agreement_287g.active %}\nYour office signed {{ agreement_287g.support_types|join(' and ') }} "
            "on {{ agreement_287g.signed }}.\n{% elif agreement_287g.pending %}\nWithdraw your application.\n"
            "{% else %}\nKeep it that way.\n{% endif %}\n"
            "{{ supporter.first_name }} {{ supporter.last_name }}, {{ supporter.city }}, {{ county }} "
            "({{ official.district }}) for {{ campaign.title }}")
    _, active = render_letter(tpl(body=body), ACTIVE)
    assert "Your office signed Jail Enforcement Model and Warrant Service Officer on June 30, 2025." in active
    assert active.endswith("Ana García, Gulfport, Harrison County (Harrison County) for End ICE detainer agreements")
    assert "Keep it that way." in render_letter(tpl(body=body), NONE)[1]
    assert "Withdraw your application." in render_letter(tpl(body=body), PENDING)[1]
    assert render_letter(tpl(body="{{ agreement_287g.status }}"), ACTIVE)[1].startswith(
        "287(g) Jail Enforcement Model agreement, signed 2025-06-30")


def test_plain_text_is_verbatim_and_subjects_are_one_line() -> None:
    context = {**ACTIVE, "supporter": {**ACTIVE["supporter"], "first_name": "<b>Ana</b> & \"co\"\r\nBcc: x@evil"}}
    subject, body = render_letter(tpl(subject="From {{ supporter.first_name }}", body="{{ supporter.first_name }}"),
                                  context)
    assert body == "<b>Ana</b> & \"co\"\nBcc: x@evil"  # no HTML escaping in a plain-text letter
    assert subject == "From <b>Ana</b> & \"co\" Bcc: x@evil"
    assert "\n" not in subject and "\r" not in subject
    assert len(render_letter(tpl(subject="x" * 300), ACTIVE)[0]) == rendering.MAX_SUBJECT_OUTPUT


def test_blank_lines_left_by_conditionals_are_collapsed() -> None:
    body = "A\n\n{% if agreement_287g.active %}\n\nB\n{% endif %}\n\n\n\nC   \r\nD"
    assert render_letter(tpl(body=body), NONE)[1] == "A\n\nC\nD"


def test_a_tag_that_ends_a_line_of_text_keeps_the_blank_line_after_it() -> None:
    body = ("Please end it{% if agreement_287g.active %} now{% endif %}\n\nSincerely,\n"
            "{% if agreement_287g.active %}\nAna\n{% endif %}\nGulfport")
    assert render_letter(tpl(body=body), ACTIVE)[1] == "Please end it now\n\nSincerely,\nAna\nGulfport"
    assert render_letter(tpl(body=body), NONE)[1] == "Please end it\n\nSincerely,\nGulfport"


@pytest.mark.parametrize("subject, body, field, line, reason", [
    ("ok", "line 1\n{{ nope }}", "body", 2, "unknown merge field 'nope'"),
    ("ok", "{{ supporter.street }}", "body", 1, "'supporter' has no field 'street'"),
    ("ok", "{{ county.name }}", "body", 1, "'county' is text"),
    ("ok", "\n\n{% if %}", "body", 3, "syntax error"),
    ("ok", "{{ supporter.first_name.upper() }}", "body", 1, "calls are not allowed"),
    ("ok", "{{ 'x' * 1000000000 }}", "body", 1, "arithmetic"),
    ("ok", "{{ 9 ** 9 ** 9 }}", "body", 1, "arithmetic"),
    ("ok", "{% set x = 1 %}", "body", 1, "{% set %} is not allowed"),
    ("ok", "{% macro m() %}{% endmacro %}", "body", 1, "macros"),
    ("ok", "{% include 'base.html' %}", "body", 1, "include"),
    ("ok", "{% for a in agreement_287g.support_types %}{% for b in agreement_287g.support_types %}"
           "{% endfor %}{% endfor %}", "body", 1, "nested"),
    ("ok", "{{ supporter.first_name|format(1) }}", "body", 1, "filter 'format' is not allowed"),
    ("ok", "{{ ''.__class__.__mro__ }}", "body", 1, "is not a merge field"),
    ("ok", "{{ agreement_287g.support_types[5] }}", "body", 1, "undefined value"),
    ("ok", "{{ supporter.first_name.format }}", "body", 1, "only the fields of a merge field"),
    ("ok", "{% for t in agreement_287g.support_types %}\n{{ t.upper }}{% endfor %}", "body", 2,
     "only the fields of a merge field"),
    ("ok", "{{ supporter[supporter.first_name] }}", "body", 1, "only a whole number"),
    ("ok", "{{ loop.cycle }}", "body", 1, "unknown merge field 'loop'"),
    ("two\nlines", "ok", "subject", None, "single line"),
    ("{{ oops", "ok", "subject", 1, "syntax error"),
    ("ok", "", "body", None, "empty"),
    ("ok", "x" * (rendering.MAX_BODY_TEMPLATE + 1), "body", None, "too long"),
])
def test_broken_templates_are_refused_with_line_and_reason(subject: str, body: str, field: str, line: int | None,
                                                           reason: str) -> None:
    problems = validate_template(subject, body)
    assert any(p.field == field and p.line == line and reason in p.reason for p in problems), problems
    if reason not in ("single line", "empty"):  # those render (flattened / empty); only saving refuses them
        with pytest.raises(RenderError):
            render_letter(tpl(subject, body), ACTIVE)


def test_a_valid_template_has_no_problems_and_the_demo_letters_are_valid() -> None:
    assert validate_template("Please act, {{ official.salutation }}",
                             "{% for t in agreement_287g.support_types %}{{ loop.index }}. {{ t|upper }}\n"
                             "{% endfor %}{{ supporter['first_name'] | default('friend') }}") == []
    for subject, body in DEMO_TEMPLATES.values():
        assert validate_template(subject, body) == []


def test_output_size_and_time_are_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    long = {**ACTIVE, "supporter": {**ACTIVE["supporter"], "first_name": "x" * 30_000}}
    with pytest.raises(RenderError, match="longer than"):
        render_letter(tpl(body="{{ supporter.first_name }}{{ supporter.first_name }}"), long)
    monkeypatch.setattr(rendering, "TIME_LIMIT_SECONDS", 0.0)
    with pytest.raises(RenderError, match="took longer than"):
        render_letter(tpl(body="{% for c in supporter.first_name %}{{ supporter.city }}{% endfor %}"), long)


def test_a_renamed_field_in_the_context_fails_with_a_clear_reason() -> None:
    context = {**ACTIVE, "official": {k: v for k, v in ACTIVE["official"].items() if k != "salutation"}}
    with pytest.raises(RenderError) as caught:
        render_letter(tpl(), context)
    assert caught.value.problem.field == "subject" and "salutation" in caught.value.problem.reason


DEEP = {
    "blocks": lambda n: "Dear {{ official.salutation }},\n" + "{% if county %}\n" * n + "x\n" + "{% endif %}\n" * n,
    "parentheses": lambda n: "{{ " + "(" * n + "county" + ")" * n + " }}",
    "lists": lambda n: "{{ " + "[" * n + "county" + "]" * n + " }}",
    "filters": lambda n: "{{ county" + "|upper" * n + " }}",
    "nots": lambda n: "{% if " + "not " * n + "county %}x{% endif %}",
    "ands": lambda n: "{% if county" + " and county" * n + " %}x{% endif %}",
}


@pytest.mark.parametrize("n", [100, 300, 1000])
@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_nesting_is_a_problem_with_a_line_not_a_crash(kind: str, n: int) -> None:
    """~100 nested {% if %} or brackets used to crash the parser/compiler (RecursionError, IndentationError)."""
    body = DEEP[kind](n)
    if len(body) > rendering.MAX_BODY_TEMPLATE:
        pytest.skip("refused by the size limit already")
    problems = validate_template("Hello", body)
    assert problems and problems[0].field == "body" and problems[0].line is not None, problems
    assert "nested" in problems[0].reason or "too long" in problems[0].reason
    with pytest.raises(RenderError) as err:  # the live preview and the send path take the same road
        render_letter(tpl(body=body), ACTIVE)
    assert err.value.problem == problems[0]


def test_nesting_within_the_limits_still_renders() -> None:
    depth = rendering.MAX_NESTING
    assert validate_template("Hello", DEEP["blocks"](depth)) == []
    assert validate_template("Hello", DEEP["parentheses"](depth)) == []
    assert render_letter(tpl(body=DEEP["blocks"](depth)), ACTIVE)[1].endswith("x")
    problem = validate_template("Hello", DEEP["blocks"](depth + 1))[0]
    assert problem.line == depth + 2 and "nested more than 20 deep" in problem.reason
