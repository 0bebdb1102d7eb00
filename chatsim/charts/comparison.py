"""Charts of the rule-comparison page: who passes, flips, response times, the bridge from
the old rule to the new one, why shops flip, pass rates by segment, what-if variants.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> rate_distribution(compare(sample_log())).to_dict()["title"]
    "Shop response rates under each rule (dashed line: the rule's target)"
"""

from __future__ import annotations

import altair as alt
import polars as pl

from chatsim.chart_data import (
    WEEKDAYS,
    bridge_chart_data,
    hours_histogram_data,
    rate_histogram_data,
    response_time_histogram_data,
    targets_data,
)
from chatsim.charts.scales import WIDTH, pct_axis, rule_order, rule_scale
from chatsim.explain.causes import FlipCauses, missed_by_hour_of_week
from chatsim.explain.colors import SEQUENTIAL_SCHEME, rule_colors
from chatsim.explain.labels import format_hours, format_share, label, segment_label
from chatsim.explain.rulefigures import axis_title, lower_is_better_note, target_text
from chatsim.metrics import Evaluation
from chatsim.rulekinds import figure_is_share
from chatsim.rules import Rule
from chatsim.schema import ChatLog

__all__ = [
    "bridge_chart",
    "causes_chart",
    "flip_matrix",
    "pass_rate_by_segment",
    "rate_distribution",
    "response_time_distribution",
    "unanswered_heatmap",
    "what_if_chart",
]


#: Response-time rules' histograms end here (hours); the last bar holds every later figure.
HOURS_AXIS_MAX = 24.0


def rate_distribution(ev: Evaluation) -> alt.VConcatChart:
    """Histogram of each rule's figure per shop (``rule_value``), one panel per rule (never
    stacked), each with its target line labelled on the chart: a share axis for a rate, an
    hours axis for a response-time rule; a figure where lower is better says so."""
    data = rate_histogram_data(ev)
    hours = hours_histogram_data(ev, max_hours=HOURS_AXIS_MAX)
    order = rule_order(ev)
    colors = rule_colors(order)
    targets = targets_data(ev)
    ymax = max(int(data["shops"].max() or 1), int(hours["shops"].max() or 1), 1)
    panels = []
    for rule in ev.rules:
        name, color, share = rule.name, colors[rule.name], figure_is_share(rule)
        title = axis_title(rule)
        if share:
            x = alt.X(
                "bin_start:Q",
                bin="binned",
                title=title,
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            )
            fmt, frame = ".1%", data
        else:
            top = format_hours(HOURS_AXIS_MAX)
            x = alt.X(
                "bin_start:Q",
                bin="binned",
                title=f"{title}; last bar: {top} or more",
                axis=alt.Axis(labelExpr="datum.value + ' h'"),
                scale=alt.Scale(domain=[0, HOURS_AXIS_MAX + 0.5]),
            )
            fmt, frame = ".1f", hours
        what = "Figure" if share else "Hours"
        bars = (
            alt.Chart(frame.filter(pl.col("rule") == name))
            .mark_bar(color=color, binSpacing=1)
            .encode(
                x=x,
                x2="bin_end:Q",
                y=alt.Y("shops:Q", title="Shops", scale=alt.Scale(domain=[0, ymax])),
                tooltip=[
                    alt.Tooltip("rule:N", title="Rule"),
                    alt.Tooltip("bin_start:Q", title=f"{what} from", format=fmt),
                    alt.Tooltip("bin_end:Q", title=f"{what} to", format=fmt),
                    alt.Tooltip("shops:Q", title="Shops"),
                ],
            )
        )
        t = targets.filter(pl.col("rule") == name)
        line = (
            alt.Chart(t)
            .mark_rule(strokeDash=[6, 3], size=2, color=color)
            .encode(x="target:Q", tooltip=[alt.Tooltip("label:N", title="Target")])
        )
        # a maximum: the label sits right of its line, where the failing shops are
        side = {"align": "left", "dx": 4} if rule.target_comparison == "at_most" else {}
        text = (
            alt.Chart(t)
            .mark_text(
                **({"align": "right", "dx": -4} | side),
                dy=-4,
                baseline="top",
                color=color,
                fontWeight="bold",
            )
            .encode(x="target:Q", y=alt.value(0), text="label:N")
        )
        panel_title = f"{name}: target {target_text(rule)}{lower_is_better_note(rule)}"
        panels.append(
            (bars + line + text).properties(
                width=WIDTH,
                height=150,
                title=alt.TitleParams(panel_title, color=color, anchor="start"),
            )
        )
    plain = all(r.metric == "response_rate" and r.rate_kind == "share" for r in ev.rules)
    return alt.vconcat(*panels).properties(
        title="Shop response rates under each rule (dashed line: the rule's target)"
        if plain
        else "Each rule's figure per shop (dashed line: the rule's target)"
    )


