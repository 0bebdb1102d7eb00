"""Three to five plain-language takeaways, written from the figures of an evaluation.

Each takeaway is a template filled with computed figures (formatted by
:mod:`chatsim.explain.labels`) and chosen by a rule, in this order of priority:

1. ``overall``: the share of rated shops meeting each rule, and how many lose or gain
   status (always);
2. ``noise``: how many of the shops that lose (or gain) status are within noise of a
   target (both rates too close to call: :func:`chatsim.analysis.flips`), when some are;
3. ``segment``: the segment with the largest drop in the share passing (or, when none
   drops, the largest rise), when there are at least two segments and it moves;
4. ``bridge``: the bridge step that moves the share most ("most of the change comes from
   the window ...", when it makes more than half of all movement), when the rules differ
   in more than one field and the share moves;
5. ``off_hours``: the share of the shops that lose status whose chats that pass the old
   rule and miss the new one opened mostly at night or on weekends, when some do;
6. ``gains``: the shops that gain status, when any do;
7. ``caution``: when fewer than ``few_shops`` shops are rated, always kept (last).

At most five are returned; fewer than three only when the data say no more (one segment,
rules differing in one field, no shop losing status).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> log = sample_log()
    >>> [t.key for t in write_takeaways(compare(log), log)]
    ['overall', 'bridge', 'caution']
    >>> print(write_takeaways(compare(log), log)[0].text)  # doctest: +NORMALIZE_WHITESPACE
    33.3 % of rated shops meet legacy-24h and 33.3 % meet new-12h (0.0 pp): no shop loses
    status and none gains it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chatsim.errors import RuleError
from chatsim.explain.bridge import bridge_table, largest_step
from chatsim.explain.causes import FlipCauses, flip_causes
from chatsim.explain.headline import Headline, key_numbers
from chatsim.explain.labels import format_count, format_pp, format_share
from chatsim.metrics import Evaluation
from chatsim.schema import ChatLog

__all__ = ["FEW_SHOPS", "Takeaway", "write_takeaways"]

#: Fewer rated shops than this add a caution.
FEW_SHOPS = 30


@dataclass(frozen=True)
class Takeaway:
    """One takeaway: ``key`` names the rule that chose it, ``figures`` the formatted
    figures its text quotes."""

    key: str
    text: str
    figures: tuple[str, ...]


def _shops(n: int) -> str:
    return f"{format_count(n)} shop" + ("" if n == 1 else "s")


def _overall(h: Headline) -> Takeaway:
    a, b, d = format_share(h.share_old), format_share(h.share_new), _pp(h)
    if h.loses == 0:
        lose = "no shop loses status"
    else:
        lose = f"{_shops(h.loses)} lose{'s' if h.loses == 1 else ''} status"
    gain = "none gains it" if h.gains == 0 else f"{format_count(h.gains)} gain{_s(h.gains)} it"
    return Takeaway(
        "overall",
        f"{a} of rated shops meet {h.old} and {b} meet {h.new} ({d}): {lose} and {gain}.",
        (a, b, d, format_count(h.loses), format_count(h.gains)),
    )


def _s(n: int) -> str:
    """The verb ending of a third-person subject of ``n`` shops ("1 shop gains")."""
    return "s" if n == 1 else ""


def _pp(h: Headline) -> str:
    if h.share_old is None or h.share_new is None:
        return format_pp(None)
    return format_pp(h.share_new - h.share_old)


def _noise(h: Headline) -> Takeaway | None:
    parts, figures = [], []
    for moved, near, verb in (
        (h.loses, h.loses_within_noise, "lose"),
        (h.gains, h.gains_within_noise, "gain"),
    ):
        if not near:
            continue
        n, k = format_count(moved), format_count(near)
        if moved == 1:
            parts.append(f"1 shop {verb}s status, within noise of a target")
        else:
            are = "is" if near == 1 else "are"
            parts.append(f"{n} shops {verb} status; {k} of them {are} within noise of a target")
        figures += [n, k]
    if not parts:
        return None
    return Takeaway(
        "noise",
        "; ".join(parts) + ": under both rules the interval of such a shop's rate holds the "
        "target, so its counted chats are too few to tell whether it passes.",
        tuple(dict.fromkeys(figures)),
    )


def _segment(h: Headline) -> Takeaway | None:
    if len(h.segments) < 2:
        return None
    drop = h.segments[0]  # sorted by change, largest drop first
    seg = drop if drop.change < 0 else h.segments[-1]
    if seg.change == 0:
        return None
    verb = "drop" if seg.change < 0 else "rise"
    a, b, d = format_share(seg.share_old), format_share(seg.share_new), format_pp(seg.change)
    return Takeaway(
        "segment",
        f"{seg.label} {verb} the most: {a} of them meet {h.old} and {b} meet {h.new} ({d}, "
        f"{_shops(seg.shops_rated)} rated).",
        (a, b, d, format_count(seg.shops_rated)),
    )


def _what(step: dict) -> tuple[str, str]:
    """A bridge step as ``("window", "24 h → 12 h")``."""
    what = step["what"][:1].lower() + step["what"][1:]
    return what, step["label"][len(step["what"]) :].strip()


def _bridge(h: Headline, steps: pl.DataFrame | None) -> Takeaway | None:
    if steps is None or steps.filter(pl.col("kind") == "step").height < 2:
        return None
    top = largest_step(steps)
    if top is None:
        return None
    total = steps.filter(pl.col("kind") == "end")["change"][0]
    what, change = _what(top)
    d, t = format_pp(top["change"]), format_pp(total)
    lead = (
        "Most of the change comes" if top["part"] > 0.5 else "The largest part of the change comes"
    )
    text = f"{lead} from the {what} ({change}): {d}, of a net {t} from {h.old} to {h.new}"
    figures = [d, t]
    against = steps.filter(
        (pl.col("kind") == "step") & (pl.col("change") * top["change"] < 0)
    ).sort(pl.col("change").abs(), "step", descending=[True, False])
    if against.height:
        other = against.row(0, named=True)
        o_what, o_change = _what(other)
        o = format_pp(other["change"])
        text += f"; the {o_what} ({o_change}) works the other way, {o}"
        figures.append(o)
    return Takeaway("bridge", text + ".", tuple(figures))


def _off_hours(c: FlipCauses | None) -> Takeaway | None:
    if c is None or c.shops_with_chats == 0 or c.mostly_off_hours == 0:
        return None
    share = format_share(c.share_mostly_off_hours)
    k, n = format_count(c.mostly_off_hours), format_count(c.shops_with_chats)
    return Takeaway(
        "off_hours",
        f"For {share} of the shops that lose status ({k} of {n}), most chats that pass "
        f"{c.old} but miss {c.new} opened {c.off_hours_phrase}.",
        (share, k, n),
    )


def _gains(h: Headline) -> Takeaway | None:
    if h.gains == 0:
        return None
    who = "it misses" if h.gains == 1 else "they miss"
    return Takeaway(
        "gains",
        f"{_shops(h.gains)} gain{_s(h.gains)} status: {who} {h.old} but meet{_s(h.gains)} {h.new}.",
        (format_count(h.gains),),
    )


def _caution(h: Headline, few: int) -> Takeaway | None:
    n = min(h.rated_old, h.rated_new)
    if n >= few:
        return None
    step = format_pp(1 / n) if n else format_pp(None)
    return Takeaway(
        "caution",
        f"Caution: only {_shops(n)} {'is' if n == 1 else 'are'} rated, so one shop moves a "
        f"share by {step.lstrip('+')}; read these shares as rough.",
        (format_count(n), step.lstrip("+")),
    )


def write_takeaways(
    ev: Evaluation,
    log: ChatLog | None = None,
    *,
    head: Headline | None = None,
    steps: pl.DataFrame | None = None,
    causes: FlipCauses | None = None,
    few_shops: int = FEW_SHOPS,
) -> list[Takeaway]:
    """The takeaways of the evaluation's first and last rule (see the module text).

    ``head``, ``steps`` (a :func:`~chatsim.explain.bridge.bridge_table` table) and ``causes``
    are computed when not given: the bridge needs ``log`` (no bridge takeaway without
    it), the causes the chat tables (none after ``compare(..., chats=False)``, and none
    when the new rule judges a response time or satisfaction, not chats in time).
    """
    head = head or key_numbers(ev)
    if steps is None and len(ev.rules) > 1:
        try:
            steps = bridge_table(ev, log, old=head.old, new=head.new)
        except RuleError:
            steps = None  # the bridge needs the log
    if causes is None and (ev.chats.height or not ev.shops["chats"].sum()):
        causes = flip_causes(ev, head.old, head.new)
    if ev.rule(head.new).metric != "response_rate":
        causes = None  # it judges no chat in or out of time: no chat-level cause
    found = [
        _overall(head),
        _noise(head),
        _segment(head),
        _bridge(head, steps),
        _off_hours(causes),
        _gains(head),
    ]
    chosen = [t for t in found if t is not None]
    caution = _caution(head, few_shops)
    if caution is not None:
        return chosen[:4] + [caution]
    return chosen[:5]
