"""Charts of the calibration page: a real log beside the simulation of its fitted scenario.

Each chart draws one table of :class:`chatsim.fit.Calibration` (small, aggregated in
polars): arrivals by hour of week, response-time distributions, shop response rates,
pass shares per rule and segment. Observed data are drawn in black, the simulated twin in
orange (Okabe-Ito, told apart under every common colour-vision deficiency).

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"segment": ["all shops"] * 2, "how": [0, 1],
    ...                    "observed": [0.5, 0.5], "simulated": [0.4, 0.6]})
    >>> arrivals_chart(df).to_dict()["title"]
    'Buyer chats by hour of the week, observed and simulated (all shops)'
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.charts.scales import WIDTH, pct_axis
from chatsim.explain.labels import segment_label
from chatsim.fit import ALL_SHOPS

__all__ = [
    "SOURCE_COLORS",
    "arrivals_chart",
    "pass_share_chart",
    "rate_bins_chart",
    "response_time_chart",
]

#: Observed data in black, the simulated twin in orange.
SOURCE_COLORS: dict[str, str] = {"observed": "#000000", "simulated": "#E69F00"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _source_scale() -> alt.Scale:
    return alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values()))


def _segment_names(segments: pl.Series) -> pl.Expr:
    """The fit segments as the page's tables name them ("Group 1"), "all shops" kept.

    Example:
        >>> pl.select(_segment_names(pl.Series(["group_1", "all shops"]))).to_series().to_list()
        ['Group 1', 'all shops']
    """
    names = {v: v if v == ALL_SHOPS else segment_label(v) for v in segments.unique().to_list()}
    return pl.lit(segments).replace_strict(names, return_dtype=pl.String)


def arrivals_chart(arrivals: pl.DataFrame, segment: str = "all shops") -> alt.Chart:
    """Share of buyer chats per shop-local hour of the week, observed vs simulated
    (``arrivals``: ``Calibration.arrivals``)."""
    data = (
        arrivals.filter(pl.col("segment") == segment)
        .unpivot(
            index=["segment", "how"],
            on=["observed", "simulated"],
            variable_name="source",
            value_name="share",
        )
        .with_columns(
            day=pl.col("how") // 24,
            hour=pl.col("how") % 24,
        )
        .with_columns(
            when=pl.col("day").replace_strict(dict(enumerate(_DAYS)), return_dtype=pl.String)
            + " "
            + pl.col("hour").cast(pl.String).str.zfill(2)
            + ":00"
        )
    )
    return (
        alt.Chart(data)
        .mark_line()
        .encode(
            x=alt.X(
                "how:Q",
                title="Hour of the week (shop-local, Monday 00:00 = 0)",
                scale=alt.Scale(domain=[0, 167]),
                axis=alt.Axis(values=list(range(0, 168, 24))),
            ),
            y=alt.Y(
                "share:Q",
                title="Share of the week's buyer chats",
                # shares of one hour are small: one decimal, so no two ticks read alike
                axis=alt.Axis(labelExpr="format(datum.value * 100, '.1f') + ' %'"),
            ),
            color=alt.Color("source:N", title="Data", scale=_source_scale()),
            tooltip=[
                alt.Tooltip("when:N", title="When"),
                alt.Tooltip("source:N", title="Data"),
                alt.Tooltip("share:Q", title="Share of chats", format=".2%"),
            ],
        )
        .properties(
            width=WIDTH,
            title=f"Buyer chats by hour of the week, observed and simulated ({segment})",
        )
    )


def response_time_chart(times: pl.DataFrame) -> alt.Chart:
    """Answered chats per response-time bin, observed vs simulated, one panel per rule
    (``times``: ``Calibration.response_times``)."""
    data = times.with_columns(
        bin=pl.when(pl.col("hours_to").is_infinite())
        .then(pl.format("{} h or more", pl.col("hours_from")))
        .otherwise(pl.format("{}-{} h", pl.col("hours_from"), pl.col("hours_to")))
    )
    order = (
        data.filter(pl.col("source") == "observed")
        .unique("bin", keep="first")
        .sort("hours_from")["bin"]
        .to_list()
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", title="Response time (hours, open to answer)", sort=order),
            xOffset=alt.XOffset("source:N"),
            y=alt.Y("share:Q", title="Share of answered chats", axis=pct_axis()),
            color=alt.Color("source:N", title="Data", scale=_source_scale()),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("bin:N", title="Response time"),
                alt.Tooltip("source:N", title="Data"),
                alt.Tooltip("chats:Q", title="Chats", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(width=WIDTH // 2 - 20, height=220)
        .facet(column=alt.Column("rule:N", title="Rule"))
        .properties(title="Response times, observed and simulated")
    )


def rate_bins_chart(bins: pl.DataFrame) -> alt.Chart:
    """Shops per response-rate bin, observed vs simulated, one panel per rule
    (``bins``: ``Calibration.rate_bins``)."""
    return (
        alt.Chart(bins)
        .mark_bar(opacity=0.75)
        .encode(
            x=alt.X(
                "rate_from:Q",
                title="Shop response rate (bins of 5 points)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
                bin=alt.Bin(binned=True, step=0.05),
            ),
            x2="rate_to:Q",
            xOffset=alt.XOffset("source:N"),
            y=alt.Y("share:Q", title="Share of rated shops", axis=pct_axis()),
            color=alt.Color("source:N", title="Data", scale=_source_scale()),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("source:N", title="Data"),
                alt.Tooltip("rate_from:Q", title="Rate from", format=".0%"),
                alt.Tooltip("rate_to:Q", title="Rate to", format=".0%"),
                alt.Tooltip("shops:Q", title="Shops"),
                alt.Tooltip("share:Q", title="Share of shops", format=".1%"),
            ],
        )
        .properties(width=WIDTH // 2 - 20, height=220)
        .facet(column=alt.Column("rule:N", title="Rule"))
        .properties(title="Shop response rates, observed and simulated")
    )


def pass_share_chart(shares: pl.DataFrame) -> alt.Chart:
    """Share of shops meeting each rule per segment, observed vs simulated
    (``shares``: ``Calibration.pass_shares``)."""
    data = shares.unpivot(
        index=["rule", "segment", "shops_observed", "difference_points"],
        on=["observed", "simulated"],
        variable_name="source",
        value_name="share",
    )
    data = data.with_columns(segment=_segment_names(data["segment"]))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y(
                "segment:N",
                title="Segment",
                sort=data["segment"].unique(maintain_order=True).to_list(),
            ),
            yOffset=alt.YOffset("source:N"),
            x=alt.X(
                "share:Q",
                title="Share of rated shops meeting it",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("source:N", title="Data", scale=_source_scale()),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("segment:N", title="Segment"),
                alt.Tooltip("source:N", title="Data"),
                alt.Tooltip("share:Q", title="Share passing", format=".1%"),
                alt.Tooltip("shops_observed:Q", title="Shops (observed)"),
                alt.Tooltip(
                    "difference_points:Q", title="Simulated - observed (points)", format="+.1f"
                ),
            ],
        )
        .properties(width=WIDTH // 2 - 40)
        .facet(column=alt.Column("rule:N", title="Rule"))
        .properties(title="Shops meeting each rule, per segment: observed and simulated")
    )
