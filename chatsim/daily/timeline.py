"""Every chat's life over the daily cutoffs, added up per shop and day (compiled loops).

Between two instants at which something about a chat changes, its row of the judged
chat table is the same at every cutoff: it opens (``O``), is answered (``A``), passes
its deadline (``D``), leaves the trailing period (``E = O + period``), its buyer is
blocked (``B``), an automatic reply resolves it or a buyer message reopens it (the
chat's automatic-resolution change points), it is rated (its rating events). Its state
from an instant ``t`` on is the judged state at cutoff ``t``:

* exclusion reason: the first, in the engine's order, of the chat's fixed reason (from
  the engine, :mod:`chatsim.daily.chats`), ``blocked`` from ``B`` on and
  ``auto_resolved`` while resolved and unanswered;
* otherwise ``answered_in_time`` / ``answered_late`` from ``A`` on, else ``pending``
  before ``D`` and ``unanswered`` from ``D`` on.

:func:`accumulate` walks every chat's instants once and adds +1 on the first day whose
cutoff reaches a state and -1 on the first day whose cutoff reaches the next (a
difference array per shop, day and count; a running sum gives the counts at every
cutoff). :func:`middle_values` gives, per shop and day, the two middle response times of
the answered counted chats (a Fenwick tree over each shop's response-time ranks), from
which the median follows as the engine computes it.

Example:
    >>> cut = np.array([[10, 20, 30]], dtype=np.int64)
    >>> first_day(cut, 0, 11), first_day(cut, 0, 20), first_day(cut, 0, NEVER)
    (1, 1, 3)
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

import numpy as np

__all__ = [
    "COUNT_SLOTS",
    "NEVER",
    "accumulate",
    "first_day",
    "middle_values",
]

#: "never" for an instant (no answer, no block, a period without end): int64 max.
NEVER = np.iinfo(np.int64).max
#: the counts after the statuses and the reasons, in the count array's last axis
COUNT_SLOTS = ("chats", "outside_period", "rated", "satisfied", "_resp_n")


def first_day(cut: np.ndarray, z: int, t: int) -> int:
    """The first day whose cutoff in zone ``z`` is at or after ``t`` (the days' count if
    none): the first cutoff at which something that happens at ``t`` is seen."""
    nd = cut.shape[1]
    if t == NEVER:
        return nd
    lo, hi = 0, nd
    while lo < hi:
        mid = (lo + hi) >> 1
        if cut[z, mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _last_at(ptr, times, values, i, t, none):
    """The value of chat ``i``'s last change point at or before ``t`` (``none``: none)."""
    v = none
    for j in range(ptr[i], ptr[i + 1]):
        if times[j] > t:
            break
        v = values[j]
    return v


def _accumulate(
    sx, zx, o, a, dl, e, b, fixed, resp,
    au_ptr, au_t, au_on, rt_ptr, rt_t, rt_code,
    cut, pos_blk, pos_auto, n_reasons, sat_code,
    counts, resp_sum, med_shop, med_d0, med_d1, med_v,
):  # fmt: skip
    never = np.iinfo(np.int64).max
    base = 4 + n_reasons
    ch, out, rated, sat, rn = base, base + 1, base + 2, base + 3, base + 4
    nm = 0
    bp = np.empty(16, np.int64)
    for i in range(len(o)):
        s, z, oi, ei, ai, bi, di = sx[i], zx[i], o[i], e[i], a[i], b[i], dl[i]
        counts[s, first_day(cut, z, oi), ch] += 1
        if ei != never:
            counts[s, first_day(cut, z, ei), out] += 1
        if ei <= oi:  # never in the period
            continue
        # answered and counted: from the answer until blocked or out of the period
        if fixed[i] < 0 and ai < ei and ai < bi:
            d0 = first_day(cut, z, ai)
            d1 = first_day(cut, z, min(bi, ei))
            if d0 < d1:
                resp_sum[s, d0] += resp[i]
                resp_sum[s, d1] -= resp[i]
                counts[s, d0, rn] += 1
                counts[s, d1, rn] -= 1
                med_shop[nm], med_d0[nm], med_d1[nm], med_v[nm] = s, d0, d1, resp[i]
                nm += 1
        # the instants in (O, E) at which the state may change, sorted, distinct
        need = 4 + au_ptr[i + 1] - au_ptr[i] + rt_ptr[i + 1] - rt_ptr[i]
        if bp.shape[0] < need:
            bp = np.empty(2 * need, np.int64)
        k = 0
        bp[k] = oi
        k += 1
        for x in (ai, di, bi):
            if oi < x < ei:
                bp[k] = x
                k += 1
        for j in range(au_ptr[i], au_ptr[i + 1]):
            if oi < au_t[j] < ei:
                bp[k] = au_t[j]
                k += 1
        for j in range(rt_ptr[i], rt_ptr[i + 1]):
            if oi < rt_t[j] < ei:
                bp[k] = rt_t[j]
                k += 1
        for p in range(1, k):  # insertion sort: a handful of instants
            x = bp[p]
            q = p - 1
            while q >= 0 and bp[q] > x:
                bp[q + 1] = bp[q]
                q -= 1
            bp[q + 1] = x
        j = 0
        while j < k:
            t0 = bp[j]
            nxt = j + 1
            while nxt < k and bp[nxt] == t0:
                nxt += 1
            t1 = bp[nxt] if nxt < k else ei
            j = nxt
            d0 = first_day(cut, z, t0)
            d1 = first_day(cut, z, t1)
            if d0 >= d1:
                continue
            r = n_reasons
            if fixed[i] >= 0:
                r = fixed[i]
            if t0 >= bi and pos_blk < r:
                r = pos_blk
            if t0 < ai and pos_auto < r and _last_at(au_ptr, au_t, au_on, i, t0, False):
                r = pos_auto
            if r < n_reasons:
                cat = 4 + r
            elif ai <= t0:
                cat = 0 if ai <= di else 1
            elif di > t0:
                cat = 3
            else:
                cat = 2
            counts[s, d0, cat] += 1
            counts[s, d1, cat] -= 1
            if cat <= 3:
                rc = _last_at(rt_ptr, rt_t, rt_code, i, t0, -1)
                if rc >= 0:
                    counts[s, d0, rated] += 1
                    counts[s, d1, rated] -= 1
                    if rc == sat_code:
                        counts[s, d0, sat] += 1
                        counts[s, d1, sat] -= 1
    return nm


