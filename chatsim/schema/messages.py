"""The messages of the schema checks, written once: every reader raises these.

Each function returns a :class:`~chatsim.errors.SchemaError` naming the file (``source``),
the column, how many rows offend, a few examples and what to do. The in-memory validators
(:mod:`chatsim.schema.checks`), the bucketed reader (:mod:`chatsim.scale`) and the Spark
reader (:mod:`chatsim.spark`) build their errors here, so one problem reads the same
whichever engine finds it.

Example:
    >>> print(duplicate_ids_error("log.csv", 2, [7], lenient_hint=False))
    log.csv: column 'message_id': 2 row(s) share a message id with another row (e.g. ids [7]). Message ids must be unique; deduplicate the export.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from chatsim.errors import SchemaError

__all__ = [
    "EXAMPLES",
    "column_type_error",
    "duplicate_ids_error",
    "lenient_wording",
    "missing_columns_error",
    "naive_column_error",
    "no_messages_table_error",
    "not_boolean_error",
    "not_timestamp_error",
    "nulls_error",
    "out_of_range_error",
    "schema_error",
    "stars_error",
    "two_shops_error",
    "unknown_values_error",
    "unreadable_error",
    "zone_missing_error",
]

#: How many offending values a message shows.
EXAMPLES = 5
#: How a message tells the reader to ask for a lenient read (see :func:`lenient_wording`).
_LENIENT = ContextVar("chatsim_lenient_wording", default="read with lenient=True")


@contextmanager
def lenient_wording(wording: str) -> Iterator[None]:
    """Word the lenient hint of the messages raised inside the block for their reader.

    The default speaks to Python callers (``read with lenient=True``); the command line
    says ``rerun with --lenient``.

    Example:
        >>> with lenient_wording("rerun with --lenient"):
        ...     print(nulls_error("log.csv", {"shop_id": 1}))
        log.csv: null values in required column(s) {'shop_id': 1} (row counts). Every message needs these fields; fix or drop those rows (or rerun with --lenient to drop them with a count).
    """
    token = _LENIENT.set(wording)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def schema_error(source: str, msg: str) -> SchemaError:
    """A :class:`SchemaError` naming its source first: ``source: msg``."""
    return SchemaError(f"{source}: {msg}")


def missing_columns_error(source: str, missing: Sequence[str], found: Sequence[str]) -> SchemaError:
    """Required columns absent from a table."""
    return schema_error(
        source,
        f"missing required column(s) {list(missing)}; found {list(found)}. "
        "See docs/schema.md for the expected columns.",
    )


def column_type_error(source: str, column: str, dtype: object, expected: str) -> SchemaError:
    """A column of the wrong type (``expected`` says what it should hold)."""
    return schema_error(source, f"column '{column}' has type {dtype}; {expected}.")


def naive_column_error(source: str, column: str) -> SchemaError:
    """A timestamp column typed without a time zone."""
    return schema_error(
        source,
        f"column '{column}' holds naive timestamps (no time zone). chatsim cannot "
        "guess the zone: store them timezone-aware (e.g. '2025-08-01T09:00:00+07:00' "
        "or UTC with 'Z').",
    )


def zone_missing_error(source: str, column: str, n: int, examples: list) -> SchemaError:
    """Timestamps written as text without an offset."""
    return schema_error(
        source,
        f"column '{column}': {n} row(s) hold timestamps without a time zone "
        f"(e.g. {examples}). Add an offset such as '+07:00' or 'Z'.",
    )


def not_timestamp_error(source: str, column: str, n: int, examples: list) -> SchemaError:
    """Text that does not parse as an ISO-8601 timestamp."""
    return schema_error(
        source, f"column '{column}': {n} row(s) are not ISO-8601 timestamps (e.g. {examples})."
    )


def not_boolean_error(source: str, column: str, n: int, examples: list) -> SchemaError:
    """Text that is not a true/false value."""
    return schema_error(
        source, f"column '{column}': {n} row(s) are not true/false (e.g. {examples})."
    )


def unknown_values_error(
    source: str, column: str, n: int, examples: object, allowed: Sequence[str]
) -> SchemaError:
    """Values outside a column's allowed set (``examples``: values or value counts)."""
    return schema_error(
        source,
        f"column '{column}': {n} row(s) hold unknown values {examples}; allowed: {list(allowed)}.",
    )


