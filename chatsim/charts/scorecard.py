"""The Shop Health scorecard's chart: who would get the Store Rating boost, today and with the
coming metrics, by seller type (data: :func:`chatsim.scorecard.boost_by_seller_type`).

Example:
    >>> import polars as pl
    >>> f = pl.DataFrame({"seller_type": ["solo"], "shops": [10], "boosted_today": [6],
    ...     "boosted": [3], "gain": [1], "lose": [4], "share_today": [0.6],
    ...     "share_boosted": [0.3]})
    >>> boost_chart(f).to_dict()["title"]
    'Shops with the Store Rating boost, today and with the coming metrics, by seller type'
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.charts.scales import WIDTH, pct_axis, rule_label_scale
from chatsim.explain.labels import segment_label

__all__ = ["boost_chart"]

#: The two bars of each seller type, in order.
_TODAY = "Today: 12-hour response rate alone"
_NEW = "With the coming metrics (scorecard)"


def boost_chart(frame: pl.DataFrame, today: str = "new-12h") -> alt.Chart:
    """Share of each seller type's shops with the Store Rating boost today (``today``: the
    rule that gives it now, in its colour) and under the scorecard, side by side."""
    from chatsim.scorecard import SCORECARD_NAME

    codes = frame["seller_type"].cast(pl.String).to_list()
    names = {c: segment_label(c) for c in codes}
    data = pl.concat(
        [
            frame.select(
                pl.col("seller_type")
                .replace_strict(names, return_dtype=pl.String)
                .alias("seller_type_label"),
                pl.lit(label).alias("when"),
                pl.col(share).alias("share"),
                pl.col(count).alias("boosted"),
                "shops",
                "gain",
                "lose",
            )
            for label, share, count in (
                (_TODAY, "share_today", "boosted_today"),
                (_NEW, "share_boosted", "boosted"),
            )
        ]
    )
    colours = rule_label_scale({today: _TODAY, SCORECARD_NAME: _NEW})
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("seller_type_label:N", title="Seller type"),
            yOffset=alt.YOffset("when:N", sort=[_TODAY, _NEW]),
            x=alt.X(
                "share:Q",
                title="Shops with the Store Rating boost (share of the seller type's shops)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "when:N",
                title="Boost from",
                scale=colours,
                sort=[_TODAY, _NEW],
                legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=0),
            ),
            tooltip=[
                alt.Tooltip("seller_type_label:N", title="Seller type"),
                alt.Tooltip("when:N", title="Boost from"),
                alt.Tooltip("boosted:Q", title="Shops with the boost"),
                alt.Tooltip("shops:Q", title="Shops"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
                alt.Tooltip("gain:Q", title="Would gain it"),
                alt.Tooltip("lose:Q", title="Would lose it"),
            ],
        )
        .properties(
            width=WIDTH - 160,
            title="Shops with the Store Rating boost, today and with the coming metrics, "
            "by seller type",
        )
    )
