"""What a reader sees: human labels for code names and for rule fields' values.

One source of truth for every page, chart and sentence of a report:

* **labels** for every code name a reader can meet: flip categories, chat statuses,
  tiers, the confidence of a shop's standing, exclusion reasons, automatic-reply modes, clocks, who answered, ratings, seller
  types (archetypes; any other ``snake_case`` id reads as a sentence), rule fields and
  shop-table columns (:func:`label`, :func:`segment_label`, :func:`field_label`,
  :func:`column_label`, :func:`labelled`);
* **rule fields' values**: a rule field's value and change (``"Window 24 h → 12 h"``).

The tables themselves are :mod:`chatsim.explain.labeltables`, re-exported here. The number
formats (shares, percentage points, counts, hours, ranges) are
:mod:`chatsim.explain.formats`, re-exported here for the pages that take them from this
module; the colours of rules and segments are in :mod:`chatsim.explain.colors`.

Example:
    >>> label("loses_under_new"), segment_label("agency_247"), segment_label("saturday_half_day")
    ('Loses status under the new rule', '24/7 agencies', 'Saturday half day')
    >>> format_share(0.5773), format_pp(-0.2541), format_count(1234), format_hours(6.0)
    ('57.7 %', '−25.4 pp', '1,234', '6 h')
    >>> describe_change("window_hours", 24.0, 12.0)
    'Window 24 h → 12 h'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from chatsim.errors import ReportError
from chatsim.explain.formats import (
    MINUS,
    MISSING,
    format_count,
    format_hours,
    format_pp,
    format_share,
)
from chatsim.explain.labeltables import (
    ANSWERED_BY_LABELS,
    ARCHETYPE_LABELS,
    AUTO_REPLY_LABELS,
    CLOCK_LABELS,
    COLUMN_LABELS,
    CONFIDENCE_LABELS,
    FIELD_LABELS,
    FLIP_LABELS,
    MESSAGE_KIND_LABELS,
    OPEN_TIME_LABELS,
    RATING_LABELS,
    REASON_LABELS,
    SENDER_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    TIERS,
    WEEKDAYS,
)
from chatsim.explain.rulefigures import (
    COMPARISON_VALUES,
    MEASURE_LABELS,
    METRIC_LABELS,
    RATE_KIND_LABELS,
    RULE_FIGURE_VALUES,
)

__all__ = [
    "ANSWERED_BY_LABELS",
    "ARCHETYPE_LABELS",
    "MESSAGE_KIND_LABELS",
    "SENDER_LABELS",
    "AUTO_REPLY_LABELS",
    "CLOCK_LABELS",
    "COLUMN_LABELS",
    "CONFIDENCE_LABELS",
    "FIELD_LABELS",
    "FLIP_LABELS",
    "LABEL_TABLES",
    "MEASURE_LABELS",
    "METRIC_LABELS",
    "RATE_KIND_LABELS",
    "MINUS",
    "MISSING",
    "OPEN_TIME_LABELS",
    "RATING_LABELS",
    "REASON_LABELS",
    "STATUS_LABELS",
    "TIERS",
    "TIER_LABELS",
    "WEEKDAYS",
    "column_label",
    "describe_change",
    "field_label",
    "format_count",
    "format_field",
    "format_hours",
    "format_pp",
    "format_share",
    "humanize",
    "label",
    "labelled",
    "segment_label",
]

_ID = re.compile(r"[a-z][a-z0-9_]*")

#: Automatic-reply modes as a rule field's value (:func:`format_field`).
_AUTO_REPLY_VALUES = {
    "exclude_resolved": "exclude resolved chats",
    "count_as_answer": "count as answers",
    "ignore": "ignored",
}
#: Fields whose change the bridge names by another field's label ("Target: at least → ...").
_CHANGE_PREFIXES = {"target_comparison": "Target:"}
#: The label tables by kind (:func:`label`, :func:`labelled`).
LABEL_TABLES: dict[str, Mapping[str, str]] = {
    "flip": FLIP_LABELS,
    "status": STATUS_LABELS,
    "tier": TIER_LABELS,
    "confidence": CONFIDENCE_LABELS,
    "reason": REASON_LABELS,
    "auto_reply": AUTO_REPLY_LABELS,
    "clock": CLOCK_LABELS,
    "answered_by": ANSWERED_BY_LABELS,
    "sender": SENDER_LABELS,
    "kind": MESSAGE_KIND_LABELS,
    "rating": RATING_LABELS,
    "open_time": OPEN_TIME_LABELS,
    "archetype": ARCHETYPE_LABELS,
    "field": FIELD_LABELS,
    "column": COLUMN_LABELS,
    "metric": METRIC_LABELS,
    "rate_kind": RATE_KIND_LABELS,
    "rule_measure": MEASURE_LABELS,
    "target_comparison": COMPARISON_VALUES,
}
# a code found in several tables reads the same in each, except where the kind is given
_ANY_KIND = (
    "flip",
    "status",
    "tier",
    "confidence",
    "reason",
    "auto_reply",
    "clock",
    "open_time",
    "kind",
    "archetype",
    "rule_measure",
    "target_comparison",
)
#: What a missing code (e.g. a chat with no exclusion reason) reads as, by kind.
_NONE_LABELS = {"reason": "Not excluded", "tier": "Not rated", "rating": "Not rated"}


def humanize(code: str) -> str:
    """A ``snake_case`` id as a reader writes it: ``"solo_weekday"`` -> ``"Solo weekday"``.

    Text that is not a lower-case id (``"GB"``, ``"Shop A"``, a rule name such as
    ``"new-12h"``) is left as it is.

    Example:
        >>> humanize("saturday_half_day"), humanize("solo"), humanize("GB"), humanize("new-12h")
        ('Saturday half day', 'Solo', 'GB', 'new-12h')
    """
    if not _ID.fullmatch(code):
        return code
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def label(code: str | None, kind: str | None = None) -> str:
    """The label of a code name; ``kind`` (a key of :data:`LABEL_TABLES`) picks the table,
    else the first table that knows it; an unknown id reads as :func:`humanize` makes it.

    Example:
        >>> label("auto_resolved"), label(None, "reason"), label("below_target", "tier")
        ('Resolved by automatic reply', 'Not excluded', 'Below the target')
    """
    if code is None:
        return _NONE_LABELS.get(kind or "", MISSING)
    code = str(code)
    if kind is not None:
        if kind not in LABEL_TABLES:
            raise ReportError(
                f"unknown label kind {kind!r}; the kinds are {', '.join(sorted(LABEL_TABLES))}."
            )
        found = LABEL_TABLES[kind].get(code)
        return found if found is not None else humanize(code)
    for k in _ANY_KIND:
        if code in LABEL_TABLES[k]:
            return LABEL_TABLES[k][code]
    return humanize(code)


def segment_label(value: str | None) -> str:
    """A segment value (an archetype id, a country code...) as a reader names it.

    Example:
        >>> segment_label("solo_weekdays"), segment_label("weekday_chatbot"), segment_label("all")
        ('Solo weekday sellers', 'Weekday chatbot', 'All shops')
    """
    if value == "all":  # a what-if that changes every segment
        return "All shops"
    return label(value, "archetype")


def field_label(name: str) -> str:
    """A rule field's name as a reader names it (fields added later read humanized).

    Example:
        >>> field_label("valid_replies_only"), field_label("holiday_clock")
        ('Valid-reply filter', 'Holiday clock')
    """
    return label(name, "field")


def column_label(name: str) -> str:
    """A table column's header as a reader names it.

    Example:
        >>> column_label("excluded_auto_resolved")
        'Excluded: resolved by automatic reply'
    """
    return label(name, "column")


def labelled(
    df: pl.DataFrame, kinds: Mapping[str, str] | None = None, *, headers: bool = False
) -> pl.DataFrame:
    """A table with its code columns as labels (``{column: kind}``; by default every column
    named after a kind: ``flip``, ``status``, ``tier``, ``archetype``..., plus
    ``excluded_reason``, the flips' ``confidence_old`` and ``confidence_new``, and a
    ``segment`` column, read as seller types), and with readable
    headers if ``headers``.

    Example:
        >>> df = pl.DataFrame({"flip": ["fails_both"], "excluded_reason": [None]})
        >>> labelled(df, headers=True).row(0, named=True)
        {'Change of status': 'Fails both rules', 'Exclusion reason': 'Not excluded'}
    """
    if kinds is None:
        kinds = {c: c for c in df.columns if c in LABEL_TABLES and c not in ("field", "column")}
        extra = {
            "excluded_reason": "reason",
            "segment": "archetype",
            "confidence_old": "confidence",
            "confidence_new": "confidence",
        }
        kinds = {**kinds, **{c: k for c, k in extra.items() if c in df.columns}}

    def relabel(c: str, k: str) -> pl.Expr:
        codes = df[c].cast(pl.String).drop_nulls().unique().to_list()
        return (
            pl.col(c)
            .cast(pl.String)
            .replace_strict({v: label(v, k) for v in codes}, return_dtype=pl.String)
            .fill_null(label(None, k))
        )

    out = df.with_columns(relabel(c, k) for c, k in kinds.items())
    if headers:
        out = out.rename({c: column_label(c) for c in out.columns})
    return out


def format_field(name: str, value: Any) -> str:
    """A rule field's value as a reader reads it (hours, shares, on/off, labels, dates).

    Example:
        >>> format_field("target", 0.9), format_field("valid_replies_only", True)
        ('90 %', 'on')
        >>> format_field("exclusions", frozenset({"blocked", "holiday_mode"}))
        'holiday mode, blocked buyer'
    """
    if value is None:
        return "no rating" if name == "default_rate" else "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if name.endswith("_hours") and isinstance(value, int | float):
        return format_hours(value)
    if name.endswith("_days") and isinstance(value, int | float):
        return f"{value:g} days"
    if name == "min_chats" and isinstance(value, int):
        return "off" if value == 0 else f"{value:,} counted chats"
    if name == "due_day_offset" and isinstance(value, int):
        return {0: "the same day", 1: "the next day"}.get(value, f"{value} days later")
    shares = ("target", "warning_below", "enforcement_below", "default_rate")
    if name in (*shares, "blend_weight", "recent_fraction") or name.endswith("_share"):
        return format_share(value, 0 if round(100 * value, 6) == round(100 * value) else 1)
    if isinstance(value, dt.date):
        return value.isoformat()
    if name == "exclusions":
        from chatsim.rules import EXCLUSIONS

        chosen = [e for e in EXCLUSIONS if e in value] + sorted(set(value) - set(EXCLUSIONS))
        return ", ".join(label(e, "reason").lower() for e in chosen) or "none"
    if isinstance(value, Mapping):  # a weekly schedule
        days = [f"{d.title()} {' '.join(r).replace('-', '–')}" for d, r in value.items() if r]
        return "; ".join(days) or "no working hours"
    if name == "auto_reply" and value in _AUTO_REPLY_VALUES:
        return _AUTO_REPLY_VALUES[value]
    if isinstance(value, str) and value in RULE_FIGURE_VALUES.get(name, {}):
        return RULE_FIGURE_VALUES[name][value]
    if isinstance(value, str):
        return label(value).lower() if label(value) != value else value
    if isinstance(value, Iterable):
        return ", ".join(format_field(name, v) for v in value)
    return str(value)


def describe_change(name: str, old: Any, new: Any) -> str:
    """One rule field's change, as the bridge labels it: ``"Target 90 % → 85 %"``.

    Example:
        >>> describe_change("chatbot_weekend_deadline", True, False)
        'Chatbot-weekend deadline on → off'
        >>> describe_change("target_comparison", "at_least", "more_than")
        'Target: at least → more than'
    """
    prefix = _CHANGE_PREFIXES.get(name, field_label(name))
    return f"{prefix} {format_field(name, old)} → {format_field(name, new)}"
