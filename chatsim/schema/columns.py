"""What a chat log holds: its tables, their columns, and the values and types they take.

Each table is a dict ``column -> (kind, required)``, where the kind is a polars dtype, an
:class:`polars.Enum` of allowed values, :data:`ID` (string or integer identifier) or
:data:`TS` (timezone-aware timestamp). ``docs/schema.md`` is the reference.

Example:
    >>> [c for c, (_, required) in MESSAGE_COLUMNS.items() if not required]
    ['rating', 'valid_reply', 'no_response_needed', 'stars']
"""

from __future__ import annotations

import datetime as dt

import polars as pl

__all__ = [
    "BLOCKED_COLUMNS",
    "BOOL_TEXT",
    "INTEGER_TEXT",
    "SENT_AT_EARLIEST",
    "SENT_AT_LATEST_AHEAD",
    "HOLIDAY_COLUMNS",
    "ID",
    "KINDS",
    "KIND_DTYPE",
    "MESSAGE_COLUMNS",
    "RATINGS",
    "RATING_DTYPE",
    "SENDERS",
    "SENDER_DTYPE",
    "SHOP_COLUMNS",
    "STARS",
    "STARS_DTYPE",
    "TABLES",
    "TS",
    "TS_WITH_ZONE",
    "UTC_DATETIME",
    "plausible_sent_at_range",
    "required_columns",
]

SENDERS: tuple[str, ...] = ("buyer", "seller", "auto")
KINDS: tuple[str, ...] = (
    "text",
    "sticker",
    "emoji",
    "image",
    "video",
    "order_card",
    "product_card",
    "system",
)
RATINGS: tuple[str, ...] = ("satisfied", "unsatisfied")
#: The values of the optional ``stars`` column (the fine form of a rating), and its type.
STARS: tuple[int, ...] = (1, 2, 3, 4, 5)
STARS_DTYPE = pl.Int8

SENDER_DTYPE = pl.Enum(list(SENDERS))
KIND_DTYPE = pl.Enum(list(KINDS))
RATING_DTYPE = pl.Enum(list(RATINGS))
UTC_DATETIME = pl.Datetime("us", "UTC")

ID = "id"  # marker: string or integer identifier column
TS = "ts"  # marker: timezone-aware timestamp column

#: Messages table: column -> (kind of column, required).
MESSAGE_COLUMNS: dict[str, tuple[object, bool]] = {
    "message_id": (ID, True),
    "shop_id": (ID, True),
    "conversation_id": (ID, True),
    "buyer_id": (ID, True),
    "sent_at": (TS, True),
    "sender": (SENDER_DTYPE, True),
    "kind": (KIND_DTYPE, True),
    "is_broadcast": (pl.Boolean, True),
    "rating": (RATING_DTYPE, False),
    "valid_reply": (pl.Boolean, False),
    "no_response_needed": (pl.Boolean, False),
    "stars": (STARS_DTYPE, False),
}
SHOP_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "timezone": (pl.String, True),
    "chatbot_enabled": (pl.Boolean, False),
    "country": (pl.String, False),
}
HOLIDAY_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "start": (TS, True),
    "end": (TS, True),
}
BLOCKED_COLUMNS: dict[str, tuple[object, bool]] = {
    "shop_id": (ID, True),
    "buyer_id": (ID, True),
    "blocked_at": (TS, True),
}

TABLES = ("messages", "shops", "holiday_mode", "blocked")

#: A timestamp written as text must end with its zone: ``Z`` or an offset.
TS_WITH_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"
#: The text forms of true/false a table may use (compared lower-cased, trimmed).
BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False}
#: An identifier written as text reads as an integer when every value of its column is an
#: integer written plainly (no sign but ``-``, no leading zero, no spaces), e.g. ``"10"``.
INTEGER_TEXT = r"^(0|-?[1-9][0-9]*)$"

#: The earliest plausible message time (a ``sent_at`` before it is refused).
SENT_AT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How far after now a message time is still plausible.
SENT_AT_LATEST_AHEAD = dt.timedelta(days=366)


def plausible_sent_at_range(
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime]:
    """The default plausible ``sent_at`` range: 2000-01-01 to one year after ``now`` (UTC).

    Example:
        >>> lo, hi = plausible_sent_at_range(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        >>> lo.date(), hi.date()
        (datetime.date(2000, 1, 1), datetime.date(2026, 1, 2))
    """
    now = now if now is not None else dt.datetime.now(dt.UTC)
    return SENT_AT_EARLIEST, now.astimezone(dt.UTC) + SENT_AT_LATEST_AHEAD


def required_columns(spec: dict[str, tuple[object, bool]]) -> list[str]:
    """The required columns of a table spec, in order.

    Example:
        >>> required_columns(SHOP_COLUMNS)
        ['shop_id', 'timezone']
    """
    return [c for c, (_, req) in spec.items() if req]
