"""What a baseline's arguments may be: one rule per argument name, shared by every baseline that
takes it, and `resolve_arguments`, which fills in a baseline's defaults and turns anything else into
a one-line UsageError."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from digitrec.errors import UsageError


@dataclass(frozen=True)
class Rule:
    accepts: Callable[[Any], bool]
    allowed: str  # what the error message says is allowed


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def one_of(*choices: str) -> Rule:
    return Rule(lambda value: isinstance(value, str) and value in choices, " | ".join(choices))


def integer(low: int, high: int) -> Rule:
    return Rule(
        lambda value: _is_int(value) and low <= value <= high, f"an integer in {low}..{high}"
    )


POSITIVE = Rule(lambda value: _is_number(value) and value > 0, "a positive number")

RULES: dict[str, Rule] = {
    "features": one_of("pixels", "pca", "hog"),
    "components": integer(1, 784),  # PCA axes; used when features is pca
    "C": POSITIVE,
    "gamma": Rule(
        lambda value: value == "scale" or (_is_number(value) and value > 0),
        '"scale" (1 / (features × variance of the training features)) or a positive number',
    ),
    "k": integer(1, 1000),
    "weights": one_of("uniform", "distance"),
    "n_estimators": integer(1, 10_000),
    "max_depth": Rule(
        lambda value: value is None or (_is_int(value) and value >= 1),
        "null (grow until the leaves are pure) or an integer ≥ 1",
    ),
    "cnn": Rule(
        lambda value: isinstance(value, str) and value != "",
        "a model: default, a run directory or a .safetensors file",
    ),
}


def resolve_arguments(name: str, defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The defaults updated with the given arguments, each checked against its rule."""
    for key, value in given.items():
        if key not in defaults:
            raise UsageError(f"{name}: unknown argument {key!r}; allowed: {', '.join(defaults)}")
        rule = RULES[key]
        if not rule.accepts(value):
            raise UsageError(f"{name}: {key} must be {rule.allowed}, got {value!r}")
    return {**defaults, **given}
