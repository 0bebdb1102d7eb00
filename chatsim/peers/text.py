"""What the peers page says first: its key numbers and its takeaways, and the table of the
designs it compares, each written from the figures of :mod:`chatsim.peers.tables`.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.peers.tables import compare_peers
    >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"], [])
    >>> [t.key for t in peer_takeaways(ev, "new-12h")][:2]
    ['spread', 'distance']
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chatsim.explain.formats import format_count, format_pp, format_share
from chatsim.explain.keynumbers import KeyNumberItems
from chatsim.explain.takeaways import Takeaway
from chatsim.metrics import Evaluation
from chatsim.page_html import rule_sentence
from chatsim.peers.tables import (
    distance_from_new,
    favours,
    pass_shares,
    rated_counts,
    split_shops,
)
from chatsim.presets import AS_DESCRIBED, GATHERED, PRESETS, Preset, preset_label
from chatsim.rules import BUILTIN_RULES, Rule

__all__ = [
    "FEW_SHOPS",
    "PeerNumbers",
    "design_sources",
    "designs_table",
    "distance_takeaways",
    "peer_key_numbers",
    "peer_takeaways",
]

#: Fewer shops rated under every rule than this add a caution to the takeaways.
FEW_SHOPS = 30


@dataclass(frozen=True)
class PeerNumbers(KeyNumberItems):
    """The peers page's key numbers (:func:`peer_key_numbers`): rows of ``key``, ``label``,
    ``value``, ``detail``, shown by :func:`chatsim.page_html.key_numbers_html`."""


def peer_key_numbers(ev: Evaluation, new: str) -> PeerNumbers:
    """The key numbers: the share meeting the new rule, the range of the other designs'
    shares, the closest and the farthest design from the new rule, and the shops whose
    verdict depends on the design.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.peers.tables import compare_peers
        >>> k = peer_key_numbers(compare_peers(sample_log(), ["legacy-24h", "new-12h"], []), "new-12h")
        >>> [key for key, *_ in k.items]
        ['new', 'others', 'closest', 'farthest', 'split']
    """
    shares = pass_shares(ev, new)
    mine = shares.filter(pl.col("rule") == new).row(0, named=True)
    others = shares.filter(pl.col("rule") != new).drop_nulls("share_passing")
    dist = distance_from_new(ev, new).drop_nulls("share_disagree")
    split = split_shops(ev).height
    rated = rated_counts(ev)[0]
    items = [
        (
            "new",
            f"Meet {new}",
            format_share(mine["share_passing"]),
            f"{format_count(mine['shops_passing'])} of {format_count(mine['shops_rated'])} rated shops",
        )
    ]
    if others.height:
        lo = others.sort("share_passing", "rule").row(0, named=True)
        hi = others.sort("share_passing", "rule", descending=[True, False]).row(0, named=True)
        items.append(
            (
                "others",
                "Other designs pass",
                f"{format_share(lo['share_passing'])} to {format_share(hi['share_passing'])}",
                f"lowest {lo['label']}; highest {hi['label']}",
            )
        )
    else:
        items.append(("others", "Other designs pass", format_share(None), "no other design"))
    for key, lab, row in (
        ("closest", "Closest to the new rule", dist.head(1)),
        ("farthest", "Farthest from the new rule", dist.tail(1)),
    ):
        if row.height:
            r = row.row(0, named=True)
            items.append(
                (
                    key,
                    lab,
                    r["label"],
                    f"{format_share(r['share_disagree'])} of shared shops classified differently",
                )
            )
        else:
            items.append((key, lab, format_share(None), "no shop rated under both"))
    items.append(
        (
            "split",
            "Verdict depends on the design",
            f"{format_count(split)} shops",
            f"pass some designs and fail others, of {format_count(rated)} rated",
        )
    )
    return PeerNumbers(tuple(items))


def peer_takeaways(ev: Evaluation, new: str, few_shops: int = FEW_SHOPS) -> list[Takeaway]:
    """Three to five sentences written from the figures, in this order: the spread of the
    pass shares; the designs closest to and farthest from the new rule; the shops whose
    verdict depends on the design; the seller type a design favours or penalises most
    against the new rule; a caution when fewer than ``few_shops`` shops are rated under
    every rule.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.peers.tables import compare_peers
        >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"], [])
        >>> [t.key for t in peer_takeaways(ev, "new-12h")]
        ['spread', 'distance', 'split', 'caution']
    """
    out = [_spread(ev, new), _distance(ev, new), _split(ev)]
    seg = _segment(ev, new)
    if seg is not None:
        out.append(seg)
    n_all = rated_counts(ev)[1]
    if n_all < few_shops:
        out.append(
            Takeaway(
                "caution",
                f"Only {format_count(n_all)} shops are rated under every design: read the "
                "shares as indications, not measurements.",
                (format_count(n_all),),
            )
        )
    return [t for t in out if t is not None][:5]


def _spread(ev: Evaluation, new: str) -> Takeaway:
    s = pass_shares(ev, new).drop_nulls("share_passing")
    if s.height == 0:
        return Takeaway("spread", "No shop is rated under any of the designs.", ())
    lo = s.sort("share_passing", "rule").row(0, named=True)
    hi = s.sort("share_passing", "rule", descending=[True, False]).row(0, named=True)
    a, b = format_share(lo["share_passing"]), format_share(hi["share_passing"])
    gap = format_pp(hi["share_passing"] - lo["share_passing"]).lstrip("+")
    return Takeaway(
        "spread",
        f"On the same shops, the share passing ranges from {a} under {lo['label']} to {b} "
        f"under {hi['label']} ({gap} apart).",
        (a, b, gap),
    )


def _distance(ev: Evaluation, new: str) -> Takeaway:
    d = distance_from_new(ev, new).drop_nulls("share_disagree")
    if d.height == 0:
        return Takeaway("distance", f"No shop is rated under {new} and another design.", ())
    near, far = d.row(0, named=True), d.row(d.height - 1, named=True)
    a, b = format_share(near["share_disagree"]), format_share(far["share_disagree"])
    if d.height == 1:
        return Takeaway(
            "distance",
            f"{new} and {near['label']} classify {a} of their shared shops differently.",
            (a,),
        )
    return Takeaway(
        "distance",
        f"{new} sits closest to {near['label']} ({a} of shared shops classified differently) "
        f"and farthest from {far['label']} ({b}).",
        (a, b),
    )


def _split(ev: Evaluation) -> Takeaway:
    n = split_shops(ev).height
    rated = rated_counts(ev)[0]
    k, m = format_count(n), format_count(rated)
    if n == 0:
        return Takeaway(
            "split", f"Every design gives each of the {m} rated shops the same verdict.", (m,)
        )
    share = format_share(n / rated) if rated else format_share(None)
    return Takeaway(
        "split",
        f"For {k} of the {m} rated shops ({share}) the verdict depends on the design: they "
        "pass under some designs and fail under others.",
        (k, m, share),
    )


def _segment(ev: Evaluation, new: str) -> Takeaway | None:
    f = favours(ev, new).filter((pl.col("rule") != new) & pl.col("change_vs_new").is_not_null())
    if f.height == 0:
        return None
    f = f.with_columns(pl.col("change_vs_new").abs().alias("_abs")).sort(
        "_abs", "segment", "rule", descending=[True, False, False]
    )
    r = f.row(0, named=True)
    if r["_abs"] < 0.0005:
        return None
    how = (
        "favours one seller type most"
        if r["change_vs_new"] > 0
        else "is hardest on one seller type"
    )
    d, a = format_pp(r["change_vs_new"]), format_share(r["share_passing"])
    n = format_count(r["shops_rated"])
    return Takeaway(
        "segment",
        f"Against {new}, the design that {how} is {r['label']}: {a} of "
        f"{r['segment_label'].lower()} pass it ({d}, {n} rated).",
        (a, d, n),
    )


def designs_table(ev: Evaluation) -> pl.DataFrame:
    """One row per rule of the page: its ``name``, how pages name it (``design``), what it
    is (``kind``: a built-in rule, a peer design as publicly described, or a rule of the
    scenario), the design's public name and its definition in words.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.peers.tables import compare_peers
        >>> t = designs_table(compare_peers(sample_log(), ["new-12h"], ["walmart-48h"]))
        >>> t["kind"].to_list()
        ['Built-in rule', 'Peer design, as publicly described (secondary sources, Nov 2026)']
    """
    rows = []
    for rule in ev.rules:
        p = _preset_of(rule)
        if p is not None:
            kind = f"Peer design, {AS_DESCRIBED} (secondary sources, {GATHERED})"
            public = p.design
        else:
            kind = (
                "Built-in rule" if BUILTIN_RULES.get(rule.name) == rule else "Rule of this scenario"
            )
            public = ""
        rows.append((rule.name, preset_label(rule.name), kind, public, rule_sentence(rule)))
    return pl.DataFrame(
        rows,
        schema={
            "name": pl.String,
            "design": pl.String,
            "kind": pl.String,
            "public_name": pl.String,
            "definition": pl.String,
        },
        orient="row",
    )


def design_sources(ev: Evaluation) -> pl.DataFrame:
    """The public sources of the page's peer designs: one row per source, with the design
    as pages name it, the source's title, its date and its address.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.peers.tables import compare_peers
        >>> t = design_sources(compare_peers(sample_log(), ["new-12h"], ["walmart-48h"]))
        >>> t.columns, t.height
        (['design', 'source', 'date', 'address'], 2)
    """
    rows = [
        (p.label, s.title, s.date, s.url)
        for p in (_preset_of(r) for r in ev.rules)
        if p is not None
        for s in p.sources
    ]
    return pl.DataFrame(
        rows,
        schema={"design": pl.String, "source": pl.String, "date": pl.String, "address": pl.String},
        orient="row",
    )


def _preset_of(rule: Rule) -> Preset | None:
    """The preset a rule is (by name and every setting), else None."""
    p = PRESETS.get(rule.name)
    return p if p is not None and p.rule == rule else None


def distance_takeaways(ev: Evaluation, new: str) -> list[Takeaway]:
    """:func:`chatsim.peers.distance_from_new`'s sentence for every other design, closest
    first, as takeaways (``key``: the design's rule name).

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.peers.tables import compare_peers
        >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"], [])
        >>> [t.key for t in distance_takeaways(ev, "new-12h")]
        ['legacy-24h']
    """
    d = distance_from_new(ev, new)
    return [
        Takeaway(r["rule"], r["sentence"], (format_share(r["share_disagree"]),))
        for r in d.iter_rows(named=True)
    ]