def _middle_values(med_shop, med_d0, med_d1, med_v, n_shops, n_days, lo_out, hi_out):
    nm = len(med_shop)
    start = np.zeros(n_shops + 1, np.int64)
    for j in range(nm):
        start[med_shop[j] + 1] += 1
    for s in range(n_shops):
        start[s + 1] += start[s]
    fill = start.copy()
    idx = np.empty(nm, np.int64)
    for j in range(nm):
        idx[fill[med_shop[j]]] = j
        fill[med_shop[j]] += 1
    for s in range(n_shops):
        js = idx[start[s] : start[s + 1]]
        m = len(js)
        if m == 0:
            continue
        vals = med_v[js]
        order = np.argsort(vals)
        ranks = np.empty(m, np.int64)
        for r in range(m):
            ranks[order[r]] = r
        svals = vals[order]
        # ranks entering (d0) and leaving (d1) on each day, by a counting sort on the day
        add_at = np.zeros(n_days + 2, np.int64)
        del_at = np.zeros(n_days + 2, np.int64)
        for r in range(m):
            add_at[med_d0[js[r]] + 1] += 1
            del_at[med_d1[js[r]] + 1] += 1
        for d in range(n_days + 1):
            add_at[d + 1] += add_at[d]
            del_at[d + 1] += del_at[d]
        adds = np.empty(m, np.int64)
        dels = np.empty(m, np.int64)
        fa = add_at.copy()
        fd = del_at.copy()
        for r in range(m):
            adds[fa[med_d0[js[r]]]] = ranks[r]
            fa[med_d0[js[r]]] += 1
            dels[fd[med_d1[js[r]]]] = ranks[r]
            fd[med_d1[js[r]]] += 1
        tree = np.zeros(m + 1, np.int64)
        top = 1
        while top * 2 <= m:
            top *= 2
        n = 0
        for d in range(n_days):
            for q in range(add_at[d], add_at[d + 1]):
                p = adds[q] + 1
                while p <= m:
                    tree[p] += 1
                    p += p & -p
                n += 1
            for q in range(del_at[d], del_at[d + 1]):
                p = dels[q] + 1
                while p <= m:
                    tree[p] -= 1
                    p += p & -p
                n -= 1
            if n <= 0:
                continue
            for which in range(2):
                k = (n - 1) // 2 if which == 0 else n // 2  # 0-based rank wanted
                pos = 0
                step = top
                rest = k
                while step > 0:  # the largest prefix holding at most k entries
                    if pos + step <= m and tree[pos + step] <= rest:
                        pos += step
                        rest -= tree[pos]
                    step >>= 1
                if which == 0:
                    lo_out[s, d] = svals[pos]
                else:
                    hi_out[s, d] = svals[pos]


