"""The rollout over time: the daily shop table (:func:`chatsim.daily.compare_daily`) read
as a policy team reads it.

Every function takes the daily table (one row per day, rule and shop) and returns a small
polars table the rollout page shows:

* :func:`in_force_status`: each shop's standing on each day under **the rule in force**
  that day (the last rule of the list in force then: ``legacy-24h`` until 14 Aug 2025,
  ``new-12h`` from 15 Aug): meets the target, below it, or not rated;
* :func:`daily_shares` and :func:`segment_shares`: the share of rated shops meeting each
  rule, and in each tier, day by day (per seller type for the small multiples);
* :func:`transitions` and :func:`switch_recovery`: shops falling below and coming back,
  day by day, and for the shops that fall below on the day the rule in force changes,
  how many days they take to meet it again;
* :func:`adaptation_recovery` and :func:`adaptation_curve`: for sellers who change their
  behaviour (the simulated shops table's ``adapted_from`` and ``adaptation``), the days
  from their change to their return above target. The rate is measured over a trailing
  period (30 days), so a seller who fixes everything at once is back only when enough of
  the period's chats come from after the change: up to the whole period later.

A shop that is not rated on a day (no counted chat) keeps the standing of its last rated
day for the transitions: it neither falls nor recovers on a day it is not measured.

Example:
    >>> import datetime as dt
    >>> d = pl.DataFrame({
    ...     "day": [dt.date(2025, 8, 14), dt.date(2025, 8, 15)] * 2,
    ...     "rule": ["old"] * 2 + ["new"] * 2, "in_force": [True, False, False, True],
    ...     "visible": [True, False, True, True], "shop_id": ["a"] * 4,
    ...     "response_rate": [0.95, 0.95, 0.70, 0.70],
    ...     "meets_target": [True, True, False, False],
    ...     "tier": ["meets", "meets", "below_target", "below_target"]})
    >>> in_force_status(d).select("day", "rule", "status").rows()[1]
    (datetime.date(2025, 8, 15), 'new', 'below')
    >>> switch_days(in_force_status(d))
    [datetime.date(2025, 8, 15)]
"""

from __future__ import annotations

import polars as pl  # noqa: F401  (the example above)

from chatsim.rollout.adaptation import (
    ADAPTATION_COLUMNS,
    CURVE_DAYS_BEFORE,
    NO_ADAPTERS,
    adaptation_curve,
    adaptation_recovery,
    adaptation_summary,
)
from chatsim.rollout.summary import RolloutNumbers, rollout_numbers
from chatsim.rollout.tables import (
    STANDING_LABELS,
    STATUSES,
    TIERS,
    context_daily,
    daily_shares,
    in_force_status,
    policy_dates,
    rollout_daily,
    rollout_range,
    segment_shares,
    switch_days,
    switch_recovery,
    tier_shares,
    transitions,
    with_labels,
)

__all__ = [
    "ADAPTATION_COLUMNS",
    "CURVE_DAYS_BEFORE",
    "NO_ADAPTERS",
    "STANDING_LABELS",
    "STATUSES",
    "TIERS",
    "RolloutNumbers",
    "adaptation_curve",
    "adaptation_recovery",
    "adaptation_summary",
    "context_daily",
    "daily_shares",
    "in_force_status",
    "policy_dates",
    "rollout_daily",
    "rollout_numbers",
    "rollout_range",
    "segment_shares",
    "switch_days",
    "switch_recovery",
    "tier_shares",
    "transitions",
    "with_labels",
]