def nulls_error(
    source: str,
    counts: dict[str, int],
    rows: list[int] | None = None,
    *,
    lenient_hint: bool | str = True,
) -> SchemaError:
    """Nulls in required columns (``counts``: column -> rows)."""
    where = f"; e.g. rows {rows}" if rows is not None else ""
    hint = f" (or {_hint(lenient_hint)} to drop them with a count)" if lenient_hint else ""
    return schema_error(
        source,
        f"null values in required column(s) {counts} (row counts){where}. Every message "
        f"needs these fields; fix or drop those rows{hint}.",
    )


def _hint(lenient_hint: bool | str) -> str:
    """The lenient wording: given by the caller (text), the block's (True) or none (False)."""
    if not lenient_hint:
        return ""
    return lenient_hint if isinstance(lenient_hint, str) else _LENIENT.get()


def duplicate_ids_error(
    source: str, n_rows: int, examples: list, *, lenient_hint: bool | str = True
) -> SchemaError:
    """Message ids on more than one row (``n_rows``: the rows involved).

    ``lenient_hint``: True words the hint as :func:`lenient_wording` says, a text words it
    so (``"rerun with --lenient"``), False leaves it out (where lenient cannot help).
    """
    hint = _hint(lenient_hint)
    return schema_error(
        source,
        f"column 'message_id': {n_rows} row(s) share a message id with another row "
        f"(e.g. ids {examples}). Message ids must be unique; deduplicate the export"
        + (f" (or {hint} to keep the first copy and count the rest)" if hint else "")
        + ".",
    )


def two_shops_error(source: str, n_conversations: int, n_rows: int, examples: dict) -> SchemaError:
    """Conversations under more than one shop (``examples``: conversation -> shops)."""
    return schema_error(
        source,
        f"column 'conversation_id': {n_conversations} conversation(s) ({n_rows} rows) appear "
        f"under more than one shop_id (e.g. {examples}). A conversation is one buyer and one "
        "shop; give each shop's threads their own conversation ids.",
    )


def out_of_range_error(
    source: str, column: str, n: int, examples: list, low: object, high: object
) -> SchemaError:
    """Timestamps outside the plausible range ``[low, high]``."""
    return schema_error(
        source,
        f"column '{column}': {n} row(s) fall outside the plausible range {low} .. {high} "
        f"(e.g. {examples}). Fix those rows, widen the range (read_log(..., "
        f"sent_at_range=(low, high))), or {_LENIENT.get()} to drop them with a count.",
    )


def unreadable_error(source: str, fmt: str, reason: str) -> SchemaError:
    """A file that cannot be read as its format (empty, truncated, damaged, not that format)."""
    what = "Parquet" if fmt == "parquet" else "CSV"
    return schema_error(
        source,
        f"cannot be read as {what} ({reason}). The file is empty, truncated or damaged: "
        "export or copy it again.",
    )


def no_messages_table_error(folder: str, found: Sequence[str]) -> SchemaError:
    """A log folder without a ``messages`` table (``found``: what it holds)."""
    shown = list(found[:10]) + (["..."] if len(found) > 10 else [])
    return SchemaError(
        f"no messages table in {folder}; found {shown}. A log folder needs messages.parquet, "
        "messages.csv or a messages/ folder (see docs/schema.md).",
    )


def stars_error(source: str, n: int, examples: list, problem: str = "range") -> SchemaError:
    """``stars`` values that are not whole numbers (``problem="whole"``) or lie outside 1-5
    (``"range"``); a column of another type is :func:`column_type_error`."""
    what = {
        "whole": f"{n} row(s) are not whole numbers (e.g. {examples})",
        "range": f"{n} row(s) hold values outside 1-5 (e.g. {examples})",
    }[problem]
    return schema_error(
        source,
        f"column 'stars': {what}; stars are whole numbers from 1 to 5 (empty: no stars). "
        "Fix or empty those rows.",
    )
