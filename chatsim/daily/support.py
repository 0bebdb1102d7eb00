"""Which rules the incremental daily evaluation covers (:func:`incremental_supported`).

The incremental path (:mod:`chatsim.daily.instants`, :mod:`~chatsim.daily.timeline`,
:mod:`~chatsim.daily.tables`) knows which of a chat's instants move its row of the shop
table: it is exact for the rule settings listed in :data:`INCREMENTAL_FIELDS`, with the
exclusion reasons of :data:`INCREMENTAL_EXCLUSIONS`. Any other setting left at its
default keeps the behaviour those settings had; a rule that sets one (a new field
included) is evaluated by one ``compare`` per day instead, as is every rule when the
engine's shop counting reads more than the counts the incremental path makes.

Example:
    >>> from chatsim.rules import LEGACY_24H, NEW_12H
    >>> incremental_supported(LEGACY_24H), incremental_supported(NEW_12H.replace(min_chats=5))
    (True, True)
"""

from __future__ import annotations

import dataclasses

import narwhals as nw
import polars as pl

from chatsim.daily.instants import MOVING_REASONS
from chatsim.daily.tables import COUNTED_STATUSES, STANDING_INPUTS
from chatsim.engine import REASON_CODE, SHOP_INPUTS, STATUSES, shop_frame
from chatsim.rules import Rule

__all__ = ["INCREMENTAL_EXCLUSIONS", "INCREMENTAL_FIELDS", "incremental_supported"]

#: Rule fields the incremental path reads (or that do not change the figures).
INCREMENTAL_FIELDS = frozenset(
    {
        "name",
        "description",
        "window_hours",
        "target",
        "warning_below",
        "enforcement_below",
        "target_comparison",
        "min_chats",
        "default_rate",
        "period_days",
        "period_start",
        "period_end",
        "auto_reply",
        "exclusions",
        "holiday_mode",
        "valid_replies_only",
        "chatbot_weekend_deadline",
        "clock",
        "business_schedule",
        "session_hours",
        "violation_points",
        "boosts_store_rating",
        "effective_from",
        "effective_until",
        "visible_from",
    }
)
#: Exclusion reasons it covers: fixed at the chat's opening, or moving with the cutoff in
#: a way it follows (``blocked``, ``auto_resolved``).
INCREMENTAL_EXCLUSIONS = frozenset({"holiday_mode", "blocked", "seller_initiated", "auto_resolved"})
_SIDES = ("at_least", "more_than")


def _default(f: dataclasses.Field) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def incremental_supported(rule: Rule) -> bool:
    """Whether :func:`~chatsim.daily.compare_daily` evaluates ``rule`` incrementally: every
    field outside :data:`INCREMENTAL_FIELDS` at its default, its exclusions among
    :data:`INCREMENTAL_EXCLUSIONS`, and the engine's shop counting as the incremental path
    knows it. Otherwise the rule takes one ``compare`` per day (same figures, slower).

    Example:
        >>> from chatsim.rules import NEW_12H
        >>> incremental_supported(NEW_12H.replace(exclusions=frozenset({"blocked"})))
        True
    """
    for f in dataclasses.fields(rule):
        if f.name in INCREMENTAL_FIELDS:
            continue
        default = _default(f)
        if default is dataclasses.MISSING or getattr(rule, f.name) != default:
            return False
    if not set(rule.exclusions) <= INCREMENTAL_EXCLUSIONS:
        return False
    if rule.target_comparison not in _SIDES:
        return False
    return _engine_counts_known(rule)


def _engine_counts_known(rule: Rule) -> bool:
    """The engine's statuses and reasons as the counts lay them out, and its per-shop
    aggregation reading nothing beyond them (checked on no chats)."""
    if tuple(STATUSES[:4]) != COUNTED_STATUSES:
        return False
    if not set(REASON_CODE) >= MOVING_REASONS:
        return False
    return _shop_frame_columns(rule) <= STANDING_INPUTS | _RATES


_RATES = frozenset({"response_rate", "satisfaction_rate", "meets_target", "tier"})


def _shop_frame_columns(rule: Rule) -> frozenset[str]:
    """The columns :func:`~chatsim.engine.shop_frame` adds to a shops table, for ``rule``."""
    judged = pl.LazyFrame(schema={c: pl.Int64 for c in SHOP_INPUTS})
    judged = judged.with_columns(pl.col("status", "excluded_reason", "rating").cast(pl.Int8))
    shops = pl.LazyFrame(schema={"shop_id": pl.Int64})
    out = shop_frame(nw.from_native(judged), nw.from_native(shops), rule)
    return frozenset(out.collect_schema().names()) - {"shop_id"}
