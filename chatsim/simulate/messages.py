"""The simulator's message columns: senders, kind mixes, the id layout and the accumulator.

The built-in kind mixes below are what an archetype without a ``kind_mix`` uses; with
one, every buyer message (chat bursts, follow-ups, replies to threads and broadcasts)
is drawn from it (:func:`buyer_mix`).

Stages add messages as numpy columns to a :class:`Parts`; the shard concatenates them
once at the end (:mod:`chatsim.simulate.shard`).

Example:
    >>> import numpy as np
    >>> parts = Parts()
    >>> parts.add(np.array([0]), np.array([3]), np.array([1.5]), BUYER, KIND["text"])
    >>> parts.concat()["t"].tolist()
    [1.5]
"""

from __future__ import annotations

import numpy as np

from chatsim.schema import KINDS

__all__ = [
    "AUTO",
    "BROADCAST_KIND",
    "BUYER",
    "BUYER_ID_BASE",
    "CONVERSATION_STRIDE",
    "FIRST_KIND",
    "FOLLOWUP_KIND",
    "KIND",
    "MESSAGE_ID_STRIDE",
    "NEXT_KIND",
    "REPLY_KIND",
    "SELLER",
    "SELLER_KIND",
    "THREAD_KIND",
    "KindMix",
    "Parts",
    "buyer_mix",
    "choice",
    "first_index",
    "lognormal_minutes",
]

#: message_id = shop index * MESSAGE_ID_STRIDE + rank of the message within its shop.
MESSAGE_ID_STRIDE = 1_000_000_000
#: conversation_id = shop index * CONVERSATION_STRIDE + shop-local buyer number.
CONVERSATION_STRIDE = 1_000_000
#: buyer_id = BUYER_ID_BASE + conversation_id (buyers are shop-local).
BUYER_ID_BASE = 10**13

#: Sender codes (the order of ``chatsim.schema.SENDER_DTYPE``).
BUYER, SELLER, AUTO = 0, 1, 2
#: Kind codes by name (the order of ``chatsim.schema.KINDS``).
KIND = {k: i for i, k in enumerate(KINDS)}

KindMix = tuple[list[int], list[float]]  # (kind codes, probabilities)
FIRST_KIND: KindMix = (
    [KIND["text"], KIND["product_card"], KIND["order_card"], KIND["image"], KIND["video"], KIND["sticker"], KIND["emoji"]],
    [0.68, 0.12, 0.10, 0.05, 0.01, 0.02, 0.02],
)  # fmt: skip
NEXT_KIND: KindMix = (
    [KIND["text"], KIND["sticker"], KIND["emoji"], KIND["image"], KIND["video"], KIND["product_card"], KIND["order_card"]],
    [0.55, 0.10, 0.12, 0.15, 0.03, 0.03, 0.02],
)  # fmt: skip
FOLLOWUP_KIND: KindMix = (
    [KIND["text"], KIND["sticker"], KIND["emoji"], KIND["image"]],
    [0.5, 0.2, 0.2, 0.1],
)
SELLER_KIND: KindMix = (
    [KIND["text"], KIND["product_card"], KIND["image"], KIND["sticker"]],
    [0.85, 0.07, 0.05, 0.03],
)
THREAD_KIND: KindMix = ([KIND["text"], KIND["product_card"], KIND["order_card"]], [0.6, 0.25, 0.15])
BROADCAST_KIND: KindMix = ([KIND["product_card"], KIND["text"], KIND["image"]], [0.5, 0.4, 0.1])
REPLY_KIND: KindMix = ([KIND["text"], KIND["emoji"], KIND["sticker"]], [0.7, 0.15, 0.15])


class Parts:
    """Accumulates message columns from the model's parts (concatenated at the end).

    ``origin`` is the time of the event a message belongs to (the chat's opening, the
    thread or the broadcast): dated changes (:mod:`chatsim.simulate.adapt`) keep or drop
    whole exchanges by it. It is not part of the log.
    """

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {
            k: []
            for k in ("shop", "buyer", "t", "sender", "kind", "bcast", "rating", "valid", "origin")
        }

    def add(
        self,
        shop: np.ndarray,
        buyer: np.ndarray,
        t: np.ndarray,
        sender: int,
        kind: np.ndarray | int,
        *,
        bcast: bool = False,
        rating: np.ndarray | None = None,
        valid: bool = True,
        origin: np.ndarray | None = None,
    ) -> None:
        """Messages of ``shop`` (shard-local) to ``buyer`` (shop-local) at times ``t``
        (``origin``: their exchange's start, ``t`` itself when not given)."""
        n = t.size
        c = self.cols
        c["shop"].append(shop.astype(np.int64, copy=False))
        c["buyer"].append(buyer.astype(np.int64, copy=False))
        c["t"].append(t)
        c["sender"].append(np.full(n, sender, dtype=np.int8))
        c["kind"].append(np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)))
        c["bcast"].append(np.full(n, bcast))
        c["rating"].append(np.zeros(n, np.int8) if rating is None else rating.astype(np.int8))
        c["valid"].append(np.full(n, valid))
        c["origin"].append(t if origin is None else origin)

    def concat(self) -> dict[str, np.ndarray]:
        """Every column, in the order the messages were added."""
        return {k: np.concatenate(v) if v else np.empty(0) for k, v in self.cols.items()}


def buyer_mix(kind_mix: tuple[tuple[str, float], ...] | None, builtin: KindMix) -> KindMix:
    """The kinds buyer messages are drawn from: an archetype's ``kind_mix`` (kind ->
    share pairs) as kind codes and probabilities, or ``builtin`` when it has none.

    Example:
        >>> buyer_mix((("text", 0.5), ("image", 0.5)), FIRST_KIND) == ([0, 3], [0.5, 0.5])
        True
        >>> buyer_mix(None, FOLLOWUP_KIND) is FOLLOWUP_KIND
        True
    """
    if kind_mix is None:
        return builtin
    p = np.array([s for _, s in kind_mix], dtype=float)
    return [KIND[k] for k, _ in kind_mix], (p / p.sum()).tolist()


def choice(rng: np.random.Generator, mix: KindMix, n: int) -> np.ndarray:
    """``n`` kind codes drawn from a kind mix."""
    kinds, p = mix
    return np.asarray(kinds, dtype=np.int8)[rng.choice(len(kinds), size=n, p=p)]


def lognormal_minutes(
    rng: np.random.Generator, median_min: float, sigma: float, n: int
) -> np.ndarray:
    """``n`` lognormal delays in seconds with the given median in minutes."""
    return median_min * 60.0 * np.exp(sigma * rng.standard_normal(n))


def first_index(sorted_keys: np.ndarray) -> np.ndarray:
    """For a sorted array, the index of the first element equal to each element.

    Example:
        >>> first_index(np.array([3, 3, 5, 7, 7, 7])).tolist()
        [0, 0, 2, 3, 3, 3]
    """
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return np.repeat(starts, np.diff(np.append(starts, n)))
