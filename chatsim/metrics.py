"""Per-chat status and per-shop metrics under one or several rules.

:func:`compare` is the entry point, one face for every engine: ``engine="polars"`` (the
default: in memory), ``"buckets"`` (a log larger than memory, :mod:`chatsim.scale`) or
``"spark"`` (:mod:`chatsim.spark`), each taking its own options as keyword arguments
(:class:`EngineRegistry`, :func:`get_engine`). On polars it groups the messages into
chats once per distinct chat definition (see :mod:`chatsim.chats`), then judges every
chat under every rule:

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
median response time of answered counted chats, the satisfaction rate, the rule's own
figure (``rule_value``: the response rate, or a blended or late share, a response time,
a satisfaction rate; ``rule_measure`` says which, :mod:`chatsim.rulekinds`) and whether
the shop meets the target (and its tier).

Example:
    >>> from chatsim.sample import sample_log
    >>> ev = compare(sample_log())
    >>> sorted(ev.shops["rule"].unique())
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from chatsim.cliargs import parse_iso_time
from chatsim.engine import REASON_DTYPE, STATUS_DTYPE, STATUSES, Window, local_time, run_polars
from chatsim.errors import EngineError, RuleError
from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog, read_log

__all__ = [
    "ENGINES",
    "REASON_DTYPE",
    "STATUSES",
    "STATUS_DTYPE",
    "Engine",
    "EngineRegistry",
    "Evaluation",
    "chat_table",
    "check_rule_list",
    "compare",
    "data_cutoff",
    "get_engine",
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
        """One row per rule: shops, chats by status, exclusions by reason, share passing
        (of the shops with a figure under the rule: its ``rule_value``).

        Example:
            >>> from chatsim.sample import sample_log
            >>> compare(sample_log()).summary().columns[:3]
            ['rule', 'window_hours', 'target']
        """
        rows = []
        for rule in self.rules:
            s = self.shops.filter(pl.col("rule") == rule.name)
            # rated on the rule's own figure (the response rate, or what the rule measures)
            rated = s.filter(pl.col("rule_value").is_not_null())
            row = {
                "rule": rule.name,
                "window_hours": rule.window_hours,
                "target": rule.target,
                # what the target is read against: a rate, or hours (chatsim.rulekinds)
                "metric": rule.metric,
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


def check_rule_list(rules: Sequence[Rule], caller: str = "compare()") -> list[Rule]:
    """The rules as a list; at least one, with unique names (else :class:`RuleError`).

    Example:
        >>> [r.name for r in check_rule_list([NEW_12H, LEGACY_24H])]
        ['new-12h', 'legacy-24h']
    """
    rules = list(rules)
    if not rules:
        raise RuleError(f"{caller} needs at least one rule.")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleError(f"rule names must be unique; got {names}.")
    return rules


def data_cutoff(
    as_of: dt.datetime | str | None, data_end: dt.datetime | None, source: str
) -> dt.datetime:
    """The data cutoff (UTC): ``as_of`` (ISO-8601 text with its zone, ``Z``/``z`` or an
    offset, or an aware datetime), else the log's latest message ``data_end``. Deadlines
    after the cutoff make chats pending.

    Example:
        >>> data_cutoff("2025-09-14T07:00:00+07:00", None, "log")
        datetime.datetime(2025, 9, 14, 0, 0, tzinfo=datetime.timezone.utc)
        >>> data_cutoff("2025-09-14t00:00:00z", None, "log")
        datetime.datetime(2025, 9, 14, 0, 0, tzinfo=datetime.timezone.utc)
    """
    if as_of is None:
        if data_end is None:
            raise RuleError(
                f"{source}: the log has no messages, so there is no data cutoff; pass as_of."
            )
        return data_end
    if isinstance(as_of, str):
        try:
            as_of = parse_iso_time(as_of)
        except ValueError as exc:
            raise RuleError(f"as_of '{as_of}' is not an ISO-8601 timestamp.") from exc
    if as_of.tzinfo is None:
        raise RuleError(f"as_of {as_of} has no time zone; give e.g. '2025-09-14T00:00:00+00:00'.")
    return as_of.astimezone(dt.UTC)


# --------------------------------------------------------------------------------------
# The engines behind compare()
# --------------------------------------------------------------------------------------


class Engine:
    """One way to run :func:`compare`.

    A subclass gives :meth:`runner`: the function ``(log, rules, *, as_of, **options) ->
    Evaluation`` that evaluates. Its keyword-only parameters are the options the engine
    takes (:meth:`options`), so an option is declared once, where it is used. Register an
    instance under a name with :meth:`EngineRegistry.register`.
    """

    #: Whether the engine takes an in-memory :class:`ChatLog` (else a path).
    takes_chatlog: ClassVar[bool] = False

    def runner(self) -> Callable[..., Evaluation]:
        """The evaluating function (import heavy modules here, not at module level)."""
        raise NotImplementedError

    def options(self) -> list[str]:
        """The keyword options the engine takes, beyond ``as_of``."""
        params = inspect.signature(self.runner()).parameters.values()
        return [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name != "as_of"]

    def compare(
        self,
        log: Any,
        rules: Sequence[Rule],
        *,
        as_of: dt.datetime | str | None = None,
        **options: Any,
    ) -> Evaluation:
        """Run the engine (the options are checked by :meth:`EngineRegistry.compare`)."""
        return self.runner()(log, rules, as_of=as_of, **options)


class PolarsEngine(Engine):
    """In memory, with polars: a :class:`ChatLog` or a path read with ``read_log``."""

    takes_chatlog = True

    def runner(self) -> Callable[..., Evaluation]:
        return _compare_polars


class BucketsEngine(Engine):
    """Larger than memory, bucket by bucket: :func:`chatsim.scale.compare_dataset`."""

    def runner(self) -> Callable[..., Evaluation]:
        from chatsim.scale import compare_dataset

        return compare_dataset


class SparkEngine(Engine):
    """On a Spark session: :func:`chatsim.spark.compare_spark`."""

    def runner(self) -> Callable[..., Evaluation]:
        from chatsim.spark import compare_spark

        return compare_spark


class EngineRegistry:
    """The engines :func:`compare` knows, by name (``ENGINES``; see :func:`get_engine`).

    Example:
        >>> ENGINES.names()
        ['buckets', 'polars', 'spark']
    """

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def register(self, name: str, engine: Engine) -> None:
        """Make ``engine`` available as ``compare(..., engine=name)``."""
        self._engines[name] = engine

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._engines)

    def get_engine(self, name: str) -> Engine:
        """The engine called ``name`` (:class:`EngineError` naming the known ones if none)."""
        try:
            return self._engines[name]
        except KeyError:
            raise EngineError(
                f"unknown engine {name!r}; the engines are {', '.join(self.names())}."
            ) from None

    def compare(
        self,
        name: str,
        log: Any,
        rules: Sequence[Rule],
        *,
        as_of: dt.datetime | str | None = None,
        **options: Any,
    ) -> Evaluation:
        """Run engine ``name``, first checking the log's kind and the options it takes."""
        engine = self.get_engine(name)
        if isinstance(log, ChatLog) and not engine.takes_chatlog:
            raise EngineError(
                f"the {name} engine reads the log from its files; give the path "
                "(this log is already in memory: use engine='polars')."
            )
        taken = engine.options()
        unknown = [k for k in options if k not in taken]
        if unknown:
            elsewhere = [
                f"'{k}' is an option of the {' and '.join(others)} engine"
                + ("s" if len(others) > 1 else "")
                for k in unknown
                if (others := [n for n in self.names() if k in self.get_engine(n).options()])
            ]
            raise EngineError(
                f"the {name} engine takes no option {', '.join(repr(k) for k in unknown)}; "
                f"its options are {', '.join(taken) or 'none'}"
                + (f" ({'; '.join(elsewhere)})" if elsewhere else "")
                + "."
            )
        return engine.compare(log, rules, as_of=as_of, **options)


