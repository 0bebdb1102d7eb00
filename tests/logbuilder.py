"""Build small chat logs for hand-worked tests: one line per message."""

from __future__ import annotations

import datetime as dt

import polars as pl

from chatsim.schema import ChatLog

T0 = dt.datetime(2025, 8, 4, 9, 0, tzinfo=dt.UTC)  # a Monday


def at(hours: float = 0, days: float = 0, base: dt.datetime = T0) -> dt.datetime:
    return base + dt.timedelta(days=days, hours=hours)


def msgs(*rows: tuple, shop: str = "s1") -> list[dict]:
    """rows: (conversation, time, sender[, kind[, extra dict]])."""
    out = []
    for i, row in enumerate(rows):
        conv, when, sender = row[0], row[1], row[2]
        kind = row[3] if len(row) > 3 else "text"
        extra = row[4] if len(row) > 4 else {}
        out.append(
            {
                "message_id": extra.get("message_id", i + 1),
                "shop_id": extra.get("shop", shop),
                "conversation_id": conv,
                "buyer_id": extra.get("buyer", f"buyer-{conv}"),
                "sent_at": when,
                "sender": sender,
                "kind": kind,
                "is_broadcast": extra.get("broadcast", False),
                "rating": extra.get("rating"),
                "valid_reply": extra.get("valid", True),
            }
        )
    return out


def log_of(
    rows: list[dict],
    shops: list[dict] | None = None,
    holiday: list[dict] | None = None,
    blocked: list[dict] | None = None,
) -> ChatLog:
    schema = {
        "message_id": pl.Int64,
        "shop_id": pl.String,
        "conversation_id": pl.String,
        "buyer_id": pl.String,
        "sent_at": pl.Datetime("us", "UTC"),
        "sender": pl.String,
        "kind": pl.String,
        "is_broadcast": pl.Boolean,
        "rating": pl.String,
        "valid_reply": pl.Boolean,
    }
    return ChatLog.from_frames(
        pl.DataFrame(rows, schema=schema),
        pl.DataFrame(shops) if shops else None,
        pl.DataFrame(
            holiday,
            schema={
                "shop_id": pl.String,
                "start": pl.Datetime("us", "UTC"),
                "end": pl.Datetime("us", "UTC"),
            },
        )
        if holiday
        else None,
        pl.DataFrame(
            blocked,
            schema={
                "shop_id": pl.String,
                "buyer_id": pl.String,
                "blocked_at": pl.Datetime("us", "UTC"),
            },
        )
        if blocked
        else None,
    )
