"""The shop drill-down page's parts: which shops it shows, their anchors, and each shop's
profile, metrics and missed chats as tables.

The page shows the scenario's drill-down shop (``analysis.drilldown_shop``) if it names
one, then the ``drilldown_top`` shops that lose status with the largest rate drops, one
section per shop, each under the anchor :func:`shop_anchor`; the main report's table of
shops losing status links each of them there (:func:`drilldown_links`). All in one kernel:
the page costs a few tenths of a second per shop.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> drilldown_shops(compare(sample_log()))
    ['shop_b']
    >>> shop_anchor("shop_b"), shop_anchor("<b>")[:9]
    ('shop-shop_b', 'shop--b--')
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

import polars as pl

from chatsim.analysis import flips, pick_drilldown_shop, top_losers
from chatsim.metrics import Evaluation

if TYPE_CHECKING:
    from chatsim.notebook import ReportContext

__all__ = [
    "DRILLDOWN_PAGE",
    "DRILLDOWN_TOP",
    "drilldown_links",
    "drilldown_overview",
    "drilldown_shops",
    "missed_chats",
    "shop_anchor",
    "shop_lead",
    "shop_profile",
    "shop_rule_table",
]

#: How many of the shops losing status the drill-down page shows by default.
DRILLDOWN_TOP = 5
#: The report page (notebook name) holding the drill-down sections.
DRILLDOWN_PAGE = "shop_drilldown"

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def shop_anchor(shop_id: Any) -> str:
    """The fragment id of a shop's section: ``shop-`` and the id when it is made of letters,
    digits, ``-`` and ``_`` (40 at most); otherwise the id with every other run of
    characters made ``-`` (cut at 40) plus 8 hex digits of its hash, so every id gets its
    own anchor and no markup reaches the page.

    Example:
        >>> shop_anchor("s-17"), shop_anchor("s 17") != shop_anchor("s/17")
        ('shop-s-17', True)
    """
    sid = str(shop_id)
    slug = _UNSAFE.sub("-", sid)[:40]
    if slug != sid:
        digest = hashlib.sha256(sid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"{slug}-{digest}"
    return f"shop-{slug}"


def drilldown_shops(
    ev: Evaluation, shop_id: str | None = None, top: int = DRILLDOWN_TOP
) -> list[str]:
    """The shops the drill-down page shows, in order: ``shop_id`` if given (checked against
    the log), then the ``top`` shops losing status with the largest drops
    (:func:`chatsim.analysis.top_losers`). With neither, the lowest-rated shop
    (:func:`chatsim.analysis.pick_drilldown_shop`), so the page always has one.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> drilldown_shops(compare(sample_log()), "shop_a", top=0)
        ['shop_a']
    """
    chosen = [pick_drilldown_shop(ev, shop_id)] if shop_id is not None else []
    chosen += [s for s in top_losers(ev, max(int(top), 0)) if s not in chosen]
    return chosen or [pick_drilldown_shop(ev)]


def drilldown_links(ctx: ReportContext, page: str = DRILLDOWN_PAGE) -> dict[str, str]:
    """``{shop id: "shop_drilldown.html#<anchor>"}`` for every shop the drill-down page of
    this run shows; empty when the run does not build that page (no dead links).

    Example:
        >>> drilldown_links(ctx)  # doctest: +SKIP
        {'S0042': 'shop_drilldown.html#shop-S0042'}
    """
    if not ctx.builds_page(page):
        return {}
    shops = drilldown_shops(
        ctx.evaluation,
        ctx.params.get("drilldown_shop"),
        ctx.params.get("drilldown_top", DRILLDOWN_TOP),
    )
    return {s: f"{page}.html#{shop_anchor(s)}" for s in shops}


def drilldown_overview(
    ev: Evaluation, shops: list[str], segment: str | None = None
) -> pl.DataFrame:
    """One row per drilled shop, in page order: its seller type, rate under the old and
    the new rule, the change, and whether it loses status.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> drilldown_overview(compare(sample_log()), ["shop_b"])["shop_id"].to_list()
        ['shop_b']
    """
    f = flips(ev, ev.rules[0].name, ev.rules[-1].name)
    order = pl.DataFrame({"shop_id": shops, "_o": list(range(len(shops)))})
    keep = [c for c in (segment,) if c and c in f.columns]
    return (
        order.join(f.with_columns(pl.col("shop_id").cast(pl.String)), on="shop_id", how="left")
        .sort("_o")
        .select("shop_id", *keep, "rate_old", "rate_new", "rate_delta", "flip")
    )


def shop_lead(row: dict[str, Any], old: str, new: str, segment: str | None = None) -> str:
    """The line under a shop's heading, from a row of :func:`drilldown_overview`: seller
    type, the rate under each rule and the change, the shop's standing.

    Example:
        >>> shop_lead({"rate_old": 0.92, "rate_new": 0.8, "rate_delta": -0.12,
        ...            "flip": "loses_under_new"}, "legacy-24h", "new-12h")
        '92.0 % under legacy-24h, 80.0 % under new-12h (−12.0 pp) · Loses status under the new rule'
    """
    from chatsim.explain import format_pp, format_share, label, segment_label

    parts = [segment_label(row[segment])] if segment and row.get(segment) else []
    parts.append(
        f"{format_share(row.get('rate_old'))} under {old}, "
        f"{format_share(row.get('rate_new'))} under {new} ({format_pp(row.get('rate_delta'))})"
    )
    if row.get("flip"):
        parts.append(label(row["flip"], "flip"))
    return " · ".join(parts)


def shop_profile(ctx: ReportContext, shop: str) -> pl.DataFrame:
    """The shop's profile as ``What``/``Value`` rows: seller type, time zone, chatbot, the
    scenario's working hours for its seller type (simulated logs), each rule's deadline.

    Example:
        >>> shop_profile(ctx, "S0042")["What"].to_list()[:2]  # doctest: +SKIP
        ['Seller type', 'Time zone']
    """
    from chatsim.explain import format_field, segment_label
    from chatsim.page_html import rule_sentence

    rows = ctx.shops.filter(pl.col("shop_id").cast(pl.String) == str(shop))
    info = rows.row(0, named=True) if rows.height else {}
    seg = ctx.segment
    profile = [
        ("Seller type", segment_label(info.get(seg)) if seg and info.get(seg) else "—"),
        ("Time zone", str(info.get("timezone") or "—")),
        ("Chatbot", "on" if info.get("chatbot_enabled") else "off"),
    ]
    sc = ctx.scenario
    if sc is not None and not ctx.params.get("real_log") and info.get("archetype"):
        a = sc.archetype(info["archetype"])
        profile.append(("Working hours (scenario)", format_field("business_schedule", a.schedule)))
        profile.append(("Works public holidays", "yes" if a.works_holidays else "no"))
    profile += [(f"Deadline, {r.name}", rule_sentence(r)) for r in ctx.rules]
    return pl.DataFrame(profile, schema=["What", "Value"], orient="row")


def shop_rule_table(ev: Evaluation, shop: str) -> pl.DataFrame:
    """The shop's row of the shop table under each rule: chats by status, exclusions,
    rate, response times, tier.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> shop_rule_table(compare(sample_log()), "shop_b").height
        2
    """
    mine = ev.shops.filter(pl.col("shop_id").cast(pl.String) == str(shop))
    return mine.select(
        "rule",
        "counted",
        "answered_in_time",
        "answered_late",
        "unanswered",
        "pending",
        *[c for c in ev.shops.columns if c.startswith("excluded_")],
        "response_rate",
        "avg_response_hours",
        "median_response_hours",
        "tier",
    )


def missed_chats(timeline: pl.DataFrame, old: str, new: str) -> pl.DataFrame:
    """Every chat the new rule counts as late or unanswered, with its status under both
    rules, from :func:`chatsim.chart_data.shop_chats_local` (shop-local times).

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> from chatsim.chart_data import shop_chats_local
        >>> tl = shop_chats_local(compare(sample_log()), "shop_b")
        >>> missed_chats(tl, "legacy-24h", "new-12h").columns[-1]
        'Status under new-12h'
    """
    before = timeline.filter(pl.col("rule") == old).select(
        "conversation_id", "opened", pl.col("status_label").alias("_old")
    )
    return (
        timeline.filter(
            (pl.col("rule") == new) & pl.col("status").is_in(["answered_late", "unanswered"])
        )
        .join(before, on=["conversation_id", "opened"], how="left")
        .sort("opened", "conversation_id")
        .select(
            "opened",
            "answered",
            "deadline",
            "response_hours",
            pl.col("_old").alias(f"Status under {old}"),
            pl.col("status_label").alias(f"Status under {new}"),
        )
    )
