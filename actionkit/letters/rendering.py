"""Letter templates written by staff, run in a hardened sandbox: only merge fields, conditionals, simple loops
and a few filters; no calls, no arithmetic, size and time limits. The staff editor calls validate_template() at
save time so a broken template is rejected with its line and reason, never discovered while a supporter signs.
"""
from __future__ import annotations

import contextvars
import re
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Mapping, Protocol

from jinja2 import StrictUndefined, Template, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_SUBJECT_TEMPLATE = 300  # characters of template source
MAX_BODY_TEMPLATE = 20_000
MAX_SUBJECT_OUTPUT = 250  # characters after rendering (also a safe e-mail Subject length)
MAX_BODY_OUTPUT = 40_000
TIME_LIMIT_SECONDS = 0.5  # per template render; real letters take well under a millisecond
# Deep nesting breaks Jinja's recursive parser and Python's compiler (RecursionError, "too many levels of
# indentation") long before the size limit: refuse it up front, with the line. Real letters nest 2 or 3 deep.
MAX_NESTING = 20  # {% if %}/{% for %}/{% filter %} blocks inside one another, or brackets inside one another
MAX_TAG_TOKENS = 100  # names, operators and filters in one {{ }} or {% %} tag (chains of not/and/| nest too)

ALLOWED_FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d", "join", "first",
                             "last", "length", "count", "string", "truncate", "wordcount"})
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "true", "false", "string", "sequence", "eq", "ne",
                           "equalto", "in", "lower", "upper"})
# The merge fields: name -> its attributes (None: a plain string).
MERGE_FIELDS: dict[str, frozenset[str] | None] = {
    "supporter": frozenset({"first_name", "last_name", "city", "county", "state"}),
    "official": frozenset({"title", "name", "first_name", "last_name", "salutation", "district", "office_type"}),
    "county": None,
    "agreement_287g": frozenset({"active", "pending", "status", "signed", "signed_iso", "support_types",
                                 "agency"}),
    "campaign": frozenset({"title"}),
}
LOOP_FIELDS = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr, nodes.Getitem,
    nodes.If, nodes.For, nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.CondExpr, nodes.Concat, nodes.List, nodes.Tuple, nodes.Keyword, nodes.FilterBlock,
)
_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("letter_render_deadline", default=0.0)


@dataclass(frozen=True)
class TemplateProblem:
    """One reason a template cannot be used: which part (subject/body), which line, why."""

    field: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.field}, line {self.line}" if self.line else self.field
        return f"{where}: {self.reason}"