@functools.cache
def _compiled() -> tuple[Callable[..., int], Callable[..., None]]:
    """The loops compiled (on first use; the machine code is cached on disk). The helpers
    they call are compiled first and handed to them as their globals."""
    import numba

    jit = numba.njit(nogil=True, cache=True)
    helpers = {"first_day": jit(first_day), "_last_at": jit(_last_at)}
    acc = types.FunctionType(_accumulate.__code__, {**globals(), **helpers}, "_accumulate")
    return jit(acc), jit(_middle_values)


def accumulate(
    chats: dict[str, np.ndarray],
    cut: np.ndarray,
    n_shops: int,
    *,
    pos_blk: int,
    pos_auto: int,
    n_reasons: int,
    sat_code: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The counts of every shop at every cutoff, from the chats' instants.

    ``chats`` holds aligned arrays (one entry per chat): ``shop`` and ``zone`` (int32
    positions), ``open``, ``answer``, ``deadline``, ``period_end``, ``blocked`` (int64
    epoch microseconds, :data:`NEVER` for none), ``fixed`` (int8: the chat's fixed
    exclusion reason, -1 none), ``resp`` (int64 response microseconds), and the change
    points as CSR arrays: ``auto_ptr``/``auto_t``/``auto_on`` (resolved by automatic
    reply from then on, or not) and ``rating_ptr``/``rating_t``/``rating_code``.
    ``cut`` is :func:`chatsim.daily.days.cutoff_matrix`. Returns the counts (shop, day,
    slot: the four counted/pending statuses, the reasons, then :data:`COUNT_SLOTS`) and
    the response-time sums (shop, day), both as running sums, and the answered counted
    chats' day ranges for :func:`middle_values`.

    Example:
        >>> one = lambda v, d=np.int64: np.array([v], dtype=d)
        >>> chats = dict(shop=one(0, np.int32), zone=one(0, np.int32), open=one(5),
        ...     answer=one(15), deadline=one(25), period_end=one(NEVER), blocked=one(NEVER),
        ...     fixed=one(-1, np.int8), resp=one(10), auto_ptr=np.zeros(2, np.int64),
        ...     auto_t=np.zeros(0, np.int64), auto_on=np.zeros(0, np.bool_),
        ...     rating_ptr=np.zeros(2, np.int64), rating_t=np.zeros(0, np.int64),
        ...     rating_code=np.zeros(0, np.int8))
        >>> cut = np.array([[10, 20]], dtype=np.int64)
        >>> counts, _, _ = accumulate(chats, cut, 1, pos_blk=1, pos_auto=3, n_reasons=4,
        ...                           sat_code=0)
        >>> counts[0, :, 0].tolist(), counts[0, :, 3].tolist()  # in time, pending
        ([0, 1], [1, 0])
    """
    acc, _ = _compiled()
    n_days = cut.shape[1]
    n = len(chats["open"])
    counts = np.zeros((n_shops, n_days + 1, 4 + n_reasons + len(COUNT_SLOTS)), np.int64)
    resp_sum = np.zeros((n_shops, n_days + 1), np.int64)
    med = {k: np.empty(n, np.int64) for k in ("shop", "d0", "d1", "v")}
    nm = acc(
        *(
            chats[k]
            for k in (
                "shop",
                "zone",
                "open",
                "answer",
                "deadline",
                "period_end",
                "blocked",
                "fixed",
                "resp",
                "auto_ptr",
                "auto_t",
                "auto_on",
                "rating_ptr",
                "rating_t",
                "rating_code",
            )
        ),
        cut,
        pos_blk,
        pos_auto,
        n_reasons,
        sat_code,
        counts,
        resp_sum,
        med["shop"],
        med["d0"],
        med["d1"],
        med["v"],
    )
    counts = np.cumsum(counts[:, :n_days], axis=1)
    resp_sum = np.cumsum(resp_sum[:, :n_days], axis=1)
    return counts, resp_sum, {k: v[:nm] for k, v in med.items()}


def middle_values(
    med: dict[str, np.ndarray], n_shops: int, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per shop and day, the lower and upper middle response times (int64; equal for an
    odd count; meaningless where the shop has no answered counted chat) of the chats
    :func:`accumulate` found answered and counted on those days.

    Example:
        >>> med = {"shop": np.array([0, 0, 0]), "d0": np.array([0, 0, 1]),
        ...        "d1": np.array([2, 2, 2]), "v": np.array([30, 10, 20])}
        >>> lo, hi = middle_values(med, 1, 2)
        >>> lo.tolist(), hi.tolist()
        ([[10, 20]], [[30, 20]])
    """
    _, mid = _compiled()
    lo = np.zeros((n_shops, n_days), np.int64)
    hi = np.zeros((n_shops, n_days), np.int64)
    mid(
        *(np.ascontiguousarray(med[k], dtype=np.int64) for k in ("shop", "d0", "d1", "v")),
        n_shops,
        n_days,
        lo,
        hi,
    )
    return lo, hi
