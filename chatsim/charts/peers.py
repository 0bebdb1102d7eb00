"""Charts of the peers page: the same shops under the old, the new and peer marketplaces'
rules. Each draws one small table of :mod:`chatsim.peers`; rules keep their colours
(:mod:`chatsim.charts.scales`), presets are labelled "as publicly described", and what is
compared sits side by side, never stacked.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.peers import compare_peers, pass_shares
    >>> ev = compare_peers(sample_log(), ["legacy-24h", "new-12h"], [])
    >>> peer_pass_shares(pass_shares(ev, "new-12h")).to_dict()["title"]["text"]
    'Share of rated shops meeting each design, on the same shops'
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.charts.scales import WIDTH, pct_axis, rule_label_scale
from chatsim.explain.colors import CHANGE_COLORS, SEQUENTIAL_SCHEME

__all__ = [
    "peer_disagreement",
    "peer_distance",
    "peer_favours",
    "peer_pass_shares",
]

#: Height of one design's row in the bar charts, in pixels.
ROW = 30
#: Width of the label column the charts leave for the designs' names (they are long).
LABEL_WIDTH = 300


def _labels(df: pl.DataFrame, name: str = "rule", lab: str = "label") -> dict[str, str]:
    return dict(zip(df[name].to_list(), df[lab].to_list(), strict=True))


def peer_pass_shares(shares: pl.DataFrame) -> alt.LayerChart:
    """One bar per design (:func:`chatsim.peers.pass_shares`): the share of rated shops
    meeting it, the black line the range the shops' own 95 % intervals allow, and, with
    replications (:func:`chatsim.peers.with_replication_ranges`), a grey band: the 95 %
    interval over simulations."""
    labels = _labels(shares)
    order = list(labels.values())
    data = shares
    for c in ("rep_mean", "rep_low", "rep_high"):
        if c not in data.columns:
            data = data.with_columns(pl.lit(None, pl.Float64).alias(c))
    y = alt.Y("label:N", sort=order, title="Design", axis=alt.Axis(labelLimit=LABEL_WIDTH))
    tooltip = [
        alt.Tooltip("label:N", title="Design"),
        alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
        alt.Tooltip("shops_passing:Q", title="Shops passing"),
        alt.Tooltip("shops_rated:Q", title="Shops rated"),
        alt.Tooltip("share_low:Q", title="Range from shop intervals: from", format=".1%"),
        alt.Tooltip("share_high:Q", title="to", format=".1%"),
        alt.Tooltip("change_vs_new:Q", title="Difference from the new rule", format="+.1%"),
        alt.Tooltip("rep_low:Q", title="Over simulations: from", format=".1%"),
        alt.Tooltip("rep_high:Q", title="to", format=".1%"),
    ]
    base = alt.Chart(data).encode(y=y)
    title = "Rated shops meeting the design (share, %)"

    def x(field: str) -> alt.X:
        return alt.X(field, title=title, axis=pct_axis(), scale=alt.Scale(domain=[0, 1]))

    band = (
        base.transform_filter("isValid(datum.rep_low)")
        .mark_bar(color="#BBBBBB", opacity=0.6, height=ROW - 6)
        .encode(
            x=x("rep_low:Q"),
            x2="rep_high:Q",
            tooltip=tooltip,
        )
    )
    bars = base.mark_bar(height=ROW - 14).encode(
        x=x("share_passing:Q"),
        color=alt.Color("label:N", scale=rule_label_scale(labels), legend=None),
        tooltip=tooltip,
    )
    wilson = (
        base.transform_filter("isValid(datum.share_low)")
        .mark_rule(color="black", size=2)
        .encode(x=x("share_low:Q"), x2="share_high:Q", tooltip=tooltip)
    )
    text = base.mark_text(align="left", dx=4, dy=-ROW / 2 + 6, fontSize=11).encode(
        x=x("share_passing:Q"), text=alt.Text("share_passing:Q", format=".1%")
    )
    return (band + bars + wilson + text).properties(
        width=WIDTH - LABEL_WIDTH + 120,
        height=ROW * len(order),
        title=alt.TitleParams(
            "Share of rated shops meeting each design, on the same shops",
            subtitle="Black line: the range the shops' own 95 % intervals allow"
            + (
                "; grey band: 95 % interval over simulations"
                if data["rep_low"].is_not_null().any()
                else ""
            ),
        ),
    )


def peer_disagreement(dis: pl.DataFrame) -> alt.LayerChart:
    """A matrix of every pair of designs (:func:`chatsim.peers.disagreement`): the share of
    the shops rated under both that the two classify differently (pass under one, fail
    under the other), both ways round."""
    order = list(dict.fromkeys([*dis["label_a"].to_list(), *dis["label_b"].to_list()]))
    cols = ["label_a", "label_b", "shops_both", "only_a", "only_b", "share_disagree"]
    flipped = dis.select(
        pl.col("label_b").alias("label_a"),
        pl.col("label_a").alias("label_b"),
        "shops_both",
        pl.col("only_b").alias("only_a"),
        pl.col("only_a").alias("only_b"),
        "share_disagree",
    )
    data = pl.concat([dis.select(cols), flipped], how="vertical")
    base = alt.Chart(data).encode(
        x=alt.X(
            "label_b:N",
            sort=order,
            title="Design B",
            axis=alt.Axis(labelAngle=-35, labelLimit=220),
        ),
        y=alt.Y("label_a:N", sort=order, title="Design A", axis=alt.Axis(labelLimit=LABEL_WIDTH)),
    )
    tooltip = [
        alt.Tooltip("label_a:N", title="Design A"),
        alt.Tooltip("label_b:N", title="Design B"),
        alt.Tooltip("share_disagree:Q", title="Classified differently", format=".1%"),
        alt.Tooltip("only_a:Q", title="Pass A only (shops)"),
        alt.Tooltip("only_b:Q", title="Pass B only (shops)"),
        alt.Tooltip("shops_both:Q", title="Rated under both (shops)"),
    ]
    heat = base.mark_rect().encode(
        color=alt.Color(
            "share_disagree:Q",
            title="Classified differently",
            scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[0, 1]),
            legend=alt.Legend(format=".0%", orient="bottom", gradientLength=240),
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("share_disagree:Q", format=".0%"),
        color=alt.condition(alt.datum.share_disagree > 0.5, alt.value("white"), alt.value("black")),
        tooltip=tooltip,
    )
    side = 46 * len(order)
    return (heat + text).properties(
        width=side,
        height=side,
        title=alt.TitleParams(
            "Where two designs disagree on the same shop",
            subtitle="Share of the shops rated under both that pass one design and fail the other",
        ),
    )


def peer_favours(fav: pl.DataFrame, new: str) -> alt.LayerChart:
    """Per seller type and design (:func:`chatsim.peers.favours`, the new rule left out):
    the share passing minus the new rule's, in percentage points. Above zero, the design
    favours that seller type over the new rule."""
    data = fav.filter(pl.col("rule") != new).with_columns(
        (pl.col("change_vs_new") * 100).alias("pp")
    )
    whole = pl.col("pp").round(0).cast(pl.Int64)
    data = data.with_columns(  # signed whole points; no difference reads "0", not "+0"
        pp_text=pl.when(whole > 0)
        .then(pl.lit("+") + whole.cast(pl.String))
        .when(whole < 0)
        .then(pl.lit("−") + (-whole).cast(pl.String))
        .otherwise(pl.lit("0"))
    )
    order = list(dict.fromkeys(data["label"].to_list()))
    segs = list(dict.fromkeys(data.sort("segment")["segment_label"].to_list()))
    base = alt.Chart(data).encode(
        x=alt.X(
            "label:N",
            sort=order,
            title="Design",
            axis=alt.Axis(labelAngle=-35, labelLimit=220),
        ),
        y=alt.Y("segment_label:N", sort=segs, title="Seller type"),
    )
    tooltip = [
        alt.Tooltip("segment_label:N", title="Seller type"),
        alt.Tooltip("label:N", title="Design"),
        alt.Tooltip("share_passing:Q", title="Share passing", format=".1%"),
        alt.Tooltip("pp:Q", title=f"Difference from {new} (pp)", format="+.1f"),
        alt.Tooltip("shops_rated:Q", title="Shops rated"),
    ]
    span = max(float(data["pp"].abs().max() or 0.0), 1.0)
    heat = base.mark_rect().encode(
        color=alt.Color(
            "pp:Q",
            title="Difference (pp)",
            # green: more shops pass than under the new rule, red: fewer (never a rule colour)
            scale=alt.Scale(domain=[-span, 0, span], range=list(CHANGE_COLORS.values())),
            legend=alt.Legend(orient="bottom", gradientLength=240),
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("pp_text:N"),
        color=alt.condition(
            (alt.datum.pp > span * 0.6) | (alt.datum.pp < -span * 0.6),
            alt.value("white"),
            alt.value("black"),
        ),
        tooltip=tooltip,
    )
    return (heat + text).properties(
        width=max(70 * len(order), 200),
        height=max(30 * len(segs), 60),
        title=alt.TitleParams(
            f"Which seller types each design favours, against {new}",
            subtitle="Share passing under the design minus under the new rule, in percentage "
            "points (green: the design passes more of them; red: fewer)",
        ),
    )


def peer_distance(dist: pl.DataFrame, new: str) -> alt.LayerChart:
    """How far the new rule sits from each other design (:func:`chatsim.peers.
    distance_from_new`): the share of shared shops the two classify differently, split into
    the shops passing only the other design and only the new rule, side by side."""
    parts = {"only_other": "Pass only the other design", "only_new": f"Pass only {new}"}
    data = (
        dist.unpivot(
            index=["rule", "label", "shops_both", "share_disagree", "change"],
            on=list(parts),
            variable_name="which",
            value_name="shops",
        )
        .with_columns(
            pl.col("which").replace_strict(parts, return_dtype=pl.String),
            pl.when(pl.col("shops_both") > 0)
            .then(pl.col("shops") / pl.col("shops_both"))
            .otherwise(None)
            .alias("share"),
        )
        .sort("rule", "which")
    )
    order = list(dict.fromkeys(dist["label"].to_list()))
    tooltip = [
        alt.Tooltip("label:N", title="Design"),
        alt.Tooltip("which:N", title="Shops that"),
        alt.Tooltip("shops:Q", title="Shops"),
        alt.Tooltip("share:Q", title="Share of shops rated under both", format=".1%"),
        alt.Tooltip("share_disagree:Q", title="Classified differently, in all", format=".1%"),
        alt.Tooltip("change:Q", title=f"Pass share minus {new}'s", format="+.1%"),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title="Design", axis=alt.Axis(labelLimit=LABEL_WIDTH)),
            yOffset=alt.YOffset("which:N", sort=list(parts.values())),
            x=alt.X(
                "share:Q",
                title="Shops rated under both, classified differently (share, %)",
                axis=pct_axis(),
            ),
            color=alt.Color(
                "which:N",
                title=None,
                sort=list(parts.values()),
                scale=alt.Scale(domain=list(parts.values()), range=["#56B4E9", "#E69F00"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=tooltip,
        )
    )
    return bars.properties(
        width=WIDTH - LABEL_WIDTH + 120,
        height=alt.Step(14),
        title=alt.TitleParams(
            f"How far {new} sits from each design (closest first)",
            subtitle="Of the shops rated under both: those passing only one of the two",
        ),
    )