#: The registry :func:`compare` dispatches to.
ENGINES = EngineRegistry()
ENGINES.register("polars", PolarsEngine())
ENGINES.register("buckets", BucketsEngine())
ENGINES.register("spark", SparkEngine())


def get_engine(name: str) -> Engine:
    """The engine called ``name`` in :data:`ENGINES`.

    Example:
        >>> get_engine("dask")
        Traceback (most recent call last):
        ...
        chatsim.errors.EngineError: unknown engine 'dask'; the engines are buckets, polars, spark.
    """
    return ENGINES.get_engine(name)


def compare(
    log: ChatLog | str | Path | Any,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    engine: str = "polars",
    **options: Any,
) -> Evaluation:
    """Evaluate several rules on one log, with the engine of your choice.

    ``log`` is a :class:`ChatLog` (polars engine) or a path :func:`~chatsim.schema.read_log`
    reads. ``as_of`` is the data cutoff (default: the latest message); messages after it
    are ignored and counted. Every engine gives the same tables (tests assert it); each
    takes its own ``options`` (an option it does not take raises :class:`EngineError`):

    * ``"polars"`` (default), in memory: ``chats=False`` skips the chat table
      (``Evaluation.chats`` is then empty, with its columns): faster and lighter when
      only the shop figures are needed (sweeps, what-ifs); ``window`` picks how the rule
      logic walks conversations (default ``Compiled``: the compiled state machine, one
      loop over the sorted messages; ``GlobalOrder`` and ``PerConversation`` run the
      expression definitions, with identical results); for a path, ``lenient`` and the
      side-table paths ``shops``, ``holiday_mode``, ``blocked`` as in ``read_log``.
    * ``"buckets"``, larger than memory: the options of
      :func:`chatsim.scale.compare_dataset` (``buckets``, ``memory_budget_gb``,
      ``work_dir``, ``chats_out``, ``keep_chats``, ``progress``, ``lenient``...).
    * ``"spark"``: the options of :func:`chatsim.spark.compare_spark` (``spark``,
      ``collect_chats``).

    Every rule is evaluated whatever its ``effective_from``/``effective_until`` dates (they
    label days in :func:`chatsim.daily.compare_daily`, the shop table at every day's end).

    Messages are sorted once; chats are built once per distinct chat definition
    (automatic-reply mode, valid-replies setting, session bound) and judged under
    each rule. The rule logic is :mod:`chatsim.engine`, shared by every engine.

    Example:
        >>> from chatsim.sample import sample_log
        >>> ev = compare(sample_log(), [NEW_12H, NEW_12H.replace(name="new-24h", window_hours=24)])
        >>> ev.summary()["rule"].to_list()
        ['new-12h', 'new-24h']
        >>> compare(sample_log(), engine="polars", buckets=4)
        Traceback (most recent call last):
        ...
        chatsim.errors.EngineError: the polars engine takes no option 'buckets'; its options are window, chats, lenient, shops, holiday_mode, blocked ('buckets' is an option of the buckets engine).
    """
    return ENGINES.compare(engine, log, rules, as_of=as_of, **options)


def _compare_polars(
    log: ChatLog | str | Path,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    *,
    as_of: dt.datetime | str | None = None,
    window: Window | None = None,
    chats: bool = True,
    lenient: bool = False,
    shops: str | Path | None = None,
    holiday_mode: str | Path | None = None,
    blocked: str | Path | None = None,
) -> Evaluation:
    """The polars engine: one pass over the messages in memory (see :func:`compare`)."""
    rules = check_rule_list(rules)
    if not isinstance(log, ChatLog):
        log = read_log(
            log, lenient=lenient, shops=shops, holiday_mode=holiday_mode, blocked=blocked
        )
    elif lenient or shops or holiday_mode or blocked:
        raise EngineError(
            "lenient, shops, holiday_mode and blocked apply when the log is read from a "
            f"path; {log.source} is already read (pass them to read_log)."
        )
    cutoff = data_cutoff(as_of, log.data_end, log.source)
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