def flip_matrix(flips_df: pl.DataFrame, old: str, new: str) -> alt.Chart:
    """The 2x2 flip matrix: shops passing/failing under the old and the new rule."""
    rated = flips_df.filter(pl.col("flip") != "not_rated")
    counts = rated.group_by("pass_old", "pass_new").agg(pl.len().alias("shops"))
    grid = pl.DataFrame(
        {"pass_old": [True, True, False, False], "pass_new": [True, False, True, False]}
    )

    def status(col: str, rule: str) -> pl.Expr:
        return (
            pl.when(pl.col(col)).then(pl.lit(f"meets {rule}")).otherwise(pl.lit(f"misses {rule}"))
        )

    data = (
        grid.join(counts, on=["pass_old", "pass_new"], how="left")
        .with_columns(pl.col("shops").fill_null(0))
        .with_columns(
            status("pass_old", old).alias("old"),
            status("pass_new", new).alias("new"),
            (pl.col("shops") / max(rated.height, 1)).alias("share"),
        )
    )
    base = alt.Chart(data).encode(
        x=alt.X("new:N", title=f"New rule ({new})", sort=[f"meets {new}", f"misses {new}"]),
        y=alt.Y("old:N", title=f"Old rule ({old})", sort=[f"meets {old}", f"misses {old}"]),
    )
    heat = base.mark_rect().encode(
        color=alt.Color("shops:Q", title="Shops", scale=alt.Scale(scheme=SEQUENTIAL_SCHEME)),
        tooltip=[
            alt.Tooltip("old:N", title="Old rule"),
            alt.Tooltip("new:N", title="New rule"),
            alt.Tooltip("shops:Q", title="Shops"),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("shops:Q"),
        color=alt.condition(alt.datum.share > 0.4, alt.value("white"), alt.value("black")),
    )
    return (heat + text).properties(
        width=360, height=220, title="Who flips: rated shops by status under each rule"
    )


def response_time_distribution(
    ev: Evaluation, rule: str | None = None, max_hours: float = 72.0
) -> alt.Chart:
    """Response-time histogram of answered counted chats, with the windows (12 h, 24 h) of
    the rules that judge chats against one (a response-time rule's own target is on
    :func:`rate_distribution`'s hours axis)."""
    data = response_time_histogram_data(ev, rule, max_hours)
    rule = rule or ev.rules[-1].name
    bars = (
        alt.Chart(data)
        .mark_bar(color="#999999")
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title=f"Response time (hours; last bar: {format_hours(max_hours)} or more)",
                scale=alt.Scale(domain=[0, max_hours + 1]),
            ),
            x2="bin_end:Q",
            y=alt.Y("chats:Q", title="Answered chats (count)"),
            tooltip=[
                alt.Tooltip("bin_start:Q", title="From (h)"),
                alt.Tooltip("bin_end:Q", title="To (h)"),
                alt.Tooltip("chats:Q", title="Chats"),
            ],
        )
    )
    order = rule_order(ev)
    # a response-time or satisfaction rule, or a daily cut-off, judges no window
    timed = [r for r in ev.rules if r.metric == "response_rate" and r.deadline == "window"]
    lines_df = pl.DataFrame(
        {
            "hours": [float(r.window_hours) for r in timed],
            "rule": [r.name for r in timed],
            "label": [f"{r.name}: {format_hours(r.window_hours)}" for r in timed],
            "ypos": [12 + 16 * i for i in range(len(timed))],
        },
        schema={"hours": pl.Float64, "rule": pl.String, "label": pl.String, "ypos": pl.Int64},
    )
    lines = (
        alt.Chart(lines_df)
        .mark_rule(strokeDash=[6, 3], size=2)
        .encode(
            x="hours:Q",
            color=alt.Color("rule:N", scale=rule_scale(order), legend=None),
            tooltip=[alt.Tooltip("label:N", title="Window")],
        )
    )
    labels = (
        alt.Chart(lines_df)
        .mark_text(align="left", dx=4, fontWeight="bold")
        .encode(
            x="hours:Q",
            y=alt.Y("ypos:Q", scale=None),
            text="label:N",
            color=alt.Color("rule:N", scale=rule_scale(order), legend=None),
        )
    )
    return (bars + lines + labels).properties(
        width=WIDTH,
        height=260,
        title=f"How long buyers wait for an answer ({rule} chat definition)",
    )


