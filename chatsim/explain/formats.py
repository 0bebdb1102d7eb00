"""Number formats: how every page, chart caption and sentence of a report writes a number.

Shares as ``"57.7 %"``, differences in percentage points with a real minus sign
(``"−25.4 pp"``), counts with thousands separators (``"1,234"``), hours without trailing
zeros (``"6 h"``), and ranges (an interval's two bounds) as ``"30.1–34.6 %"``,
``"68–84"`` or ``"−14.2 to −10.4 pp"`` (signed numbers take "to", not a dash).

Example:
    >>> format_share(0.5773), format_pp(-0.2541), format_count(1234), format_hours(6.0)
    ('57.7 %', '−25.4 pp', '1,234', '6 h')
    >>> format_range(0.301, 0.346), format_range(67.6, 84.2, "count")
    ('30.1–34.6 %', '68–84')
"""

from __future__ import annotations

import math
from typing import Any, Literal

__all__ = [
    "DASH",
    "MINUS",
    "MISSING",
    "format_count",
    "format_hours",
    "format_pp",
    "format_range",
    "format_share",
]

#: The real minus sign (U+2212) of negative numbers.
MINUS = "\u2212"
#: What a missing number reads as.
MISSING = "—"
#: The en dash between the two ends of a range ("30.1–34.6 %").
DASH = "\u2013"


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


def format_share(x: float | None, digits: int = 1) -> str:
    """A share (0-1) as a percentage: ``"57.7 %"``.

    Example:
        >>> format_share(0.85, 0), format_share(None)
        ('85 %', '—')
    """
    if _missing(x):
        return MISSING
    return _signed(f"{100 * x:.{digits}f}") + " %"


def format_pp(delta: float | None, digits: int = 1) -> str:
    """A difference of two shares in percentage points, signed (``"+3.0 pp"``,
    ``"−25.4 pp"``; ``"0.0 pp"`` when it rounds to zero).

    Example:
        >>> format_pp(0.03), format_pp(-0.00001)
        ('+3.0 pp', '0.0 pp')
    """
    if _missing(delta):
        return MISSING
    text = f"{100 * delta:.{digits}f}"
    if float(text) == 0:
        return text.lstrip("-") + " pp"
    return ("+" + text if not text.startswith("-") else _signed(text)) + " pp"


def format_count(n: int | float | None) -> str:
    """A count with thousands separators: ``"1,234"`` (a negative one with a real minus).

    Example:
        >>> format_count(1234567), format_count(-3)
        ('1,234,567', '−3')
    """
    if _missing(n):
        return MISSING
    return _signed(f"{round(n):,}")


def format_hours(h: float | None) -> str:
    """Hours without trailing zeros: ``"6 h"``, ``"6.5 h"``, ``"0.25 h"``.

    Example:
        >>> format_hours(6.0), format_hours(6.5), format_hours(1 / 3)
        ('6 h', '6.5 h', '0.33 h')
    """
    if _missing(h):
        return MISSING
    text = f"{h:.2f}".rstrip("0").rstrip(".")
    return _signed(text) + " h"


def format_range(
    low: float | None,
    high: float | None,
    kind: Literal["share", "count", "pp"] = "share",
    digits: int = 1,
) -> str:
    """An interval's two bounds as one range: shares ``"30.1–34.6 %"``, counts ``"68–84"``
    (each bound rounded), differences ``"−14.2 to −10.4 pp"``; one value when both ends
    read the same; :data:`MISSING` when either is missing.

    Example:
        >>> format_range(0.2, 0.25), format_range(-0.142, -0.104, "pp"), format_range(3, 3.2, "count")
        ('20.0–25.0 %', '−14.2 to −10.4 pp', '3')
    """
    if _missing(low) or _missing(high):
        return MISSING
    if kind == "count":
        a, b = format_count(low), format_count(high)
        joined = f"{a}{DASH}{b}" if MINUS not in a + b else f"{a} to {b}"
        return a if a == b else joined
    if kind == "pp":
        a, b = format_pp(low, digits), format_pp(high, digits)
        return a if a == b else f"{a[:-3]} to {b}"
    a, b = format_share(low, digits), format_share(high, digits)
    if a == b:
        return a
    if MINUS in a + b:
        return f"{a[:-2]} to {b}"
    return f"{a[:-2]}{DASH}{b}"
