"""What a reader is told about a what-if variant (:func:`chatsim.analysis.what_if`): the
settings it changes, and why it rescues no shop or costs shops, from the chat counts.

Example:
    >>> describe_settings({"delay_median_minutes": 10, "works_holidays": True})
    'Delay median minutes: 10; Works holidays: on'
    >>> before = {"counted": 900.0, "answered_in_time": 700.0, "excluded_auto_resolved": 50.0}
    >>> after = {"counted": 800.0, "answered_in_time": 620.0, "excluded_auto_resolved": 150.0}
    >>> print(what_if_explanation(0, 12, {**before, "rate": 700 / 900}, {**after, "rate": 0.775}))
    It rescues no shop: in the affected shops 100 more chats are excluded as resolved by automatic reply, so counted chats go from 900 to 800; the share of counted chats answered in time goes from 77.8 % to 77.5 % (−0.3 pp).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatsim.explain.formats import format_count, format_pp, format_share
from chatsim.explain.labels import format_field, humanize

__all__ = ["describe_settings", "what_if_explanation"]


def describe_settings(settings: Mapping[str, Any]) -> str:
    """A variant's settings as a reader reads them: ``"Works holidays: on; ..."``."""
    return "; ".join(f"{humanize(k)}: {format_field(k, v)}" for k, v in settings.items())


def what_if_explanation(
    net: int, failing: int, before: Mapping[str, float], after: Mapping[str, float]
) -> str:
    """Why a variant rescues no shop, or costs shops (``net``: rescued minus newly failing;
    ``failing``: the segment's shops failing before), from the segment's chat totals before
    and after (``counted``, ``answered_in_time``, ``excluded_auto_resolved``, ``rate``);
    empty when it rescues shops on balance."""
    if net > 0:
        return ""
    if failing == 0 and net == 0:
        return "No shop of this segment fails the new rule, so there is none to rescue."
    parts = []
    d_counted = after["counted"] - before["counted"]
    d_auto = after["excluded_auto_resolved"] - before["excluded_auto_resolved"]
    if d_auto > 0:
        parts.append(
            f"{format_count(d_auto)} more chats are excluded as resolved by automatic reply, "
            f"so counted chats go from {format_count(before['counted'])} to "
            f"{format_count(after['counted'])}"
        )
    elif d_counted:
        parts.append(
            f"counted chats go from {format_count(before['counted'])} to "
            f"{format_count(after['counted'])}"
        )
    d_rate = after["rate"] - before["rate"]
    parts.append(
        f"the share of counted chats answered in time goes from {format_share(before['rate'])} "
        f"to {format_share(after['rate'])} ({format_pp(d_rate)})"
    )
    lead = "It rescues no shop" if net == 0 else f"It costs {format_count(-net)} shop(s) net"
    return f"{lead}: in the affected shops " + "; ".join(parts) + "."
