"""Daily evaluation: the shop table at the end of every day of a range.

:func:`compare_daily` (:mod:`chatsim.daily.evaluate`) gives, for every day, rule and
shop, the row ``compare(log, rules, as_of=day_end)`` gives, computed incrementally: the
chats built once with their instants (:mod:`~chatsim.daily.instants`), their states at
every cutoff added up per shop and day (:mod:`~chatsim.daily.timeline`), the tables
finished by the engine (:mod:`~chatsim.daily.tables`). Rules the incremental path does
not cover (:func:`incremental_supported`, :mod:`~chatsim.daily.support`) take one
``compare`` per day. The days and their cutoffs: :mod:`~chatsim.daily.days`.

Example:
    >>> from chatsim.sample import sample_log
    >>> compare_daily(sample_log(), start="2025-09-12", end="2025-09-12").height
    8
"""

from chatsim.daily.days import MAX_DAYS, day_end, day_range
from chatsim.daily.evaluate import DAILY_KEY, compare_daily, daily_summary
from chatsim.daily.support import incremental_supported

__all__ = [
    "DAILY_KEY",
    "MAX_DAYS",
    "compare_daily",
    "daily_summary",
    "day_end",
    "day_range",
    "incremental_supported",
]
