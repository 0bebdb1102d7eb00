"""Ids and small integer codes: what the engine computes with instead of strings.

The state machine's states, a chat's status and exclusion reason, ``answered_by`` and
``rating`` travel through the engine as small integers (positions in the names below);
string shop ids become positions in the shops table (:func:`encode_shops`). The finished
tables turn them back (:mod:`chatsim.engine.finish`). Times are integer microseconds
since the epoch (:func:`epoch_us`).

Example:
    >>> STATUSES[STATUS_CODE["pending"]]
    'pending'
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from chatsim.rules import EXCLUSIONS

__all__ = [
    "ANSWERED_BY",
    "ANSWERED_BY_NAMES",
    "AUTO",
    "BUYER",
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
    "STATUSES",
    "STATUS_CODE",
    "STATUS_DTYPE",
    "TIMESTAMP_DTYPE",
    "US_PER_HOUR",
    "check_shops_known",
    "decode_shops",
    "encode_shops",
    "epoch_us",
]

# integer codes of the state machine
NONE, BUYER, HUMAN, AUTO = 0, 1, 2, 3
NO_TIME = -(2**62)  # sentinel: "no such earlier message in this conversation"
US_PER_HOUR = 3_600_000_000
ORDER = ["_t", "message_id"]  # sent_at as epoch microseconds, then the message id
CONV = "conversation_id"

STATUSES: tuple[str, ...] = (
    "answered_in_time",
    "answered_late",
    "unanswered",
    "pending",
    "excluded",
    "outside_period",
)
STATUS_DTYPE = pl.Enum(list(STATUSES))
REASON_DTYPE = pl.Enum(list(EXCLUSIONS))
# inside the engine a status is its position in STATUSES and an exclusion reason its
# position in EXCLUSIONS (small integers, compared cheaply); finish_chats maps them to
# the Enum dtypes
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}
REASON_CODE = {name: i for i, name in enumerate(EXCLUSIONS)}
# the chat table's answered_by and rating travel as codes (positions in these names)
ANSWERED_BY_NAMES = ("seller", "auto")
RATING_NAMES = ("satisfied", "unsatisfied")
ANSWERED_BY = pl.Enum(list(ANSWERED_BY_NAMES))
RATING = pl.Enum(list(RATING_NAMES))
RATING_CODE = {name: i for i, name in enumerate(RATING_NAMES)}
# the tables' timestamps (microseconds, UTC)
TIMESTAMP_DTYPE = pl.Datetime("us", "UTC")


def epoch_us(d: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact)."""
    delta = d.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_shops(
    messages: pl.DataFrame,
    shops: pl.DataFrame,
    holiday_mode: pl.DataFrame,
    blocked: pl.DataFrame,
) -> tuple[
    pl.Enum | None, tuple[pl.LazyFrame | pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]
]:
    """String ``shop_id`` columns as integer codes (positions in the shops table).

    Returns the Enum that decodes them (None, and the tables unchanged, when the ids are
    not strings) and the tables; the messages lazily (the codes are computed within the
    sort, in parallel). Side-table rows of shops absent from the shops table are dropped:
    no chat can match them. A message of a shop absent from the shops table makes the
    collect fail (:func:`check_shops_known` names them).
    """
    if shops.schema["shop_id"] != pl.String or messages.schema["shop_id"] != pl.String:
        return None, (messages, shops, holiday_mode, blocked)
    enum = pl.Enum(shops["shop_id"].unique(maintain_order=True))
    known = pl.col("shop_id").is_in(enum.categories.implode())
    code = pl.col("shop_id").cast(enum).to_physical()
    # the time zone travels with every chat: as a code, not a string
    zones = pl.Enum(sorted(shops["timezone"].unique().to_list()))
    return enum, (
        messages.lazy().with_columns(code),
        shops.with_columns(code, pl.col("timezone").cast(zones)),
        holiday_mode.filter(known).with_columns(code),
        blocked.filter(known).with_columns(code),
    )


def check_shops_known(messages: pl.DataFrame, shops: pl.DataFrame) -> None:
    """Raise :class:`~chatsim.errors.SchemaError` naming messages whose shop has no row
    in the shops table (validated logs never have them)."""
    unknown = messages.filter(~pl.col("shop_id").is_in(shops["shop_id"].implode()))
    if unknown.height:
        from chatsim.errors import SchemaError

        examples = unknown["shop_id"].unique().sort().head(3).to_list()
        raise SchemaError(
            f"{unknown.height} message(s) belong to shops with no row in the shops table "
            f"(e.g. {examples}); add the shops (shop_id, timezone) to the shops table."
        )


def decode_shops(shop_id: pl.Expr, enum: pl.Enum | None, dtype: pl.DataType) -> pl.Expr:
    """Shop codes of :func:`encode_shops` back to the ids (``dtype``); as is without codes."""
    if enum is None:
        return shop_id.cast(dtype)
    # a gather from the ids (string views) is ~8x faster than Enum -> String
    return (
        pl.lit(pl.Series(enum.categories))
        .gather(shop_id)
        .cast(dtype)
        .alias(shop_id.meta.output_name())
    )
