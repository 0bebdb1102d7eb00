"""The per-message bits the compiled chat state machine reads (:mod:`chatsim.engine.kernel`).

A message's flag byte (:func:`message_flags`: buyer, seller, broadcast, automatic reply,
valid reply, rating, the start of its conversation) and the optional columns' byte
(:func:`extra_flags`: stars, the no-response-needed mark), with the integer codes of the
automatic-reply modes and the "no such time" value of the time arrays.

Example:
    >>> BUYER | VALID, AUTO_REPLY_CODES["ignore"]
    (17, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

__all__ = [
    "AUTO",
    "AUTO_REPLY_CODES",
    "BROADCAST",
    "BUYER",
    "NO_REPLY",
    "NO_TIME",
    "RATED",
    "SATISFIED",
    "SELLER",
    "STARS_MASK",
    "START",
    "VALID",
    "extra_flags",
    "message_flags",
    "start_bit",
]

# bits of the per-message flag byte
BUYER = 1  # a buyer message (not a system message, carries no rating)
SELLER = 2  # a seller message (not a system message)
BROADCAST = 4  # a broadcast: is_broadcast, sent by the seller or "auto", not a system message
AUTO = 8  # an automatic reply: sender "auto", not a system message, not a broadcast
VALID = 16  # valid_reply is true
RATED = 32  # carries a rating
SATISFIED = 64  # the rating is "satisfied"
START = 128  # the first message of its conversation (in canonical order)
# bits of the optional columns' byte (extra_flags)
STARS_MASK = 7  # the stars of a rating event (1-5; 0 none)
NO_REPLY = 8  # no_response_needed is true

#: automatic-reply modes, as the kernel's integer codes
AUTO_REPLY_CODES = {"exclude_resolved": 0, "count_as_answer": 1, "ignore": 2}
#: "no such time" in the time arrays (null in the chat table)
NO_TIME = np.iinfo(np.int64).min


def message_flags() -> pl.Expr:
    """The flag byte ``_flags`` of each message, from the validated message columns,
    without the :data:`START` bit (which needs the canonical order: :func:`start_bit`).

    Example:
        >>> df = pl.DataFrame({"sender": ["buyer", "auto"], "kind": ["text", "system"],
        ...     "is_broadcast": False, "valid_reply": True, "rating": [None, None]})
        >>> df.select(message_flags())["_flags"].to_list()
        [17, 16]
    """
    s, b = pl.col("sender"), pl.col("is_broadcast")
    not_system = pl.col("kind") != "system"
    # a buyer row carrying a rating is the buyer's rating event, not a buyer message
    unrated = pl.col("rating").is_null()
    bits = [
        ((s == "buyer") & not_system & unrated, BUYER),
        ((s == "seller") & not_system, SELLER),
        (b & not_system & (s != "buyer"), BROADCAST),
        ((s == "auto") & not_system & ~b, AUTO),
        (pl.col("valid_reply"), VALID),
        (pl.col("rating").is_not_null(), RATED),
        (pl.col("rating") == "satisfied", SATISFIED),
    ]
    word = pl.sum_horizontal(e.fill_null(False).cast(pl.UInt8) * bit for e, bit in bits)
    return word.cast(pl.UInt8).alias("_flags")


def extra_flags(columns: Sequence[str]) -> pl.Expr:
    """The optional columns' byte ``_extra`` of each message: its ``stars`` (bits 0-2) and
    its ``no_response_needed`` mark (:data:`NO_REPLY`); 0 for a column the messages lack
    (``columns``: the messages' columns).

    Example:
        >>> df = pl.DataFrame({"stars": [5, None], "no_response_needed": [False, True]})
        >>> df.select(extra_flags(df.columns))["_extra"].to_list()
        [5, 8]
    """
    parts = [pl.lit(0, dtype=pl.UInt8)]
    if "stars" in columns:
        parts.append(pl.col("stars").fill_null(0).cast(pl.UInt8))
    if "no_response_needed" in columns:
        parts.append(pl.col("no_response_needed").fill_null(False).cast(pl.UInt8) * NO_REPLY)
    return pl.sum_horizontal(parts).cast(pl.UInt8).alias("_extra")


def start_bit(conversation: str = "conversation_id") -> pl.Expr:
    """``_flags`` with the :data:`START` bit set on each conversation's first row (rows
    in canonical order)."""
    c = pl.col(conversation)
    start = c.ne_missing(c.shift(1)).fill_null(True)
    return (pl.col("_flags") | start.cast(pl.UInt8) * START).cast(pl.UInt8).alias("_flags")
