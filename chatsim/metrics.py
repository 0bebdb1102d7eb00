"""Per-chat status and per-shop metrics under one or several rules.

:func:`compare` is the entry point: it groups the messages into chats once per
distinct chat definition (see :mod:`chatsim.chats`), then judges every chat under
every rule:

* **excluded** (first matching reason, in the order of
  :data:`chatsim.rules.EXCLUSIONS`): opened in holiday mode, from a buyer the shop
  blocked (at or before the data cutoff), seller-initiated, resolved by automatic
  reply. Each is counted by reason.
* **outside_period**: opened outside the rule's evaluation period.
* **answered_in_time**: answered at or before the deadline.
* **answered_late** / **unanswered**: the deadline passed before the data cutoff.
* **pending**: unanswered, and the deadline falls after the data cutoff
  (right-censored): left out of the rate's denominator and counted separately.

The shop table gives, per rule and shop, counted chats, exclusions by reason,
pending chats, the N-hour response rate (null over zero counted chats), mean and
median response time of answered counted chats, the satisfaction rate and whether
the shop meets the target (and its tier).

Example:
    >>> from chatsim.sample import sample_log
    >>> ev = compare(sample_log())
    >>> sorted(ev.shops["rule"].unique())
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from chatsim.engine import REASON_DTYPE, STATUS_DTYPE, STATUSES, Window, local_time, run_polars
from chatsim.errors import RuleError
from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog

__all__ = [
    "REASON_DTYPE",
    "STATUSES",
    "STATUS_DTYPE",
    "Evaluation",
    "chat_table",
    "compare",
    "local_time",
    "shop_table",
]


@dataclass
class Evaluation:
    """The result of :func:`compare`: chat and shop tables for every rule.

    Attributes:
        rules: the rules, in the order given.
        as_of: the data cutoff (UTC): deadlines after it make chats pending.
        chats: one row per chat and rule (``rule`` column first); empty, with its
            columns, when :func:`compare` was asked for ``chats=False``.
        shops: one row per shop and rule, with the shop's attribute columns.
        messages_used: messages at or before the cutoff.
        messages_after_cutoff: messages after ``as_of`` (not used, reported).
        dropped: rows a lenient read dropped, by reason.
    """

    rules: list[Rule]
    as_of: dt.datetime
    chats: pl.DataFrame
    shops: pl.DataFrame
    messages_used: int
    messages_after_cutoff: int
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> pl.DataFrame:
        """One row per rule: shops, chats by status, exclusions by reason, share passing.

        Example:
            >>> from chatsim.sample import sample_log
            >>> compare(sample_log()).summary().columns[:3]
            ['rule', 'window_hours', 'target']
        """
        rows = []
        for rule in self.rules:
            s = self.shops.filter(pl.col("rule") == rule.name)
            rated = s.filter(pl.col("response_rate").is_not_null())
            row = {
                "rule": rule.name,
                "window_hours": rule.window_hours,
                "target": rule.target,
                "shops": s.height,
                "shops_rated": rated.height,
                "shops_meeting_target": int(rated["meets_target"].sum()),
                "share_meeting_target": (rated["meets_target"].mean() if rated.height else None),
                "counted_chats": int(s["counted"].sum()),
                "answered_in_time": int(s["answered_in_time"].sum()),
                "pending": int(s["pending"].sum()),
                "outside_period": int(s["outside_period"].sum()),
            }
            for reason in EXCLUSIONS:
                row[f"excluded_{reason}"] = int(s[f"excluded_{reason}"].sum())
            c = row["counted_chats"]
            row["overall_rate"] = row["answered_in_time"] / c if c else None
            rows.append(row)
        return pl.DataFrame(rows)

    def exclusions(self) -> pl.DataFrame:
        """Chats excluded, by rule and reason (zeros included), plus pending and out-of-period.

        Example:
            >>> from chatsim.sample import sample_log
            >>> compare(sample_log()).exclusions().columns
            ['rule', 'reason', 'chats']
        """
        rows = []
        for rule in self.rules:
            s = self.shops.filter(pl.col("rule") == rule.name)
            for reason in EXCLUSIONS:
                rows.append(
                    {
                        "rule": rule.name,
                        "reason": reason,
                        "chats": int(s[f"excluded_{reason}"].sum()),
                    }
                )
            rows.append({"rule": rule.name, "reason": "pending", "chats": int(s["pending"].sum())})
            rows.append(
                {
                    "rule": rule.name,
                    "reason": "outside_period",
                    "chats": int(s["outside_period"].sum()),
                }
            )
        return pl.DataFrame(rows)

    def rule(self, name: str) -> Rule:
        """The rule called ``name``."""
        for r in self.rules:
            if r.name == name:
                return r
        raise RuleError(
            f"no rule named '{name}' in this evaluation; have {[r.name for r in self.rules]}."
        )


def _cutoff(log: ChatLog, as_of: dt.datetime | str | None) -> dt.datetime:
    if as_of is None:
        end = log.data_end
        if end is None:
            raise RuleError(
                f"{log.source}: the log has no messages, so there is no data cutoff; pass as_of."
            )
        return end
    if isinstance(as_of, str):
        try:
            as_of = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError as exc:
            raise RuleError(f"as_of '{as_of}' is not an ISO-8601 timestamp.") from exc
    if as_of.tzinfo is None:
        raise RuleError(f"as_of {as_of} has no time zone; give e.g. '2025-09-14T00:00:00+00:00'.")
    return as_of.astimezone(dt.UTC)


def compare(
    log: ChatLog,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    window: Window | None = None,
    chats: bool = True,
) -> Evaluation:
    """Evaluate several rules on one log in one pass over its messages.

    Messages are sorted once; chats are built once per distinct chat definition
    (automatic-reply mode, valid-replies setting, session bound) and judged under
    each rule. ``as_of`` is the data cutoff (default: the latest message);
    messages after it are ignored and counted. The rule logic is
    :mod:`chatsim.engine` (shared with the Spark engine); ``window`` picks how it
    walks conversations (default ``Compiled``: the compiled state machine of
    :mod:`chatsim.kernel`, one loop over the sorted messages; ``GlobalOrder`` and
    ``PerConversation`` run the expression definitions, with identical results).
    ``chats=False`` skips the chat table (``Evaluation.chats`` is then empty, with its
    columns): faster and lighter when only the shop figures are needed (sweeps, what-ifs).

    Example:
        >>> from chatsim.sample import sample_log
        >>> ev = compare(sample_log(), [NEW_12H, NEW_12H.replace(name="new-24h", window_hours=24)])
        >>> ev.summary()["rule"].to_list()
        ['new-12h', 'new-24h']
    """
    rules = list(rules)
    if not rules:
        raise RuleError("compare() needs at least one rule.")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleError(f"rule names must be unique; got {names}.")
    cutoff = _cutoff(log, as_of)
    msgs = log.messages
    n_after = int((msgs["sent_at"] > cutoff).sum())
    if n_after:
        msgs = msgs.filter(pl.col("sent_at") <= cutoff)
    results = run_polars(
        msgs, log.shops, log.holiday_mode, log.blocked, rules, cutoff, window=window, chats=chats
    )
    return Evaluation(
        rules=rules,
        as_of=cutoff,
        chats=pl.concat([c for _, c, _ in results], how="vertical"),
        shops=pl.concat([s for _, _, s in results], how="vertical_relaxed"),
        messages_used=msgs.height,
        messages_after_cutoff=n_after,
        dropped=dict(log.dropped.counts),
    )


def chat_table(
    log: ChatLog, rule: Rule = NEW_12H, *, as_of: dt.datetime | str | None = None
) -> pl.DataFrame:
    """One row per chat with its status under ``rule`` (see :func:`compare`)."""
    return compare(log, [rule], as_of=as_of).chats


def shop_table(
    log: ChatLog, rule: Rule = NEW_12H, *, as_of: dt.datetime | str | None = None
) -> pl.DataFrame:
    """One row per shop with its metrics under ``rule`` (see :func:`compare`)."""
    return compare(log, [rule], as_of=as_of).shops
