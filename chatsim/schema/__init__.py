"""The chat-log schema: column definitions, readers and validation.

A chat log is a folder (or explicit files) holding four tables:

* ``messages``: one row per chat message (see :data:`MESSAGE_COLUMNS`);
* ``shops``: ``shop_id``, ``timezone``, optional ``chatbot_enabled`` and segment columns;
* ``holiday_mode``: ``shop_id``, ``start``, ``end`` (half-open intervals);
* ``blocked``: ``shop_id``, ``buyer_id``, ``blocked_at``.

Only ``messages`` is required. Timestamps must be timezone-aware and are stored
as UTC. Every check raises :class:`~chatsim.errors.SchemaError` naming the file,
the column, how many rows offend and a few examples. The full reference is
``docs/schema.md``.

The modules: :mod:`~chatsim.schema.columns` (tables, columns, allowed values),
:mod:`~chatsim.schema.checks` (validation), :mod:`~chatsim.schema.ids` (id types and the
whole-log id checks), :mod:`~chatsim.schema.messages` (the error messages, shared by
every reader), :mod:`~chatsim.schema.files` (locating a log's files, reading them
safely), :mod:`~chatsim.schema.log` (:class:`ChatLog`, :func:`read_log`, the lazy
:func:`scan_log`, :func:`write_log`).

Example:
    >>> import polars as pl, datetime as dt
    >>> df = pl.DataFrame({
    ...     "message_id": [1], "shop_id": ["s1"], "conversation_id": ["c1"],
    ...     "buyer_id": ["b1"],
    ...     "sent_at": [dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)],
    ...     "sender": ["buyer"], "kind": ["text"], "is_broadcast": [False]})
    >>> validate_messages(df).schema["sender"]
    Enum(categories=['buyer', 'seller', 'auto'])
"""

from __future__ import annotations

from chatsim.schema.checks import (
    CheckedMessages,
    Exclusions,
    align_id,
    check_messages,
    conform,
    validate_blocked,
    validate_holiday_mode,
    validate_messages,
    validate_shops,
    validate_table,
)
from chatsim.schema.columns import (
    BLOCKED_COLUMNS,
    BOOL_TEXT,
    HOLIDAY_COLUMNS,
    ID,
    INTEGER_TEXT,
    KIND_DTYPE,
    KINDS,
    MESSAGE_COLUMNS,
    RATING_DTYPE,
    RATINGS,
    SENDER_DTYPE,
    SENDERS,
    SHOP_COLUMNS,
    STARS,
    STARS_DTYPE,
    TABLES,
    TS,
    TS_WITH_ZONE,
    UTC_DATETIME,
    plausible_sent_at_range,
    required_columns,
)
from chatsim.schema.extras import check_countries, check_stars, holiday_dates, known_countries
from chatsim.schema.files import (
    Format,
    check_readable,
    locate_log,
    read_guard,
    scan_files,
    table_files,
)
from chatsim.schema.ids import (
    cast_ids,
    check_one_shop_per_conversation,
    check_unique_message_ids,
    id_dtypes,
)
from chatsim.schema.log import (
    SIDE_TABLES,
    ChatLog,
    LazyLog,
    read_log,
    scan_log,
    unmatched_shop_rows,
    write_log,
    write_table,
)
from chatsim.schema.messages import lenient_wording

__all__ = [
    "BLOCKED_COLUMNS",
    "BOOL_TEXT",
    "HOLIDAY_COLUMNS",
    "ID",
    "INTEGER_TEXT",
    "KINDS",
    "KIND_DTYPE",
    "MESSAGE_COLUMNS",
    "RATINGS",
    "RATING_DTYPE",
    "SENDERS",
    "SENDER_DTYPE",
    "SHOP_COLUMNS",
    "SIDE_TABLES",
    "STARS",
    "STARS_DTYPE",
    "TABLES",
    "TS",
    "TS_WITH_ZONE",
    "UTC_DATETIME",
    "ChatLog",
    "CheckedMessages",
    "Exclusions",
    "Format",
    "LazyLog",
    "align_id",
    "cast_ids",
    "check_countries",
    "check_messages",
    "check_one_shop_per_conversation",
    "check_readable",
    "check_stars",
    "check_unique_message_ids",
    "conform",
    "holiday_dates",
    "id_dtypes",
    "known_countries",
    "lenient_wording",
    "locate_log",
    "plausible_sent_at_range",
    "read_guard",
    "read_log",
    "required_columns",
    "scan_files",
    "scan_log",
    "table_files",
    "unmatched_shop_rows",
    "validate_blocked",
    "validate_holiday_mode",
    "validate_messages",
    "validate_shops",
    "validate_table",
    "write_log",
    "write_table",
]
