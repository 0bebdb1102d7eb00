"""A compiled radix sort of conversation ids: the canonical order of the messages for the
compiled state machine (:mod:`chatsim.engine.kernel`).

:func:`radix_order` sorts a frame by conversation, ``sent_at``, ``message_id`` when its
conversation ids are integers of a narrow range: a stable least-significant-digit radix
sort of the ids (:func:`stable_order`), whose order within conversations is then checked
(:func:`ordered_within`); otherwise it returns None and the general sort runs.

Example:
    >>> stable_order(np.array([2, 0, 2, 1], dtype=np.uint32)).tolist()
    [1, 3, 0, 2]
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import polars as pl

__all__ = ["ordered_within", "radix_order", "stable_order"]


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting permutation of ``keys`` (uint32): a least-significant-digit
    radix sort, in as few passes of at most 11 bits as the keys' range needs."""
    n = len(keys)
    idx = np.arange(n).astype(np.uint32)
    if n < 2:
        return idx
    lo = keys.min()
    span = keys.max() - lo
    bits = 0
    while bits < 32 and (span >> np.uint32(bits)) > 0:
        bits += 1
    if bits == 0:
        return idx
    passes = (bits + 10) // 11
    width = (bits + passes - 1) // passes
    size = 1 << width
    mask = np.uint32(size - 1)
    counts = np.zeros((passes, size + 1), np.int64)
    k = np.empty(n, np.uint32)
    for i in range(n):  # the keys from 0, and every pass's digit counts at once
        v = np.uint32(keys[i] - lo)
        k[i] = v
        for p in range(passes):
            counts[p, ((v >> np.uint32(p * width)) & mask) + 1] += 1
    tmp_i = np.empty(n, np.uint32)
    tmp_k = np.empty(n, np.uint32)
    for p in range(passes):
        c = counts[p]
        for d in range(size):
            c[d + 1] += c[d]
        shift = np.uint32(p * width)
        for i in range(n):
            v = k[i]
            d = (v >> shift) & mask
            pos = c[d]
            c[d] = pos + 1
            tmp_i[pos] = idx[i]
            tmp_k[pos] = v
        idx, tmp_i = tmp_i, idx
        k, tmp_k = tmp_k, k
    return idx


def _ordered_within(perm: np.ndarray, keys: np.ndarray, t: np.ndarray, mid: np.ndarray) -> bool:
    """Whether, in the order ``perm``, the rows of each key follow each other by
    (``t``, ``mid``), strictly."""
    for j in range(1, len(perm)):
        p = perm[j]
        q = perm[j - 1]
        if keys[p] == keys[q] and (t[p] < t[q] or (t[p] == t[q] and mid[p] <= mid[q])):
            return False
    return True


@functools.cache
def _compiled_sort() -> tuple[Callable[..., np.ndarray], Callable[..., bool]]:
    import numba

    jit = numba.njit(nogil=True, cache=True)
    return jit(_stable_order), jit(_ordered_within)


def stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting permutation of uint32 ``keys``, as uint32 row positions
    (``np.argsort(keys, kind="stable")``, by a compiled radix sort).

    Example:
        >>> stable_order(np.array([7, 3, 7, 0], dtype=np.uint32)).tolist()
        [3, 1, 0, 2]
    """
    if keys.dtype != np.uint32 or len(keys) >= 2**32:
        raise ValueError("keys must be uint32, fewer than 2**32 of them")
    return _compiled_sort()[0](keys)


def ordered_within(perm: np.ndarray, keys: np.ndarray, t: np.ndarray, mid: np.ndarray) -> bool:
    """Whether, taken in the order ``perm`` (e.g. :func:`stable_order` of ``keys``), the
    rows of each key come in increasing (``t``, ``mid``) order, no two alike (int64
    ``t`` and ``mid``): then that order is the sort by key, ``t``, ``mid``.

    Example:
        >>> keys = np.array([1, 0, 1], dtype=np.uint32)
        >>> t, mid = np.array([5, 9, 2]), np.array([1, 2, 3])
        >>> ordered_within(stable_order(keys), keys, t, mid)  # key 1: t 5 then 2
        False
    """
    return bool(_compiled_sort()[1](perm, keys, t, mid))


def radix_order(
    df: pl.DataFrame, conversation: str = "conversation_id", *, keep_message_id: bool = True
) -> pl.DataFrame | None:
    """``df`` sorted by ``conversation``, ``sent_at``, ``message_id``, by the compiled
    radix sort, or None where it does not apply (text or wide-ranging ids, nulls in the
    keys, rows not in time order within conversations: then the general sort of
    :func:`chatsim.engine.canonical_order` runs).

    A stable sort by conversation (:func:`stable_order`) whose order within conversations
    is checked on the permutation (:func:`ordered_within`); the columns are then gathered
    once from contiguous memory (one chunk each: several times faster than across the
    many chunks of a log read from files), without ``message_id`` unless kept.

    Example:
        >>> df = pl.DataFrame({"conversation_id": [9, 4, 9], "sent_at": [1, 2, 3],
        ...                    "message_id": [1, 2, 3]})
        >>> radix_order(df)["message_id"].to_list()
        [2, 1, 3]
    """
    n = df.height
    if not n or n >= 2**32 or not {conversation, "sent_at", "message_id"} <= set(df.columns):
        return None
    conv, t, mid = df[conversation], df["sent_at"], df["message_id"]
    if not (conv.dtype.is_integer() and mid.dtype.is_integer()):
        return None
    if not (t.dtype.is_integer() or isinstance(t.dtype, pl.Datetime)):
        return None
    if conv.null_count() or t.null_count() or mid.null_count():
        return None
    lo, hi = conv.min(), conv.max()
    if hi - lo >= 2**32 or (mid.dtype == pl.UInt64 and mid.max() >= 2**63):  # type: ignore[operator]
        return None
    wide = conv if conv.dtype == pl.UInt64 else conv.cast(pl.Int64)  # no overflow below
    keys = (wide - lo).cast(pl.UInt32).to_numpy()
    perm = stable_order(keys)
    t_int = t.to_physical().cast(pl.Int64).to_numpy()
    if not ordered_within(perm, keys, t_int, mid.cast(pl.Int64).to_numpy()):
        return None
    cols = df if keep_message_id else df.drop("message_id")
    return cols.rechunk().select(pl.all().gather(pl.Series(perm)))