def unanswered_heatmap(
    ev: Evaluation, log: ChatLog | None = None, rule: str | None = None
) -> alt.Chart:
    """Hour-of-week heatmap (shop-local time) of chats answered late or never answered
    (:func:`chatsim.explain.missed_by_hour_of_week`; its caption:
    :func:`chatsim.explain.hour_of_week_caption`)."""
    rule = rule or ev.rules[-1].name
    data = missed_by_hour_of_week(ev, rule)
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X(
                "hour:O",
                title="Hour the chat opened (shop-local time, 0-23)",
                axis=alt.Axis(labelAngle=0, values=list(range(0, 24, 3))),
            ),
            y=alt.Y("weekday:N", sort=WEEKDAYS, title="Weekday (shop-local)"),
            color=alt.Color(
                "missed:Q",
                title="Late or unanswered chats",
                scale=alt.Scale(scheme=SEQUENTIAL_SCHEME),
            ),
            tooltip=[
                alt.Tooltip("weekday:N", title="Weekday"),
                alt.Tooltip("hour:O", title="Hour"),
                alt.Tooltip("late:Q", title="Answered late"),
                alt.Tooltip("unanswered:Q", title="Unanswered"),
                alt.Tooltip("missed:Q", title="Both"),
            ],
        )
        .properties(width=WIDTH, height=200, title=f"When late and unanswered chats open ({rule})")
    )


def _wrapped(label: str, width: int = 14) -> str:
    """An axis label cut into lines of about ``width`` characters, joined by ``|`` (the
    axis splits on it): the bridge's step names are long and its bars narrow."""
    import textwrap

    before, arrow, after = label.partition(" → ")
    lines = textwrap.wrap(before, width) or [before]
    if arrow:
        lines += textwrap.wrap(f"→ {after}", width) or [arrow.strip()]
    return "|".join(lines)


