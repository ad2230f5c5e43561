"""Health rules as CEL expressions, in the shape of Flux's `healthCheckExprs`.

A policy entry names a kind and gives `current` (required), `inProgress` and
`failed` (optional): boolean CEL expressions over the live object, whose
top-level fields (`metadata`, `spec`, `status`, ...) are the variables, as in
Flux. The verdict follows Flux's evaluator (RFC-0009):

1. a terminating object, or one whose `status.observedGeneration` differs
   from `metadata.generation`, is Progressing without evaluating anything;
2. `inProgress`, `failed`, `current` are evaluated in that order, and the
   first that is true decides: Progressing, Failed, Healthy;
3. none true: Progressing;
4. an expression that cannot be evaluated (a field the object does not have
   yet, a non-boolean result) is Unknown, naming the rule and the
   expression: the wait goes on, as Flux's does, until the timeout.

The library is `common-expression-language` (the `cel` module), chosen over
`cel-python`: it is a compiled Rust implementation, five to fifteen times
faster on our expressions (a health check runs every second for every
object), compiles once into a reusable program and ships type information;
`cel-python` is pure Python and pulls in lark, pendulum, jmespath, pyyaml
and google-re2. Neither parses cel-go's optional syntax (`a.?b`), which
`cel_source` desugars for the `.orValue()` form.

The module is imported on first use, not with this one: its package also
imports its command-line REPL (typer, prompt_toolkit, rich, pygments), about
10 MB of an agent's resident memory, and most policies have no CEL rule.

Bounded like the rest of the health code, so no rule can stall the agent:
an expression is at most `MAX_EXPRESSION_CHARS` long and nests at most
`MAX_NESTING` looping macros, both checked when the policy loads; and an
object whose longest list, raised to that nesting, would exceed
`MAX_ITERATIONS` steps is not evaluated (Unknown). Evaluation never raises.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.health.cel_source import comprehension_depth, desugar_optionals
from orchestrator.health.live import Verdict, not_yet_observed
from orchestrator.health.status import HealthStatus

if TYPE_CHECKING:
    import cel

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_ITERATIONS",
    "MAX_NESTING",
    "CelRule",
    "check_expression",
    "evaluate_cel",
]

# Flux's library expressions run to a few hundred characters; 4 KiB leaves room.
MAX_EXPRESSION_CHARS = 4096
# Two nested loops cover "every container has a status that ..."; deeper is a mistake.
MAX_NESTING = 2
# About half a second of evaluation in the library; a status is read every second.
MAX_ITERATIONS = 1_000_000

# (field name in the policy, status when the expression is true), in Flux's order.
_ORDER = (
    ("inProgress", HealthStatus.PROGRESSING),
    ("failed", HealthStatus.FAILED),
    ("current", HealthStatus.HEALTHY),
)


@functools.lru_cache(maxsize=512)
def _program(text: str) -> cel.Program:
    """The compiled program of an expression (after desugaring), compiled once."""
    import cel  # noqa: PLC0415  (on first use: see the module's docstring)

    return cel.compile(desugar_optionals(text))


def check_expression(text: str) -> None:
    """Raise ValueError saying what is wrong with an expression, or return."""
    if not text.strip():
        raise ValueError("empty CEL expression")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ValueError(
            f"CEL expression of {len(text)} characters; at most {MAX_EXPRESSION_CHARS} allowed"
        )
    depth = comprehension_depth(text)
    if depth > MAX_NESTING:
        raise ValueError(
            f"CEL expression nests {depth} looping macros (all, exists, exists_one, map, "
            f"filter); at most {MAX_NESTING} allowed"
        )
    try:
        _program(text)
    except ValueError as exc:
        raise ValueError(f"invalid CEL expression: {_first_line(exc)}") from None


@dataclass(frozen=True, slots=True)
class CelRule:
    """A kind's CEL expressions; `name` says which rule in messages (`example.com/Widget`)."""

    name: str
    current: str
    in_progress: str | None = None
    failed: str | None = None

    def ordered(self) -> list[tuple[str, str, HealthStatus]]:
        """(field, expression, status if true) for each given expression, in Flux's order."""
        given = {"inProgress": self.in_progress, "failed": self.failed, "current": self.current}
        return [
            (field, text, status) for field, status in _ORDER if (text := given[field]) is not None
        ]

    @property
    def nesting(self) -> int:
        return max(comprehension_depth(text) for _, text, _ in self.ordered())


def evaluate_cel(rule: CelRule, obj: Mapping[str, Any]) -> Verdict:
    """The verdict of a CEL rule on a live object, as Flux would conclude it."""
    if (early := not_yet_observed(obj)) is not None:
        return early
    if (too_big := _over_budget(rule, obj)) is not None:
        return too_big
    variables = {key: value for key, value in obj.items() if isinstance(key, str)}
    for field, text, status in rule.ordered():
        try:
            result = _program(text).execute(variables)
        except Exception as exc:  # noqa: BLE001 - the library raises many types; none may escape
            return HealthStatus.UNKNOWN, (
                f"rule {rule.name}: {field} cannot be evaluated: {_first_line(exc)}"
            )
        if not isinstance(result, bool):
            return HealthStatus.UNKNOWN, (
                f"rule {rule.name}: {field} must be true or false, "
                f"not {type(result).__name__} {_short(repr(result))}"
            )
        if result:
            return status, f"rule {rule.name}: {field} is true: {_short(text)}"
    return (
        HealthStatus.PROGRESSING,
        f"rule {rule.name}: waiting for current: {_short(rule.current)}",
    )


def _over_budget(rule: CelRule, obj: Mapping[str, Any]) -> Verdict | None:
    """Unknown when the object's lists are too long for the rule's nested loops."""
    nesting = rule.nesting
    if nesting == 0:
        return None
    longest = _longest_list(obj)
    if longest**nesting <= MAX_ITERATIONS:
        return None
    return HealthStatus.UNKNOWN, (
        f"rule {rule.name}: not evaluated: a list of {longest} items under {nesting} nested "
        f"loop(s) exceeds {MAX_ITERATIONS} steps"
    )


def _longest_list(obj: Mapping[str, Any]) -> int:
    """The length of the longest list anywhere in the object (iteratively: no recursion)."""
    longest = 0
    pending: list[Any] = [obj]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            pending.extend(node.values())
        elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
            longest = max(longest, len(node))
            pending.extend(node)
    return longest


def _first_line(exc: BaseException) -> str:
    """The library's message, short: no source excerpt, no echo of the expression."""
    if isinstance(exc, KeyError) and exc.args:
        return f"no such key: {exc.args[0]}"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    head = lines[0]
    if (at := head.find("ERROR: <input>:")) != -1:
        return "at " + head[at + len("ERROR: <input>:") :]
    return head.split(". Check that", 1)[0]


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