class RenderError(ValueError):
    """A template failed to render; carries the problem (field, line, reason)."""

    def __init__(self, problem: TemplateProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


class LetterTemplateLike(Protocol):
    subject: str
    body: str


class _Timeout(Exception):
    pass


class LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox: no calls, no arithmetic (so nothing can be multiplied up), a deadline on every lookup."""

    intercepted_binops = frozenset({"*", "**", "/", "//", "%", "+", "-"})
    intercepted_unops = frozenset({"+", "-"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("function calls are not allowed")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError("arithmetic is not allowed")

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        raise SecurityError("arithmetic is not allowed")


def _tick() -> None:
    deadline = _DEADLINE.get()
    if deadline and time.monotonic() > deadline:
        raise _Timeout()


@lru_cache(maxsize=1)
def environment() -> LetterEnvironment:
    """The one sandbox (built on first use): plain text, strict undefined, block tags eat their line."""
    return LetterEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=False, auto_reload=False, cache_size=0)


# --- static checks ---------------------------------------------------------------------------------------------

def _check_tree(tree: nodes.Template, field: str) -> list[TemplateProblem]:
    """Walk the parsed template: only whitelisted constructs, known merge fields, loops one level deep."""
    problems: list[TemplateProblem] = []

    def add(node: nodes.Node, reason: str) -> None:
        problems.append(TemplateProblem(field, getattr(node, "lineno", None), reason))

    def visit(node: nodes.Node, loop_vars: frozenset[str], loop_depth: int) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            add(node, _forbidden_reason(node))
            return
        if isinstance(node, nodes.For):
            if loop_depth >= 1:
                add(node, "loops cannot be nested")
                return
            if node.recursive or node.test is not None:
                add(node, "only simple loops ({% for x in list %}) are allowed")
                return
            visit(node.iter, loop_vars, loop_depth)
            targets = [node.target, *node.target.find_all(nodes.Name)]
            names = frozenset(n.name for n in targets if isinstance(n, nodes.Name)) | {"loop"}
            for child in node.body + node.else_:
                visit(child, loop_vars | names, loop_depth + 1)
            return
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name not in MERGE_FIELDS and node.name not in loop_vars:
                add(node, f"unknown merge field '{node.name}' (available: {', '.join(MERGE_FIELDS)})")
            return
        if isinstance(node, nodes.Getitem) and not (isinstance(node.arg, nodes.Const)
                                                    and isinstance(node.arg.value, str)):
            if not (isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, int)):
                add(node, "only a whole number can pick an item from a list, e.g. agreement_287g.support_types[0]")
                return
        elif isinstance(node, (nodes.Getattr, nodes.Getitem)):
            attr = node.attr if isinstance(node, nodes.Getattr) else node.arg.value  # type: ignore[attr-defined]
            base = node.node
            if attr.startswith("_"):
                add(node, f"'{attr}' is not a merge field")
                return
            if isinstance(base, nodes.Name) and base.name in MERGE_FIELDS and base.name not in loop_vars:
                allowed = MERGE_FIELDS[base.name]
                if allowed is None:
                    add(node, f"'{base.name}' is text and has no fields")
                elif attr not in allowed:
                    add(node, f"'{base.name}' has no field '{attr}' (available: {', '.join(sorted(allowed))})")
            elif isinstance(base, nodes.Name) and base.name == "loop":
                if attr not in LOOP_FIELDS:
                    add(node, f"'loop' has no field '{attr}'")
            elif isinstance(base, nodes.Name) and base.name not in loop_vars:
                visit(base, loop_vars, loop_depth)  # an unknown name: say that, not that it has no fields
                return
            else:
                add(node, f"'{attr}': only the fields of a merge field can be used, like supporter.first_name; "
                          "use a filter such as |upper to change text")
                return
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            add(node, f"filter '{node.name}' is not allowed (allowed: {', '.join(sorted(ALLOWED_FILTERS))})")
            return
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            add(node, f"test '{node.name}' is not allowed")
            return
        if isinstance(node, (nodes.Filter, nodes.Test)) and (node.dyn_args or node.dyn_kwargs):
            add(node, "*args and **kwargs are not allowed")
            return
        for child in node.iter_child_nodes():
            visit(child, loop_vars, loop_depth)

    visit(tree, frozenset(), 0)
    return problems


def _forbidden_reason(node: nodes.Node) -> str:
    if isinstance(node, nodes.Call):
        return "function and method calls are not allowed; use a filter such as |upper instead"
    if isinstance(node, (nodes.BinExpr, nodes.UnaryExpr)) and not isinstance(node, (nodes.And, nodes.Or, nodes.Not)):
        return "arithmetic is not allowed"
    if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
        return "{% set %} is not allowed"
    if isinstance(node, (nodes.Macro, nodes.CallBlock)):
        return "macros are not allowed"
    if isinstance(node, (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block)):
        return "templates cannot include, import, extend or define blocks"
    return f"'{type(node).__name__}' is not allowed in letter templates"


_BLOCK_TAG = re.compile(r"\{%.*?%\}")
_COMMENT = re.compile(r"\{#.*?#\}")


def keep_inline_line_ends(source: str) -> str:
    """Only a block tag alone on its line eats that line: a tag that ends a line of text ('…{% endif %}') keeps
    its line end (Jinja's '+%}'), so the blank line after it survives and 'Sincerely,' does not run on."""
    lines = source.split("\n")
    for i, line in enumerate(lines[:-1]):
        stripped = line.rstrip()
        if not stripped.endswith("%}") or stripped.endswith(("-%}", "+%}")):
            continue
        if _BLOCK_TAG.sub("", _COMMENT.sub("", stripped)).strip():
            lines[i] = stripped[:-2] + "+%}" + line[len(stripped):]
    return "\n".join(lines)


_BLOCK_TAGS = frozenset({"if", "for", "filter"})
_SKIPPED_TOKENS = frozenset({"whitespace", "data", "comment_begin", "comment", "comment_end", "linecomment_begin",
                             "linecomment", "linecomment_end", "raw_begin", "raw_end"})


def _nesting_problem(source: str, field: str) -> TemplateProblem | None:
    """The first place the template nests deeper (or one tag grows longer) than the sandbox allows, found on the
    token stream, which is read without recursion; None when it is within limits or does not lex (the parser
    then reports the syntax error)."""
    blocks: list[int] = []
    brackets = tokens = 0
    first = False
    try:
        for line, kind, value in environment().lex(source):
            if kind in ("block_begin", "variable_begin"):
                brackets = tokens = 0
                first = kind == "block_begin"
                continue
            if kind in ("block_end", "variable_end") or kind in _SKIPPED_TOKENS:
                continue
            tokens += 1
            if tokens > MAX_TAG_TOKENS:
                return TemplateProblem(field, line, f"this tag is too long (more than {MAX_TAG_TOKENS} names, "
                                                    "operators and filters); split it into simpler parts")
            if kind == "operator" and value in "([{":
                brackets += 1
                if brackets > MAX_NESTING:
                    return TemplateProblem(field, line, f"brackets are nested more than {MAX_NESTING} deep")
            elif kind == "operator" and value in ")]}":
                brackets -= 1
            elif kind == "name" and first:
                if value in _BLOCK_TAGS:
                    blocks.append(line)
                    if len(blocks) > MAX_NESTING:
                        return TemplateProblem(field, line, f"{{% {value} %}} blocks are nested more than "
                                                            f"{MAX_NESTING} deep")
                elif value.startswith("end") and value[3:] in _BLOCK_TAGS and blocks:
                    blocks.pop()
            first = False
    except TemplateSyntaxError:
        return None
    return None


@lru_cache(maxsize=512)
def _compile(source: str, field: str) -> Template | tuple[TemplateProblem, ...]:
    """Parse, check and compile once per distinct source; problems are returned, not raised, so they cache."""
    limit = MAX_SUBJECT_TEMPLATE if field == "subject" else MAX_BODY_TEMPLATE
    if len(source) > limit:
        return (TemplateProblem(field, None, f"is too long ({len(source)} characters; the limit is {limit})"),)
    if (nested := _nesting_problem(source, field)) is not None:
        return (nested,)
    env = environment()
    source = keep_inline_line_ends(source)
    too_deep = TemplateProblem(field, None, "is nested too deeply to be read; simplify it")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        return (TemplateProblem(field, exc.lineno, f"syntax error: {exc.message}"),)
    except RecursionError:  # pragma: no cover - _nesting_problem stops this first; the last line of defence
        return (too_deep,)
    try:
        problems = _check_tree(tree, field)
    except RecursionError:  # pragma: no cover - as above
        return (too_deep,)
    if problems:
        return tuple(problems)
    try:
        return env.from_string(tree)
    except (RecursionError, SyntaxError, MemoryError):  # pragma: no cover - as above (IndentationError included)
        return (too_deep,)
    except TemplateError as exc:  # pragma: no cover - the tree was checked; kept as a last line of defence
        return (TemplateProblem(field, getattr(exc, "lineno", None), str(exc)),)


def _template_line(exc: BaseException) -> int | None:
    """The template line an exception was raised on (Jinja rewrites tracebacks to point at the template)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return frame.lineno
    return getattr(exc, "lineno", None)


def _run(template: Template, context: Mapping[str, Any], field: str, limit: int) -> str:
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    token = _DEADLINE.set(deadline)
    chunks: list[str] = []
    size = 0
    try:
        stream: Iterator[str] = template.generate(dict(context))
        for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise RenderError(TemplateProblem(field, None, f"the rendered text is longer than {limit} "
                                                               "characters"))
            if time.monotonic() > deadline:
                raise _Timeout()
            chunks.append(chunk)
    except RenderError:
        raise
    except _Timeout:
        raise RenderError(TemplateProblem(field, None, f"took longer than {TIME_LIMIT_SECONDS} s to render")) \
            from None
    except UndefinedError as exc:
        raise RenderError(TemplateProblem(field, _template_line(exc), f"undefined value: {exc.message}")) from None
    except SecurityError as exc:
        raise RenderError(TemplateProblem(field, _template_line(exc), str(exc))) from None
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise RenderError(TemplateProblem(field, _template_line(exc), f"{type(exc).__name__}: {exc}")) from None
    finally:
        _DEADLINE.reset(token)
    return "".join(chunks)


_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_subject(text: str) -> str:
    """One line, no control characters: a subject can never carry a header."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:MAX_SUBJECT_OUTPUT]


def clean_body(text: str) -> str:
    """Plain text with \\n line ends, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip("\n")


def render_letter(template: LetterTemplateLike, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a letter; raises RenderError(problem) with the field, line and reason."""
    out = []
    for field, source, limit in (("subject", template.subject, MAX_SUBJECT_OUTPUT * 4),
                                 ("body", template.body, MAX_BODY_OUTPUT)):
        compiled = _compile(source or "", field)
        if isinstance(compiled, tuple):
            raise RenderError(compiled[0])
        out.append(_run(compiled, context, field, limit))
    return clean_subject(out[0]), clean_body(out[1])


def sample_contexts() -> list[dict[str, Any]]:
    """Contexts a template is tried against at save time: with, without and with a pending 287(g) agreement."""
    supporter = {"first_name": "Ana", "last_name": "García", "city": "Gulfport", "county": "Harrison County",
                 "state": "Mississippi"}
    official = {"title": "Sheriff of Harrison County", "name": "Pat Doe", "first_name": "Pat", "last_name": "Doe",
                "salutation": "Sheriff Doe", "district": "Harrison County", "office_type": "sheriff"}
    campaign = {"title": "End ICE detainer agreements"}
    active = {"active": True, "pending": False, "agency": "Harrison County Sheriff's Office",
              "status": "287(g) Jail Enforcement Model agreement, signed 2025-06-30; 287(g) Warrant Service "
                        "Officer agreement, signed 2025-07-02",
              "signed": "June 30, 2025", "signed_iso": "2025-06-30",
              "support_types": ["Jail Enforcement Model", "Warrant Service Officer"]}
    none = {"active": False, "pending": False, "agency": "", "status": "No 287(g) agreement on ICE's list",
            "signed": "", "signed_iso": "", "support_types": []}
    pending = {"active": False, "pending": True, "agency": "Lauderdale County Sheriff's Office",
               "status": "287(g) Warrant Service Officer agreement pending", "signed": "", "signed_iso": "",
               "support_types": ["Warrant Service Officer"]}
    unknown_county = {**supporter, "county": ""}
    return [
        {"supporter": supporter, "official": official, "county": "Harrison County", "agreement_287g": active,
         "campaign": campaign},
        {"supporter": supporter, "official": {**official, "name": "Sheriff of Harrison County", "first_name": "",
                                              "last_name": "", "salutation": "Sheriff"},
         "county": "Harrison County", "agreement_287g": none, "campaign": campaign},
        {"supporter": unknown_county, "official": official, "county": "", "agreement_287g": pending,
         "campaign": campaign},
    ]


def validate_template(subject: str, body: str) -> list[TemplateProblem]:
    """Every problem that would stop this subject/body from rendering; [] means it is safe to save."""
    problems: list[TemplateProblem] = []
    if "\n" in (subject or "") or "\r" in (subject or ""):
        problems.append(TemplateProblem("subject", None, "must be a single line"))
    if not (subject or "").strip():
        problems.append(TemplateProblem("subject", None, "is empty"))
    if not (body or "").strip():
        problems.append(TemplateProblem("body", None, "is empty"))
    compiled = {}
    for field, source in (("subject", subject or ""), ("body", body or "")):
        result = _compile(source, field)
        if isinstance(result, tuple):
            problems.extend(result)
        else:
            compiled[field] = result
    if problems:
        return problems
    for context in sample_contexts():
        for field, limit in (("subject", MAX_SUBJECT_OUTPUT * 4), ("body", MAX_BODY_OUTPUT)):
            try:
                _run(compiled[field], context, field, limit)
            except RenderError as exc:
                if exc.problem not in problems:
                    problems.append(exc.problem)
    return problems


MAX_SCRIPT_OUTPUT = 4000  # a call script is read aloud in a minute or two


def render_script(body: str, context: Mapping[str, Any]) -> str:
    """A call script (the letters' sandbox and merge fields); raises RenderError(problem) with line and reason."""
    compiled = _compile(body or "", "script")
    if isinstance(compiled, tuple):
        raise RenderError(compiled[0])
    return clean_body(_run(compiled, context, "script", MAX_SCRIPT_OUTPUT))


def validate_script(body: str) -> list[TemplateProblem]:
    """Every problem that would stop this call script from rendering; [] means it is safe to save."""
    if not (body or "").strip():
        return [TemplateProblem("script", None, "is empty")]
    compiled = _compile(body, "script")
    if isinstance(compiled, tuple):
        return list(compiled)
    problems: list[TemplateProblem] = []
    for context in sample_contexts():
        try:
            _run(compiled, context, "script", MAX_SCRIPT_OUTPUT)
        except RenderError as exc:
            if exc.problem not in problems:
                problems.append(exc.problem)
    return problems
