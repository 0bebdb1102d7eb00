"""A fast, vectorised generator of realistic-shaped synthetic chat logs (tests, benchmarks).

:func:`synthetic_log` builds a log of about ``n_messages`` rows in the chatsim schema
with numpy only (no per-message Python loop): 10 million messages take a few seconds.

Shape of the traffic:

* many shops (about one per 3,000 messages) with skewed popularity, a handful of
  IANA time zones, ~20 % with ``chatbot_enabled``, ~35 % sending automatic replies;
* conversations (one buyer, one shop) holding 1 to 8 *episodes*: a buyer burst of
  1-4 messages, an automatic reply (auto-reply shops), seller answers after a
  lognormal delay (shop-specific median; some beyond 12 h and 24 h, some never),
  sometimes an extra seller message, an invalid reply (``valid_reply`` false) or a
  system message, and now and then a rating;
* some episodes are preceded by a seller broadcast or a seller-opened thread;
* holiday-mode intervals (some overlapping) for ~5 % of shops and a few blocked buyers.

The log is cut at the ``n_messages``-th message by time (like an export taken at
that moment), so the latest chats are naturally pending. Message ids follow time
order; ``message_id``, ``conversation_id`` and ``buyer_id`` are Int64, ``shop_id``
is a String such as ``"shop_00042"``.

Example:
    >>> log = synthetic_log(5_000, seed=1)
    >>> log.n_messages
    5000
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from chatsim.schema import (
    KIND_DTYPE,
    KINDS,
    RATING_DTYPE,
    SENDER_DTYPE,
    UTC_DATETIME,
    ChatLog,
)

__all__ = ["SPAN_DAYS", "SPAN_START", "ZONES", "synthetic_log"]

#: First day of the synthetic traffic (UTC); the log spans about 53 days from here.
SPAN_START = dt.datetime(2025, 7, 10, tzinfo=dt.UTC)
SPAN_DAYS = 53

ZONES: tuple[str, ...] = (
    "Asia/Jakarta",
    "Asia/Ho_Chi_Minh",
    "Asia/Manila",
    "Asia/Kolkata",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "UTC",
)
_ZONE_P = np.array([0.25, 0.15, 0.1, 0.08, 0.12, 0.15, 0.1, 0.05])

# sender codes (index into chatsim.schema.SENDERS) and kind codes (index into KINDS)
_BUYER, _SELLER, _AUTO = 0, 1, 2
_K = {k: i for i, k in enumerate(KINDS)}
# message roles inside an episode
_R_PRE, _R_BUYER, _R_AUTO, _R_SELLER, _R_SYSTEM = 0, 1, 2, 3, 4

_MSGS_PER_EPISODE = 3.6  # calibrated mean; the generator over-produces a little and cuts
_H = 3600.0


def _kinds(rng: np.random.Generator, n: int, names: list[str], p: list[float]) -> np.ndarray:
    codes = np.array([_K[k] for k in names], dtype=np.uint8)
    return codes[rng.choice(len(names), size=n, p=np.asarray(p) / np.sum(p))]


def _gamma_offsets(rng: np.random.Generator, k: np.ndarray, scale: float) -> np.ndarray:
    """Offset of the k-th message after the first (0 for k == 0): a sum of k exponentials."""
    out = np.zeros(k.shape, dtype=np.float64)
    pos = k > 0
    out[pos] = rng.gamma(shape=k[pos], scale=scale)
    return out


def synthetic_log(n_messages: int, seed: int = 0, n_shops: int | None = None) -> ChatLog:
    """A synthetic chat log of ``n_messages`` messages (fewer only for tiny requests).

    The tables already have the validated schema (``ChatLog.from_frames`` accepts them
    unchanged), so the log is built directly without re-validation.

    Example:
        >>> synthetic_log(2_000, seed=3).messages.columns[:4]
        ['message_id', 'shop_id', 'conversation_id', 'buyer_id']
    """
    if n_messages < 1:
        raise ValueError("n_messages must be at least 1")
    rng = np.random.default_rng(seed)
    if n_shops is None:
        n_shops = max(1, round(n_messages / 3000))
    span_s = SPAN_DAYS * 86400.0

    # ---- shops ---------------------------------------------------------------------
    shop_weight = rng.lognormal(0.0, 1.0, n_shops)
    shop_weight /= shop_weight.sum()
    shop_zone = rng.choice(len(ZONES), size=n_shops, p=_ZONE_P / _ZONE_P.sum())
    chatbot = rng.random(n_shops) < 0.2
    chatbot[0] = True  # at least one chatbot shop (with automatic replies)
    has_auto = chatbot | (rng.random(n_shops) < 0.2)
    answer_p = rng.beta(8.0, 1.4, n_shops)
    delay_mu = np.log(1.5 * _H) + rng.normal(0.0, 0.9, n_shops)  # median reply delay
    invalid_p = np.where(rng.random(n_shops) < 0.1, 0.12, 0.015)

    # ---- conversations and episodes ---------------------------------------------------
    n_episodes_target = int(n_messages / _MSGS_PER_EPISODE * 1.15) + 50
    k_conv = np.minimum(rng.geometric(0.5, size=n_episodes_target), 8)
    cum_k = np.cumsum(k_conv)
    n_conv = min(int(np.searchsorted(cum_k, n_episodes_target)) + 1, k_conv.size)
    k_conv = k_conv[:n_conv]
    n_ep = int(k_conv.sum())
    conv_shop = rng.choice(n_shops, size=n_conv, p=shop_weight)
    n_buyers = max(1, int(n_conv * 0.7))
    conv_buyer = rng.integers(0, n_buyers, size=n_conv)
    conv_first = rng.uniform(-3 * 86400.0, span_s, size=n_conv)

    ep_conv = np.repeat(np.arange(n_conv), k_conv)
    ep_first = np.r_[0, np.cumsum(k_conv)[:-1]]
    ep_idx = np.arange(n_ep) - np.repeat(ep_first, k_conv)  # 0.. within the conversation
    gap = np.where(
        rng.random(n_ep) < 0.3, rng.exponential(3 * _H, n_ep), rng.exponential(4 * 86400.0, n_ep)
    )
    gap[ep_idx == 0] = 0.0
    cg = np.cumsum(gap)
    ep_start = conv_first[ep_conv] + cg - np.repeat(cg[ep_first], k_conv)
    ep_shop = conv_shop[ep_conv]

    pre = (rng.random(n_ep) < 0.07).astype(np.int64)  # broadcast / seller-opened thread
    pre_bcast = rng.random(n_ep) < 0.5
    pre_lead = rng.uniform(0.3 * _H, 36 * _H, n_ep)
    burst = rng.choice(4, size=n_ep, p=[0.45, 0.3, 0.15, 0.1]) + 1
    auto = (has_auto[ep_shop] & (rng.random(n_ep) < 0.9)).astype(np.int64)
    answered = rng.random(n_ep) < answer_p[ep_shop]
    delay = np.maximum(rng.lognormal(delay_mu[ep_shop], 1.3), 5.0)
    n_sel = np.where(answered, 1 + rng.choice(3, size=n_ep, p=[0.6, 0.3, 0.1]), 0)
    system = (rng.random(n_ep) < 0.05).astype(np.int64)
    rated = answered & (rng.random(n_ep) < 0.08)

    # ---- messages ---------------------------------------------------------------------
    m = pre + burst + auto + n_sel + system
    n = int(m.sum())
    ep = np.repeat(np.arange(n_ep), m)
    pos = np.arange(n) - np.repeat(np.r_[0, np.cumsum(m)[:-1]], m)
    b1 = pre[ep]
    b2 = b1 + burst[ep]
    b3 = b2 + auto[ep]
    b4 = b3 + n_sel[ep]
    role = np.select(
        [pos < b1, pos < b2, pos < b3, pos < b4], [_R_PRE, _R_BUYER, _R_AUTO, _R_SELLER], _R_SYSTEM
    ).astype(np.int8)
    start = ep_start[ep]
    shop = ep_shop[ep]

    t = np.empty(n, dtype=np.float64)
    sender = np.empty(n, dtype=np.uint8)
    kind = np.empty(n, dtype=np.uint8)
    bcast = np.zeros(n, dtype=bool)
    valid = np.ones(n, dtype=bool)

    r = role == _R_PRE
    t[r] = start[r] - pre_lead[ep[r]]
    sender[r] = _SELLER
    bcast[r] = pre_bcast[ep[r]]
    kind[r] = _kinds(rng, int(r.sum()), ["text", "product_card", "image"], [0.5, 0.35, 0.15])

    r = role == _R_BUYER
    t[r] = start[r] + _gamma_offsets(rng, pos[r] - b1[r], 90.0)
    sender[r] = _BUYER
    kind[r] = _kinds(
        rng,
        int(r.sum()),
        ["text", "image", "sticker", "emoji", "product_card", "order_card", "video"],
        [0.68, 0.1, 0.07, 0.05, 0.06, 0.03, 0.01],
    )

    r = role == _R_AUTO
    t[r] = start[r] + rng.uniform(1.0, 30.0, int(r.sum()))
    sender[r] = _AUTO
    kind[r] = _K["text"]

    r = role == _R_SELLER
    t[r] = start[r] + delay[ep[r]] + _gamma_offsets(rng, pos[r] - b3[r], 120.0)
    sender[r] = _SELLER
    kind[r] = _kinds(
        rng,
        int(r.sum()),
        ["text", "image", "sticker", "product_card", "order_card"],
        [0.75, 0.08, 0.05, 0.08, 0.04],
    )
    valid[r] = rng.random(int(r.sum())) >= invalid_p[shop[r]]

    r = role == _R_SYSTEM
    t[r] = start[r] + rng.uniform(0.0, 48 * _H, int(r.sum()))
    sender[r] = np.where(rng.random(int(r.sum())) < 0.5, _SELLER, _BUYER)
    kind[r] = _K["system"]

    # a rating on the episode's last seller message
    rating = np.full(n, -1, dtype=np.int64)
    r = (role == _R_SELLER) & (pos == b4 - 1) & rated[ep]
    rating[r] = (rng.random(int(r.sum())) >= 0.85).astype(np.int64)  # 0 satisfied, 1 not

    # ---- order by time, cut at n_messages (an export taken at that moment) ------------
    t_us = np.round(t * 1e6).astype(np.int64) + int(SPAN_START.timestamp()) * 1_000_000
    in_span = np.flatnonzero(t <= span_s)  # later episodes of the last conversations thin out
    order = in_span[np.argsort(t_us[in_span], kind="stable")]
    n = order.size
    if n > n_messages:
        order = order[:n_messages]
        n = n_messages
    t_us = t_us[order]
    ep = ep[order]
    conv = ep_conv[ep]
    rating = rating[order]

    shop_names = pl.Series("shop_id", [f"shop_{i:05d}" for i in range(n_shops)], pl.String)
    messages = pl.DataFrame(
        {
            "message_id": pl.Series(np.arange(1, n + 1, dtype=np.int64)),
            "shop_id": shop_names.gather(conv_shop[conv]),
            "conversation_id": pl.Series(conv.astype(np.int64) + 1_000_000),
            "buyer_id": pl.Series(conv_buyer[conv].astype(np.int64) + 1),
            "sent_at": pl.Series(t_us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "sender": pl.Series(["buyer", "seller", "auto"], dtype=SENDER_DTYPE).gather(
                sender[order]
            ),
            "kind": pl.Series(list(KINDS), dtype=KIND_DTYPE).gather(kind[order]),
            "is_broadcast": pl.Series(bcast[order]),
            "rating": pl.Series(["satisfied", "unsatisfied"], dtype=RATING_DTYPE).gather(
                pl.Series(rating).replace(-1, None)
            ),
            "valid_reply": pl.Series(valid[order]),
        }
    )

    shops = pl.DataFrame(
        {
            "shop_id": shop_names,
            "timezone": pl.Series([ZONES[z] for z in shop_zone], dtype=pl.String),
            "chatbot_enabled": pl.Series(chatbot),
        }
    )

    # ---- holiday mode: ~5 % of shops, 1-2 intervals (the second may overlap) ---------
    hol_shops = np.flatnonzero(rng.random(n_shops) < 0.05)
    if hol_shops.size == 0:
        hol_shops = np.array([n_shops - 1])
    h_n = rng.integers(1, 3, size=hol_shops.size)
    h_shop = np.repeat(hol_shops, h_n)
    h_start = rng.uniform(0.0, span_s, h_shop.size)
    h_len = rng.uniform(0.5, 5.0, h_shop.size) * 86400.0
    base_us = int(SPAN_START.timestamp()) * 1_000_000

    def ts(seconds: np.ndarray) -> pl.Series:
        us = np.round(seconds * 1e6).astype(np.int64) + base_us
        return pl.Series(us).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")

    holiday = pl.DataFrame(
        {
            "shop_id": shop_names.gather(h_shop),
            "start": ts(h_start),
            "end": ts(h_start + h_len),
        }
    ).sort("shop_id", "start")

    # ---- blocked buyers: ~0.4 % of conversations, some blocked after the cutoff -------
    b_conv = np.flatnonzero(rng.random(n_conv) < 0.004)
    blocked = (
        pl.DataFrame(
            {
                "shop_id": shop_names.gather(conv_shop[b_conv]),
                "buyer_id": pl.Series(conv_buyer[b_conv].astype(np.int64) + 1),
                "blocked_at": ts(rng.uniform(0.0, span_s * 1.1, b_conv.size)),
            }
        )
        .unique(subset=["shop_id", "buyer_id"], keep="first", maintain_order=True)
        .sort("shop_id", "buyer_id")
    )
    assert messages.schema["sent_at"] == UTC_DATETIME
    return ChatLog(
        messages=messages,
        shops=shops,
        holiday_mode=holiday,
        blocked=blocked,
        source=f"<synthetic n={n_messages} seed={seed}>",
    )
