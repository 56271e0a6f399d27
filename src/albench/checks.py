"""The one set of value validators behind every config section and sampler parameter.

Each check returns the value (normalised where that is unambiguous, e.g. a
tuple for a list of ints) or raises :class:`ValueError` with a message that
names the key (``where``), the value received and what would be valid. Callers
prefix ``where`` with the path of the section (``datasets.fashion_mnist.train``),
so a message always says exactly which key of which file to fix.

Torch-free: the workflow imports this while parsing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any


def is_real(value: object) -> bool:
    """A finite-or-infinite int or float that is not a bool and not NaN."""
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def check_int(
    value: Any, where: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An int (not a bool) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} must be an integer{_range(minimum, maximum)}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{where} must be an integer{_range(minimum, maximum)}, got {value!r}")
    return int(value)


def check_optional_int(value: Any, where: str, minimum: int | None = None) -> int | None:
    """None, or an int as in :func:`check_int`."""
    if value is None:
        return None
    try:
        return check_int(value, where, minimum)
    except ValueError:
        raise ValueError(
            f"{where} must be null or an integer{_range(minimum, None)}, got {value!r}"
        ) from None


def check_real(
    value: Any,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite number within the given bounds (``low_open``: ``value > low`` is required)."""
    interval = _interval(low, high, low_open, high_open)
    if not is_real(value) or math.isinf(value):
        raise ValueError(f"{where} must be a finite number{interval}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{where} must be a finite number{interval}, got {value!r}")
    return float(value)


def check_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, got {value!r}")
    return value


def check_choice(value: Any, where: str, choices: Collection[str]) -> str:
    if value not in choices:
        raise ValueError(f"{where}: {value!r} is not one of {', '.join(map(str, choices))}")
    return value


def check_increasing_ints(value: Any, where: str, minimum: int = 1) -> tuple[int, ...]:
    """A list of strictly increasing ints >= ``minimum``, as a tuple."""
    if isinstance(value, int | str | bytes) or not isinstance(value, Sequence):
        raise ValueError(f"{where} must be a list of integers, got {value!r}")
    values = tuple(value)
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
            raise ValueError(f"{where} must be integers >= {minimum}, got {list(values)!r}")
    if list(values) != sorted(set(values)):
        raise ValueError(f"{where} must be strictly increasing, got {list(values)!r}")
    return values


def check_keys(section: Any, valid: Collection[str], where: str) -> Mapping[str, Any]:
    """A mapping whose keys are all in ``valid`` (an unknown key is named with the valid ones)."""
    if not isinstance(section, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(section).__name__} {section!r}")
    unknown = sorted(set(section) - set(valid), key=str)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys: {', '.join(sorted(valid))}"
        )
    return section


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
