"""Build small chat logs for hand-worked tests: one line per message."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import strategies as st

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


MESSAGE_SCHEMA = {
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


def raw_messages(rows: list[dict]) -> pl.DataFrame:
    """The rows as a message frame that no validation has touched."""
    return pl.DataFrame(rows, schema=MESSAGE_SCHEMA)


def log_of(
    rows: list[dict],
    shops: list[dict] | None = None,
    holiday: list[dict] | None = None,
    blocked: list[dict] | None = None,
) -> ChatLog:
    return ChatLog.from_frames(
        raw_messages(rows),
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


SENDERS = st.sampled_from(["buyer", "buyer", "buyer", "seller", "seller", "auto"])
KINDS = st.sampled_from(["text", "text", "image", "sticker", "system"])


@st.composite
def random_logs(draw, ties: bool = False, grid: bool = False):
    """Messages of 1-6 conversations, 1-8 each, every field drawn (``ties``: messages of
    a conversation may share a timestamp; ``grid``: gaps of 15 minutes to 30 hours
    that are often exactly a session bound or a response window)."""
    n_conv = draw(st.integers(1, 6))
    rows = []
    mid = 0
    for c in range(n_conv):
        n = draw(st.integers(1, 8))
        t = 0.0
        for _ in range(n):
            if ties and draw(st.booleans()):
                pass
            elif grid:
                t += draw(st.sampled_from([0.25, 0.5, 1.0, 6.0, 12.0, 24.0, 30.0]))
            else:
                t += draw(st.floats(0.01, 40.0))
            mid += 1
            rows.append(
                {
                    "message_id": mid,
                    "shop_id": f"s{c % 2}",
                    "conversation_id": f"c{c}",
                    "buyer_id": f"b{c % 3}",
                    "sent_at": at(t),
                    "sender": draw(SENDERS),
                    "kind": draw(KINDS),
                    "is_broadcast": draw(st.booleans()) and draw(st.booleans()),
                    "rating": draw(st.sampled_from([None, None, "satisfied", "unsatisfied"])),
                    "valid_reply": draw(st.booleans()) or draw(st.booleans()),
                }
            )
    return rows
