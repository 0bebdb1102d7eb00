"""The rule logic, as narwhals code that polars and PySpark both run.

Everything that decides a number in the chat or shop tables lives in this package, as
narwhals expressions over a narwhals ``LazyFrame``. Its modules are the stages, in the
order the data flows:

* :mod:`~chatsim.engine.codes`: ids and small integer codes (statuses, exclusion
  reasons, ``answered_by``, ratings, shop codes, epoch microseconds);
* :mod:`~chatsim.engine.backend`: the :class:`Window` strategies and the :class:`Backend`
  (what an engine supplies), the join helpers;
* :mod:`~chatsim.engine.statemachine`: the chat state machine (:func:`chat_frame`) and
  the rule-independent chat features (:func:`with_features`);
* :mod:`~chatsim.engine.kernel`: the same state machine compiled (numba, loaded on
  first use);
* :mod:`~chatsim.engine.judge`: the per-rule judging (:func:`judge`: deadline, status;
  :func:`pause_intervals` for a clock that stops in holiday mode);
* :mod:`~chatsim.engine.finish`: every rule's judged chats (:func:`judged_chats`), the
  shop aggregation (:func:`shop_frame`) and the finished chat and shop tables;
* :mod:`~chatsim.engine.rates`: each rule's figure per shop (rate kinds, response time,
  satisfaction), read against its target (``meets_target``, ``tier``, ``confidence``);
* :mod:`~chatsim.engine.clock` and :mod:`~chatsim.engine.polars`: the polars backend
  (:class:`PolarsBackend`, its clocks) and the polars run (:func:`run_polars`).

:func:`chatsim.metrics.compare` runs it on a polars ``LazyFrame`` and
:func:`chatsim.spark.compare_spark` on a Spark ``DataFrame``.

The chat state machine has one more form: :mod:`chatsim.engine.kernel`, the same
definitions as one compiled loop over the sorted messages, which polars runs by
default (the :class:`Compiled` window). The tests require identical chat and shop
tables from it and from the expressions.

An :class:`Backend` supplies what is engine-specific, and nothing that is rule logic:

* how to reach "the previous row of the same conversation" (:class:`Window`):
  ordered passes over the globally sorted frame on polars (``GlobalOrder``),
  windows partitioned by conversation on Spark (``PerConversation``, narwhals,
  scales out); both give the same values, and the tests run the rule logic with
  both on polars; or the compiled loop (``Compiled``, polars' default);
* epoch microseconds of ``sent_at`` and back to timestamps;
* the shop-local weekday and "next Monday 12:00 local" of a UTC instant;
* the business-hours clock (polars only);
* collecting the result to polars (:func:`finish_chats`, :func:`finish_shops`
  then give both engines' results the same columns and dtypes).

Timestamps are compared as integer microseconds and averages are computed as an
integer sum divided by a count, so both engines give bit-identical results.

Example:
    >>> from chatsim.rules import NEW_12H
    >>> from chatsim.sample import sample_log
    >>> log = sample_log()
    >>> as_of = log.messages["sent_at"].max()
    >>> [(rule, chats, shops)] = run_polars(
    ...     log.messages, log.shops, log.holiday_mode, log.blocked, [NEW_12H], as_of
    ... )
    >>> chats.height, shops["response_rate"].to_list()
    (34, [1.0, 0.0, 0.75, None])
"""

from __future__ import annotations

from chatsim.engine.backend import (
    Agg,
    Backend,
    Compiled,
    GlobalOrder,
    PerConversation,
    Window,
    join_columns,
    join_flag,
    placed,
)
from chatsim.engine.clock import (
    business_deadline,
    business_deadline_us,
    business_seconds,
    business_us,
    from_local,
    from_local_exact,
    local_time,
    zone_gaps,
)
from chatsim.engine.codes import (
    ANSWERED_BY,
    ANSWERED_BY_NAMES,
    AUTO,
    BUYER,
    CONV,
    HUMAN,
    NO_TIME,
    NONE,
    ORDER,
    RATING,
    RATING_CODE,
    RATING_NAMES,
    REASON_CODE,
    REASON_DTYPE,
    STATUS_CODE,
    STATUS_DTYPE,
    STATUSES,
    US_PER_HOUR,
    check_shops_known,
    decode_shops,
    encode_shops,
    epoch_us,
)
from chatsim.engine.finish import (
    CHAT_COLUMNS,
    SHOP_COUNTS,
    SHOP_INPUTS,
    chat_columns,
    divide_exactly,
    finish_chats,
    finish_shops,
    in_chat_order,
    judged_chats,
    shop_frame,
    shop_rates,
    with_labels,
)
from chatsim.engine.judge import judge, pause_intervals
from chatsim.engine.polars import (
    PolarsBackend,
    canonical_order,
    compiled_messages,
    pack_small_columns,
    polars_backend,
    run_polars,
)
from chatsim.engine.statemachine import (
    chat_frame,
    differing_conversations,
    expression_chats,
    message_base,
    with_features,
)

__all__ = [
    "ANSWERED_BY",
    "ANSWERED_BY_NAMES",
    "AUTO",
    "BUYER",
    "CHAT_COLUMNS",
    "CONV",
    "HUMAN",
    "NONE",
    "NO_TIME",
    "ORDER",
    "RATING",
    "RATING_CODE",
    "RATING_NAMES",
    "REASON_CODE",
    "REASON_DTYPE",
    "SHOP_COUNTS",
    "SHOP_INPUTS",
    "STATUSES",
    "STATUS_CODE",
    "STATUS_DTYPE",
    "US_PER_HOUR",
    "Agg",
    "Backend",
    "Compiled",
    "GlobalOrder",
    "PerConversation",
    "PolarsBackend",
    "Window",
    "business_deadline",
    "business_deadline_us",
    "business_seconds",
    "business_us",
    "canonical_order",
    "chat_columns",
    "chat_frame",
    "check_shops_known",
    "compiled_messages",
    "decode_shops",
    "differing_conversations",
    "divide_exactly",
    "encode_shops",
    "epoch_us",
    "expression_chats",
    "finish_chats",
    "finish_shops",
    "from_local",
    "from_local_exact",
    "in_chat_order",
    "join_columns",
    "join_flag",
    "judge",
    "judged_chats",
    "local_time",
    "message_base",
    "pack_small_columns",
    "pause_intervals",
    "placed",
    "polars_backend",
    "run_polars",
    "shop_frame",
    "shop_rates",
    "with_features",
    "with_labels",
    "zone_gaps",
]
