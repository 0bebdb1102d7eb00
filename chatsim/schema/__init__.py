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
:mod:`~chatsim.schema.checks` (validation), :mod:`~chatsim.schema.messages` (its
messages, shared by every reader),
:mod:`~chatsim.schema.log` (:class:`ChatLog`, :func:`read_log`, the lazy
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
    Exclusions,
    align_id,
    check_one_shop_per_conversation,
    check_unique_message_ids,
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
    KIND_DTYPE,
    KINDS,
    MESSAGE_COLUMNS,
    RATING_DTYPE,
    RATINGS,
    SENDER_DTYPE,
    SENDERS,
    SHOP_COLUMNS,
    TABLES,
    TS,
    TS_WITH_ZONE,
    UTC_DATETIME,
    required_columns,
)
from chatsim.schema.log import (
    SIDE_TABLES,
    ChatLog,
    Format,
    LazyLog,
    locate_log,
    read_log,
    scan_files,
    scan_log,
    write_log,
    write_table,
)

__all__ = [
    "BLOCKED_COLUMNS",
    "BOOL_TEXT",
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
    "SIDE_TABLES",
    "TABLES",
    "TS",
    "TS_WITH_ZONE",
    "UTC_DATETIME",
    "ChatLog",
    "Exclusions",
    "Format",
    "LazyLog",
    "align_id",
    "check_one_shop_per_conversation",
    "check_unique_message_ids",
    "conform",
    "locate_log",
    "read_log",
    "required_columns",
    "scan_files",
    "scan_log",
    "validate_blocked",
    "validate_holiday_mode",
    "validate_messages",
    "validate_shops",
    "validate_table",
    "write_log",
    "write_table",
]