def bridge_chart(steps: pl.DataFrame) -> alt.Chart:
    """The bridge (waterfall) from the old rule to the new one, one bar per field difference
    (:func:`chatsim.explain.bridge_table`): rule bars in their colours, steps up or down.
    Step names wrap onto several lines under their bars, so neighbours never collide."""
    data = bridge_chart_data(steps)
    rules = data.filter(pl.col("direction") == "rule")["label"].unique(maintain_order=True)
    colors = rule_colors(rules.to_list())
    domain = [*colors, "up", "down"]
    rng = [*colors.values(), "#009E73", "#999999"]
    color_key = pl.when(pl.col("direction") == "rule").then(pl.col("label"))
    data = data.with_columns(
        color_key.otherwise(pl.col("direction")).alias("key"),
        pl.col("label")
        .replace_strict({v: _wrapped(v) for v in data["label"].to_list()}, return_dtype=pl.String)
        .alias("axis_label"),
    )
    order = data["axis_label"].to_list()
    x = alt.X(
        "axis_label:N",
        sort=order,
        title="The old rule, each difference applied in turn, the new rule",
        axis=alt.Axis(labelAngle=0, labelLimit=0, labelExpr="split(datum.label, '|')"),
    )
    base = alt.Chart(data).encode(x=x)
    bars = (
        alt.Chart(data)
        .mark_bar(size=46)
        .encode(
            x=x,
            y=alt.Y(
                "lo:Q",
                title="Shops meeting the rule (share of rated shops)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y2="hi:Q",
            color=alt.Color("key:N", scale=alt.Scale(domain=domain, range=rng), legend=None),
            tooltip=[
                alt.Tooltip("label:N", title="Bar"),
                alt.Tooltip("share:Q", title="Share passing after it", format=".1%"),
                alt.Tooltip("text:N", title="Change"),
            ],
        )
    )
    text = base.mark_text(dy=-8, fontWeight="bold").encode(y=alt.Y("hi:Q"), text="text:N")
    return (bars + text).properties(
        width=WIDTH,
        height=280,
        title="From the old rule to the new one, one difference at a time",
    )


def causes_chart(causes: FlipCauses) -> alt.Chart:
    """Why shops lose status: their chats that pass the old rule and miss the new one, by
    when they opened (shop-local) and how late they were answered."""
    data = causes.by_time
    order = data.sort("lateness_order")["lateness"].unique(maintain_order=True).to_list()
    labels = {b: ("never answered" if b == "unanswered" else f"answered {b}") for b in order}
    data = data.with_columns(
        pl.col("lateness").replace_strict(labels, return_dtype=pl.String).alias("how_late")
    )
    times = data["open_time_label"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("open_time_label:N", sort=times, title="When the chat opened (shop-local)"),
            x=alt.X("chats:Q", title="Chats (count)"),
            color=alt.Color(
                "how_late:N",
                sort=[labels[b] for b in order],
                title="Under the new rule",
                scale=alt.Scale(scheme="oranges"),
            ),
            order=alt.Order("lateness_order:Q"),
            tooltip=[
                alt.Tooltip("open_time_label:N", title="Opened"),
                alt.Tooltip("how_late:N", title="Under the new rule"),
                alt.Tooltip("chats:Q", title="Chats"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(
            width=WIDTH - 140,
            height=160,
            title=f"Why shops lose status: chats that pass {causes.old} and miss {causes.new}",
        )
    )


def pass_rate_by_segment(
    pass_df: pl.DataFrame, by: str, rule_order: list[str] | list[Rule]
) -> alt.Chart:
    """Share of shops meeting each rule's target, per segment (e.g. seller type).
    ``rule_order``: the rules (or their names), old rule first; given as rules, the
    tooltips give each rule's median figure in its unit and its target."""
    rules = {r.name: r for r in rule_order if isinstance(r, Rule)}
    names = [r.name if isinstance(r, Rule) else r for r in rule_order]
    codes = pass_df[by].cast(pl.String).fill_null("—").unique().sort().to_list()

    def median_text(rule: str, v: float | None) -> str:
        r = rules.get(rule)
        if v is None:
            return "—"
        return format_hours(v) if r is not None and not figure_is_share(r) else format_share(v)

    texts = [median_text(r, v) for r, v in pass_df.select("rule", "median_rate").iter_rows()]
    target = {n: (target_text(r) + lower_is_better_note(r)) for n, r in rules.items()}
    data = pass_df.with_columns(
        pl.col(by)
        .cast(pl.String)
        .fill_null("—")
        .replace_strict({c: segment_label(c) for c in codes}, return_dtype=pl.String)
        .alias("segment_label"),
        pl.Series("median_text", texts, dtype=pl.String),
        pl.col("rule").replace_strict(target, default="", return_dtype=pl.String).alias("target"),
    )
    noun = label(by, "column")
    tips = [
        alt.Tooltip("segment_label:N", title=noun),
        alt.Tooltip("rule:N", title="Rule"),
        alt.Tooltip("shops_passing:Q", title="Shops passing"),
        alt.Tooltip("shops_rated:Q", title="Shops rated"),
        alt.Tooltip("share_passing:Q", title="Share", format=".1%"),
        alt.Tooltip("median_text:N", title="Median of the rule's figure"),
    ]
    if rules:
        tips.append(alt.Tooltip("target:N", title="Target"))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("segment_label:N", title=noun),
            yOffset=alt.YOffset("rule:N", sort=names),
            x=alt.X(
                "share_passing:Q",
                title="Shops meeting the target (share of rated shops)",
                axis=pct_axis(),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("rule:N", sort=names, title="Rule", scale=rule_scale(names)),
            tooltip=tips,
        )
        .properties(width=WIDTH - 160, title=f"Pass rate by {noun.lower()} under each rule")
    )


def what_if_chart(df: pl.DataFrame) -> alt.Chart:
    """Failing shops rescued (and newly failing) by each one-change variant."""
    effects = {"rescued": "Rescued", "newly_failing": "Newly failing"}
    data = df.unpivot(
        index=["what_if"], on=list(effects), variable_name="effect", value_name="shops"
    ).with_columns(pl.col("effect").replace_strict(effects, return_dtype=pl.String))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("what_if:N", title="What-if variant"),
            yOffset=alt.YOffset("effect:N", sort=list(effects.values())),
            x=alt.X("shops:Q", title="Shops (count)", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "effect:N",
                title="Effect",
                scale=alt.Scale(domain=list(effects.values()), range=["#009E73", "#999999"]),
            ),
            tooltip=[
                alt.Tooltip("what_if:N", title="Variant"),
                alt.Tooltip("effect:N", title="Effect"),
                alt.Tooltip("shops:Q", title="Shops"),
            ],
        )
        .properties(width=WIDTH - 160, title="What-if: failing shops rescued under the new rule")
    )
