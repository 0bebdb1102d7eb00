"""How well the simulated twin reproduces the log: side-by-side tables and fit figures.

:func:`calibration_tables` evaluates the built-in rules (or given ones) on the log and on
a simulation of the fitted scenario (the twin, simulated with another seed) and returns
a :class:`Calibration`:

* ``pass_shares``: share of shops meeting each rule, per segment and overall, observed
  and simulated, the difference in points and, with several runs, ``noise_points``: the
  standard deviation one run's share has around the twin's mean (from each simulated
  shop's pass frequency, ``sqrt(sum p(1 - p)) / shops``): a difference within about two
  of these is what chance alone gives, even for a perfect fit;
* ``arrivals``: share of buyer chats per shop-local hour of week (0 = Monday 00:00),
  overall and per segment;
* ``rate_bins``: shops per response-rate bin (5 points wide) and rule;
* ``response_times``: answered chats per response-time bin (hours) and rule;
* ``figures``: the goodness-of-fit figures with their goals (:data:`GOALS`): pass-share
  difference overall (3 points) and per segment (5 points), hour-of-week correlation
  (above 0.95), Kolmogorov-Smirnov distance of shop response rates (below 0.1), and the
  KS distance of response times (shown, no goal).

Example:
    >>> ks_distance(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.2, 0.3]))
    0.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from chatsim.engine.clock import local_time
from chatsim.fit.fitting import Fit, fit_log
from chatsim.metrics import Evaluation, compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from chatsim.schema import ChatLog, read_log

__all__ = ["ALL", "GOALS", "RESPONSE_BINS_H", "Calibration", "calibration_tables", "ks_distance"]

#: The goals a fit should meet: figure -> (comparison, bound).
GOALS: dict[str, tuple[str, float]] = {
    "pass share difference, all shops (points)": ("<=", 3.0),
    "pass share difference, segment (points)": ("<=", 5.0),
    "hour-of-week arrival correlation": (">", 0.95),
    "shop response-rate KS distance": ("<", 0.1),
}
#: The segment label of the whole log.
ALL = "all shops"
#: Response-time bins (hours, lower edges; the last is open).
RESPONSE_BINS_H = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 36.0, 48.0, 72.0, 168.0)
_SOURCES = pl.Enum(["observed", "simulated"])


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance: the largest gap between the two ECDFs."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    if a.size == 0 or b.size == 0:
        return float("nan")
    x = np.concatenate([a, b])
    fa = np.searchsorted(a, x, side="right") / a.size
    fb = np.searchsorted(b, x, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


@dataclass(frozen=True)
class Calibration:
    """Observed vs simulated, side by side (see the module docstring)."""

    pass_shares: pl.DataFrame
    arrivals: pl.DataFrame
    rate_bins: pl.DataFrame
    response_times: pl.DataFrame
    figures: pl.DataFrame
    parameters: pl.DataFrame
    warnings: tuple[str, ...]

    def goals_met(self) -> bool:
        """Whether every figure with a goal meets it."""
        f = self.figures.filter(pl.col("goal").is_not_null())
        return bool(f["ok"].all())


def calibration_tables(
    log: ChatLog | str | Path,
    fitted: Fit | None = None,
    *,
    twin: ChatLog | Sequence[ChatLog] | None = None,
    seed: int | None = None,
    replications: int = 1,
    rules: Sequence[Rule] = (LEGACY_24H, NEW_12H),
    by: str | None = None,
    per_shop: bool = False,
    observed: Evaluation | None = None,
) -> Calibration:
    """Compare a log with its fitted twin (fitted here with ``by``/``per_shop`` unless
    ``fitted`` is given; simulated ``replications`` times with seeds ``seed``, ``seed +
    1``, ... (default: the scenario's seed + 1) unless ``twin`` gives the simulated logs).

    With several replications the twin's figures are those of all its runs together (the
    mean pass share, the pooled rate and response-time distributions): the twin's
    expected behaviour, without one run's luck. ``observed`` is the log's evaluation under
    ``rules`` when it is at hand (a report run's), so it is not computed again.

    Example:
        >>> cal = calibration_tables("data/real_log", by="country")  # doctest: +SKIP
        >>> cal.figures  # doctest: +SKIP
    """
    if not isinstance(log, ChatLog):
        log = read_log(log)
    if fitted is None:
        fitted = fit_log(log, by=by, per_shop=per_shop)
    if twin is None:
        from chatsim.simulate import simulate

        sc = fitted.scenario
        first = sc.seed + 1 if seed is None else seed
        twins = [simulate(dataclasses.replace(sc, seed=first + k)) for k in range(replications)]
    else:
        twins = [twin] if isinstance(twin, ChatLog) else list(twin)
    obs_seg = fitted.shops.select("shop_id", "segment")
    sim_seg = fitted.twin_segments()
    ev_o = observed if observed is not None else compare(log, list(rules))
    ev_s = _pooled([compare(t, list(rules)) for t in twins])
    shares = _pass_shares(ev_o, obs_seg, ev_s, sim_seg)
    arrivals = _arrivals(ev_o, log, obs_seg, ev_s, twins[0], sim_seg)
    rate_bins, ks_rates = _rates(ev_o, ev_s)
    times, ks_times = _response_times(ev_o, ev_s)
    figures = _figures(shares, arrivals, ks_rates, ks_times)
    return Calibration(
        shares, arrivals, rate_bins, times, figures, fitted.provenance(), fitted.warnings
    )


def _pooled(evs: list[Evaluation]) -> Evaluation:
    """Several runs' evaluations as one (their shop and chat tables stacked)."""
    if len(evs) == 1:
        return evs[0]
    return dataclasses.replace(
        evs[0],
        shops=pl.concat([e.shops for e in evs]),
        chats=pl.concat([e.chats for e in evs]),
    )


def _with_segment(ev: Evaluation, seg: pl.DataFrame) -> pl.DataFrame:
    s = ev.shops.select("rule", pl.col("shop_id").cast(pl.String), "response_rate", "meets_target")
    return s.join(seg, on="shop_id", how="left").with_columns(
        pl.col("segment").fill_null("(unknown)")
    )


def _pass_shares(
    ev_o: Evaluation, seg_o: pl.DataFrame, ev_s: Evaluation, seg_s: pl.DataFrame
) -> pl.DataFrame:
    def shares(ev: Evaluation, seg: pl.DataFrame) -> pl.DataFrame:
        s = _with_segment(ev, seg).filter(pl.col("response_rate").is_not_null())
        # each simulated shop's pass frequency over the runs: the noise of one run's share
        p = s.group_by("rule", "segment", "shop_id").agg(
            runs=pl.len(), p=pl.col("meets_target").cast(pl.Float64).mean()
        )
        noise = (pl.col("p") * (1 - pl.col("p"))).sum().sqrt() / pl.len() * 100
        per_n = p.group_by("rule", "segment").agg(noise=noise, runs=pl.col("runs").max())
        all_n = p.group_by("rule").agg(noise=noise, runs=pl.col("runs").max())
        per = s.group_by("rule", "segment").agg(shops=pl.len(), share=pl.col("meets_target").mean())
        every = s.group_by("rule").agg(shops=pl.len(), share=pl.col("meets_target").mean())
        per = per.join(per_n, on=["rule", "segment"])
        every = every.join(all_n, on="rule").with_columns(segment=pl.lit(ALL))
        return pl.concat([per, every.select(per.columns)])

    o, s = shares(ev_o, seg_o), shares(ev_s, seg_s)
    j = o.join(s, on=["rule", "segment"], how="full", coalesce=True, suffix="_simulated")
    return j.select(
        "rule",
        "segment",
        shops_observed=pl.col("shops").fill_null(0),
        observed=pl.col("share"),
        shops_simulated=(pl.col("shops_simulated") // pl.col("runs_simulated")).fill_null(0),
        simulated=pl.col("share_simulated"),
        difference_points=((pl.col("share_simulated") - pl.col("share")) * 100).round(2),
        noise_points=pl.when(pl.col("runs_simulated") > 1).then(pl.col("noise_simulated").round(2)),
    ).sort("rule", pl.col("segment") == ALL, "segment", descending=[False, True, False])


def _hour_of_week(ev: Evaluation, log: ChatLog, seg: pl.DataFrame) -> pl.DataFrame:
    first = ev.rules[0].name
    c = ev.chats.filter((pl.col("rule") == first) & ~pl.col("seller_initiated")).select(
        pl.col("shop_id").cast(pl.String), "open_at"
    )
    tz = log.shops.select(pl.col("shop_id").cast(pl.String), "timezone")
    c = c.join(tz, on="shop_id", how="left").with_columns(pl.col("timezone").fill_null("UTC"))
    zones = c["timezone"].unique().sort().to_list()
    loc = c.select("shop_id", local_time(pl.col("open_at"), zones).alias("t")).join(
        seg, on="shop_id", how="left"
    )
    # weekday() and hour() are Int8: widen before the arithmetic (Saturday 08:00 is hour 128)
    how = (
        (pl.col("t").dt.weekday().cast(pl.Int32) - 1) * 24 + pl.col("t").dt.hour().cast(pl.Int32)
    ).alias("how")
    per = loc.group_by(pl.col("segment").fill_null("(unknown)"), how).agg(chats=pl.len())
    every = per.group_by("how").agg(pl.col("chats").sum()).with_columns(segment=pl.lit(ALL))
    return pl.concat([per, every.select(per.columns)])


def _arrivals(
    ev_o: Evaluation,
    log: ChatLog,
    seg_o: pl.DataFrame,
    ev_s: Evaluation,
    twin: ChatLog,
    seg_s: pl.DataFrame,
) -> pl.DataFrame:
    o, s = _hour_of_week(ev_o, log, seg_o), _hour_of_week(ev_s, twin, seg_s)
    segs = pl.concat([o.select("segment"), s.select("segment")]).unique()
    grid = segs.join(pl.DataFrame({"how": np.arange(168, dtype=np.int32)}), how="cross")
    j = grid.join(o, on=["segment", "how"], how="left").join(
        s, on=["segment", "how"], how="left", suffix="_sim"
    )
    j = j.with_columns(pl.col("chats", "chats_sim").fill_null(0))
    return j.select(
        "segment",
        "how",
        observed=pl.col("chats") / pl.col("chats").sum().over("segment"),
        simulated=pl.col("chats_sim") / pl.col("chats_sim").sum().over("segment"),
    ).sort("segment", "how")


def _rates(ev_o: Evaluation, ev_s: Evaluation) -> tuple[pl.DataFrame, dict[str, float]]:
    frames, ks = [], {}
    for r in ev_o.rules:  # a loop over rules
        a = ev_o.shops.filter((pl.col("rule") == r.name) & pl.col("response_rate").is_not_null())[
            "response_rate"
        ]
        b = ev_s.shops.filter((pl.col("rule") == r.name) & pl.col("response_rate").is_not_null())[
            "response_rate"
        ]
        ks[r.name] = ks_distance(a.to_numpy(), b.to_numpy())
        for src, x in (("observed", a), ("simulated", b)):
            bins = (x * 20).floor().clip(0, 19).cast(pl.Int32)
            h = (
                bins.value_counts().rename({x.name: "bin"})
                if x.len()
                else pl.DataFrame(schema={"bin": pl.Int32, "count": pl.UInt32})
            )
            frames.append(
                h.select(
                    rule=pl.lit(r.name),
                    source=pl.lit(src),
                    bin=pl.col("bin"),
                    shops=pl.col("count"),
                    share=pl.col("count") / max(x.len(), 1),
                )
            )
    grid = pl.DataFrame({"bin": np.arange(20, dtype=np.int32)})
    keys = pl.DataFrame(
        {
            "rule": [r.name for r in ev_o.rules for _ in range(2)],
            "source": ["observed", "simulated"] * len(ev_o.rules),
        }
    )
    out = keys.join(grid, how="cross").join(
        pl.concat(frames), on=["rule", "source", "bin"], how="left"
    )
    out = out.with_columns(
        pl.col("shops").fill_null(0).cast(pl.Int64), pl.col("share").fill_null(0.0)
    )
    return out.select(
        "rule",
        pl.col("source").cast(_SOURCES),
        rate_from=pl.col("bin") / 20,
        rate_to=(pl.col("bin") + 1) / 20,
        shops="shops",
        share="share",
    ).sort("rule", "source", "rate_from"), ks


def _response_times(ev_o: Evaluation, ev_s: Evaluation) -> tuple[pl.DataFrame, dict[str, float]]:
    edges = np.array(RESPONSE_BINS_H)
    frames, ks = [], {}
    for r in ev_o.rules:  # a loop over rules
        got = {}
        for src, ev in (("observed", ev_o), ("simulated", ev_s)):
            h = (
                ev.chats.filter(
                    (pl.col("rule") == r.name)
                    & pl.col("status").is_in(["answered_in_time", "answered_late"])
                )["response_s"].to_numpy()
                / 3600.0
            )
            got[src] = h
            idx = np.searchsorted(edges, h, side="right") - 1
            counts = np.bincount(idx, minlength=edges.size)[: edges.size]
            frames.append(pl.DataFrame({
                "rule": r.name, "source": src, "hours_from": edges, "hours_to": np.append(edges[1:], np.inf),
                "chats": counts.astype(np.int64), "share": counts / max(h.size, 1),
            }))  # fmt: skip
        ks[r.name] = ks_distance(got["observed"], got["simulated"])
    return pl.concat(frames).with_columns(pl.col("source").cast(_SOURCES)), ks


def _figures(
    shares: pl.DataFrame,
    arrivals: pl.DataFrame,
    ks_rates: dict[str, float],
    ks_times: dict[str, float],
) -> pl.DataFrame:
    rows = []
    for rule, seg, diff in shares.select("rule", "segment", "difference_points").iter_rows():
        name = "pass share difference, " + ("all shops" if seg == ALL else "segment") + " (points)"
        rows.append((name, rule, seg, None if diff is None else abs(diff)))
    corr = arrivals.group_by("segment").agg(r=pl.corr("observed", "simulated")).sort("segment")
    for seg, r in corr.iter_rows():
        rows.append(("hour-of-week arrival correlation", None, seg, r))
    for rule, v in ks_rates.items():
        rows.append(("shop response-rate KS distance", rule, ALL, v))
    for rule, v in ks_times.items():
        rows.append(("response-time KS distance", rule, ALL, v))
    f = pl.DataFrame(
        rows,
        schema={"figure": pl.String, "rule": pl.String, "segment": pl.String, "value": pl.Float64},
        orient="row",
    )
    goal = pl.DataFrame(
        [(k, op, b) for k, (op, b) in GOALS.items()],
        schema={"figure": pl.String, "op": pl.String, "goal": pl.Float64},
        orient="row",
    )
    f = f.join(goal, on="figure", how="left", maintain_order="left")
    v, g = pl.col("value"), pl.col("goal")
    ok = (
        pl.when(g.is_null()).then(None)
        .when(pl.col("op") == "<=").then(v <= g)
        .when(pl.col("op") == ">").then(v > g)
        .otherwise(v < g)
    )  # fmt: skip
    return f.with_columns(ok=ok).select("figure", "rule", "segment", "value", "op", "goal", "ok")
