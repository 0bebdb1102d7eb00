"""Why shops flip: the chats that pass the old rule and miss the new one, and when they open.

For the shops that lose status (:func:`chatsim.analysis.flips`), :func:`flip_causes` takes
their counted chats answered in time under the old rule and late or unanswered under the
new one (the two rules' chat tables joined on shop, conversation and opening time) and
classifies each:

* **when it opened**, in shop-local time (one class per chat, first that applies): on a
  public holiday of the shop's country (the ``holidays`` package and the shops table's
  ``country`` column; skipped, and said, without one), on a weekend (Saturday, Sunday),
  at night (22:00-07:00 by default, ``night``), else on a working day in daytime;
* **how late** it was answered under the new rule: between the new and the old window
  (12-24 h for the built-in pair), up to twice the old window (24-48 h), later, or never.

A lost shop whose such chats are *mostly* (more than half) off hours (night, weekend,
public holiday) is counted; :attr:`FlipCauses.reading` says it in one line.
:func:`missed_by_hour_of_week` counts every late and every unanswered chat of a rule by
the shop-local weekday and hour it opened (168 cells, for the heatmap), and
:func:`hour_of_week_caption` describes what those counts show.

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> ev = compare(sample_log())
    >>> flip_causes(ev).reading
    'No shop loses status under new-12h, so no chat explains a loss.'
    >>> missed_by_hour_of_week(ev).select("late", "unanswered").sum().row(0)
    (9, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from chatsim.analysis import flips
from chatsim.errors import RuleError
from chatsim.explain.labels import (
    OPEN_TIME_LABELS,
    WEEKDAYS,
    format_count,
    format_hours,
    format_share,
)
from chatsim.metrics import Evaluation, local_time

__all__ = [
    "NIGHT",
    "OFF_HOURS",
    "FlipCauses",
    "flip_causes",
    "hour_of_week_caption",
    "lateness_bands",
    "missed_by_hour_of_week",
    "with_open_time",
]

#: Night in shop-local time: from 22:00 to 07:00 (start hour, end hour).
NIGHT: tuple[int, int] = (22, 7)
#: The open-time classes that count as off hours.
OFF_HOURS: tuple[str, ...] = ("holiday", "weekend", "night")
_MISSED = ("answered_late", "unanswered")


def _clock(hour: int) -> str:
    return f"{hour % 24:02d}:00"


def _is_night(hour: pl.Expr, night: tuple[int, int]) -> pl.Expr:
    start, end = night
    if start > end:
        return (hour >= start) | (hour < end)
    return (hour >= start) & (hour < end)


def _holidays(countries: Sequence[str], years: Sequence[int]) -> tuple[pl.DataFrame, list[str]]:
    """Public holidays as (country, date) rows, and the countries the package does not know."""
    import holidays

    rows, unknown = [], []
    for c in countries:
        try:
            days = holidays.country_holidays(c, years=list(years))
        except (NotImplementedError, KeyError):
            unknown.append(c)
            continue
        rows += [(c, d) for d in days]
    frame = pl.DataFrame(rows, schema={"country": pl.String, "_date": pl.Date}, orient="row")
    return frame, unknown


def with_open_time(
    chats: pl.DataFrame, shops: pl.DataFrame, night: tuple[int, int] = NIGHT
) -> tuple[pl.DataFrame, str]:
    """Chats with their shop-local opening time (``local_open``) and its class
    (``open_time``: ``holiday``, ``weekend``, ``night`` or ``daytime``), and a note on the
    public holidays (which countries were checked, or why none).

    ``shops`` gives each shop's ``timezone`` (and ``country``, if known).

    Example:
        >>> import datetime as dt
        >>> t = dt.datetime(2025, 9, 2, 3, tzinfo=dt.UTC)  # 10:00 in Ho Chi Minh City
        >>> chats = pl.DataFrame({"shop_id": ["a"], "open_at": [t]})
        >>> shops = pl.DataFrame({"shop_id": ["a"], "timezone": ["Asia/Ho_Chi_Minh"],
        ...     "country": ["VN"]})
        >>> out, note = with_open_time(chats, shops)
        >>> out["open_time"].to_list(), note
        (['holiday'], 'Public holidays checked for VN.')
    """
    cols = ["shop_id", "timezone"] + (["country"] if "country" in shops.columns else [])
    attrs = shops.select(cols).unique("shop_id")
    zones = sorted(attrs["timezone"].drop_nulls().unique().to_list())
    out = chats.join(attrs, on="shop_id", how="left")
    if not zones or out.height == 0:
        local = pl.lit(None, dtype=pl.Datetime("us"))
    else:
        local = local_time(pl.col("open_at"), zones)
    out = out.with_columns(local.alias("local_open"))
    holiday = pl.lit(False)
    if "country" not in shops.columns:
        note = "Public holidays not checked: the shops table has no country column."
    else:
        countries = sorted(out["country"].drop_nulls().unique().to_list())
        years = sorted(out["local_open"].dt.year().drop_nulls().unique().to_list())
        days, unknown = _holidays(countries, years)
        known = [c for c in countries if c not in unknown]
        note = (
            f"Public holidays checked for {', '.join(known)}."
            if known
            else "Public holidays not checked: no shop's country is known to the holidays package."
        )
        if known and unknown:
            note = note[:-1] + f"; not for {', '.join(unknown)} (unknown to the holidays package)."
        out = out.with_columns(pl.col("local_open").dt.date().alias("_date")).join(
            days.with_columns(pl.lit(True).alias("_holiday")), on=["country", "_date"], how="left"
        )
        holiday = pl.col("_holiday").fill_null(False)
    hour = pl.col("local_open").dt.hour()
    cls = (
        pl.when(holiday)
        .then(pl.lit("holiday"))
        .when(pl.col("local_open").dt.weekday() >= 6)
        .then(pl.lit("weekend"))
        .when(_is_night(hour, night))
        .then(pl.lit("night"))
        .otherwise(pl.lit("daytime"))
    )
    out = out.with_columns(cls.alias("open_time")).drop("_date", "_holiday", strict=False)
    return out, note


def lateness_bands(new_window: float, old_window: float) -> list[tuple[float, str]]:
    """Bands of response time past the new window: ``(upper bound in hours, label)``; the
    last band has no bound (``inf``). Built from the windows: the new window to the old,
    the old to twice the old, later (with a first band under the new window, for chats a
    later deadline passed, e.g. the chatbot-weekend one).

    Example:
        >>> [b for _, b in lateness_bands(12, 24)]
        ['under 12 h', '12–24 h', '24–48 h', 'over 48 h']
    """
    lo = float(new_window)
    mid = float(old_window) if old_window > new_window else 2 * lo
    hi = 2 * mid
    h = format_hours
    return [
        (lo, f"under {h(lo)}"),
        (mid, f"{h(lo)[:-2]}–{h(mid)}"),
        (hi, f"{h(mid)[:-2]}–{h(hi)}"),
        (float("inf"), f"over {h(hi)}"),
    ]


@dataclass(frozen=True)
class FlipCauses:
    """Why shops lose status under the new rule (see :func:`flip_causes`).

    ``by_time``: chats by ``open_time`` (code), ``open_time_label``, ``lateness`` (a band
    label or ``unanswered``), ``lateness_order``, ``chats`` and ``share`` (of all such
    chats); every class and band present. ``shops``: one row per lost shop (with its
    segment columns) with ``chats``, ``off_hours_chats``, ``off_hours_share`` and
    ``mostly_off_hours``.
    """

    old: str
    new: str
    lost_shops: int
    shops_with_chats: int
    mostly_off_hours: int
    chats: int
    holidays_checked: bool
    note: str
    by_time: pl.DataFrame
    shops: pl.DataFrame
    reading: str

    @property
    def share_mostly_off_hours(self) -> float | None:
        """Share of the lost shops with such chats whose chats are mostly off hours."""
        return self.mostly_off_hours / self.shops_with_chats if self.shops_with_chats else None

    @property
    def off_hours_phrase(self) -> str:
        """``"at night or on weekends"`` (``"..., or on public holidays"`` when checked)."""
        if self.holidays_checked:
            return "at night, on weekends or on public holidays"
        return "at night or on weekends"


def flip_causes(
    ev: Evaluation,
    old: str | None = None,
    new: str | None = None,
    *,
    night: tuple[int, int] = NIGHT,
) -> FlipCauses:
    """The chats that make shops lose status, classified (see the module text).

    Needs the chat tables: evaluate with ``compare(log, rules)`` (not ``chats=False``).
    """
    old = old or ev.rules[0].name
    new = new or ev.rules[-1].name
    if ev.chats.height == 0 and ev.shops["chats"].sum() > 0:
        raise RuleError(
            "flip_causes() reads the chat tables, and this evaluation has none: evaluate "
            "with compare(log, rules) rather than compare(..., chats=False)."
        )
    f = flips(ev, old, new)
    seg = [c for c in f.columns if c not in ("shop_id",) and f.schema[c] == pl.String]
    seg = [c for c in seg if c not in ("old_rule", "new_rule")]
    lost = f.filter(pl.col("flip") == "loses_under_new").select("shop_id", *seg)
    keys = ["shop_id", "conversation_id", "open_at"]
    in_lost = pl.col("shop_id").is_in(lost["shop_id"].implode())
    passed = ev.chats.filter(
        (pl.col("rule") == old) & (pl.col("status") == "answered_in_time") & in_lost
    ).select(keys)
    missed = ev.chats.filter(
        (pl.col("rule") == new) & pl.col("status").is_in(list(_MISSED)) & in_lost
    ).select(*keys, "answer_at", "status")
    chats = missed.join(passed, on=keys, how="inner")
    shop_attrs = ev.shops.filter(pl.col("rule") == new)
    chats, note = with_open_time(chats, shop_attrs, night)
    holidays_checked = note.startswith("Public holidays checked")

    bands = lateness_bands(ev.rule(new).window_hours, ev.rule(old).window_hours)
    hours = (pl.col("answer_at") - pl.col("open_at")).dt.total_microseconds() / 3.6e9
    band = pl.lit("unanswered")
    for bound, name in reversed(bands):
        band = (
            pl.when(pl.col("answer_at").is_not_null() & (hours < bound))
            .then(pl.lit(name))
            .otherwise(band)
        )
    chats = chats.with_columns(band.alias("lateness"))
    order = {name: i for i, (_, name) in enumerate(bands)} | {"unanswered": len(bands)}
    grid = pl.DataFrame({"open_time": list(OPEN_TIME_LABELS)}).join(
        pl.DataFrame({"lateness": list(order)}), how="cross"
    )
    if not holidays_checked:
        grid = grid.filter(pl.col("open_time") != "holiday")
    counts = chats.group_by("open_time", "lateness").agg(pl.len().alias("chats"))
    by_time = (
        grid.join(counts, on=["open_time", "lateness"], how="left")
        .with_columns(pl.col("chats").fill_null(0).cast(pl.Int64))
        .with_columns(
            pl.col("open_time")
            .replace_strict(OPEN_TIME_LABELS, return_dtype=pl.String)
            .alias("open_time_label"),
            pl.col("lateness").replace_strict(order, return_dtype=pl.Int32).alias("lateness_order"),
            (pl.col("chats") / max(chats.height, 1)).alias("share"),
        )
    )
    # the first band (answered within the new window) is shown only when it holds chats
    first = bands[0][1]
    if by_time.filter(pl.col("lateness") == first)["chats"].sum() == 0:
        by_time = by_time.filter(pl.col("lateness") != first)
    class_order = {c: i for i, c in enumerate(OPEN_TIME_LABELS)}
    by_time = by_time.sort(
        pl.col("open_time").replace_strict(class_order, return_dtype=pl.Int32), "lateness_order"
    ).select("open_time", "open_time_label", "lateness", "lateness_order", "chats", "share")

    off = pl.col("open_time").is_in(list(OFF_HOURS))
    per_shop = chats.group_by("shop_id").agg(
        pl.len().alias("chats"), off.sum().cast(pl.Int64).alias("off_hours_chats")
    )
    shops = (
        lost.join(per_shop, on="shop_id", how="left")
        .with_columns(pl.col("chats", "off_hours_chats").fill_null(0).cast(pl.Int64))
        .with_columns(
            pl.when(pl.col("chats") > 0)
            .then(pl.col("off_hours_chats") / pl.col("chats"))
            .alias("off_hours_share")
        )
        .with_columns((pl.col("off_hours_share") > 0.5).fill_null(False).alias("mostly_off_hours"))
        .sort("shop_id")
    )
    causes = FlipCauses(
        old=old,
        new=new,
        lost_shops=lost.height,
        shops_with_chats=int((shops["chats"] > 0).sum()),
        mostly_off_hours=int(shops["mostly_off_hours"].sum()),
        chats=chats.height,
        holidays_checked=holidays_checked,
        note=note,
        by_time=by_time,
        shops=shops,
        reading="",
    )
    return _with_reading(causes)


def _with_reading(c: FlipCauses) -> FlipCauses:
    """The one-line reading of the causes chart, from its figures."""
    if c.lost_shops == 0:
        text = f"No shop loses status under {c.new}, so no chat explains a loss."
    elif c.chats == 0:
        text = (
            f"The {format_count(c.lost_shops)} shops that lose status have no chat that passes "
            f"{c.old} and misses {c.new}: the loss comes from the target or from which chats "
            "count, not from late answers."
        )
    else:
        t = c.by_time
        off = t.filter(pl.col("open_time").is_in(list(OFF_HOURS)))["chats"].sum() / c.chats
        late = t.group_by("lateness", "lateness_order").agg(pl.col("chats").sum())
        top = late.sort(["chats", "lateness_order"], descending=[True, False]).row(0, named=True)
        when = (
            "were never answered"
            if top["lateness"] == "unanswered"
            else f"were answered {top['lateness']} after opening"
        )
        text = (
            f"Of the {format_count(c.chats)} chats that pass {c.old} but miss {c.new} in the "
            f"{format_count(c.lost_shops)} shops that lose status, {format_share(off)} opened "
            f"{c.off_hours_phrase}; {format_share(top['chats'] / c.chats)} {when}."
        )
    return FlipCauses(**{**c.__dict__, "reading": text})


def missed_by_hour_of_week(
    ev: Evaluation, rule: str | None = None, *, shops: Sequence[str] | None = None
) -> pl.DataFrame:
    """Late and unanswered chats of ``rule`` (default: the last) by the shop-local weekday
    and hour they opened: all 168 cells, Monday first; ``shops`` limits to those shops.

    Columns: ``weekday_no`` (1 = Monday), ``weekday`` (``Mon``...), ``hour``, ``late``,
    ``unanswered`` and ``missed`` (both).
    """
    rule = rule or ev.rules[-1].name
    ev.rule(rule)
    c = ev.chats.filter((pl.col("rule") == rule) & pl.col("status").is_in(list(_MISSED)))
    if shops is not None:
        c = c.filter(pl.col("shop_id").is_in(list(shops)))
    c, _ = with_open_time(
        c.select("shop_id", "open_at", "status"),
        ev.shops.filter(pl.col("rule") == rule).select("shop_id", "timezone"),
    )
    counts = c.group_by(
        pl.col("local_open").dt.weekday().cast(pl.Int8).alias("weekday_no"),
        pl.col("local_open").dt.hour().cast(pl.Int8).alias("hour"),
    ).agg(
        (pl.col("status") == "answered_late").sum().cast(pl.Int64).alias("late"),
        (pl.col("status") == "unanswered").sum().cast(pl.Int64).alias("unanswered"),
    )
    grid = pl.DataFrame({"weekday_no": list(range(1, 8))}, schema={"weekday_no": pl.Int8}).join(
        pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8}), how="cross"
    )
    return (
        grid.join(counts, on=["weekday_no", "hour"], how="left")
        .with_columns(pl.col("late", "unanswered").fill_null(0))
        .with_columns(
            pl.col("weekday_no")
            .replace_strict(dict(enumerate(WEEKDAYS, 1)), return_dtype=pl.String)
            .alias("weekday"),
            (pl.col("late") + pl.col("unanswered")).alias("missed"),
        )
        .sort("weekday_no", "hour")
        .select("weekday_no", "weekday", "hour", "late", "unanswered", "missed")
    )


def hour_of_week_caption(frame: pl.DataFrame, rule: str, *, night: tuple[int, int] = NIGHT) -> str:
    """A caption describing what a :func:`missed_by_hour_of_week` table shows: how many
    chats, the busiest day and hour, and the shares on weekends and at night.

    Example:
        >>> f = pl.DataFrame({"weekday_no": [6, 1], "weekday": ["Sat", "Mon"], "hour": [23, 10],
        ...     "late": [3, 1], "unanswered": [1, 0], "missed": [4, 1]})
        >>> print(hour_of_week_caption(f, "new-12h"))  # doctest: +NORMALIZE_WHITESPACE
        Under new-12h, 5 chats were answered late or not at all (4 late, 1 unanswered). The
        busiest hour is Sat 23:00–00:00 (4 chats); 80.0 % opened on weekends and 80.0 % at
        night (22:00–07:00), shop-local time.
    """
    total = int(frame["missed"].sum())
    if total == 0:
        return f"Under {rule}, no chat was answered late or left unanswered."
    late, unanswered = int(frame["late"].sum()), int(frame["unanswered"].sum())
    top = frame.sort(["missed", "weekday_no", "hour"], descending=[True, False, False]).row(
        0, named=True
    )
    weekend = frame.filter(pl.col("weekday_no") >= 6)["missed"].sum() / total
    at_night = frame.filter(_is_night(pl.col("hour"), night))["missed"].sum() / total
    by_day = frame.group_by("weekday_no", "weekday").agg(pl.col("missed").sum())
    day = by_day.sort(["missed", "weekday_no"], descending=[True, False]).row(0, named=True)
    day_part = ""
    if day["weekday"] != top["weekday"]:
        day_part = f" The busiest day is {day['weekday']} ({format_share(day['missed'] / total)})."
    peak = f"{format_count(top['missed'])} chat{'' if top['missed'] == 1 else 's'}"
    return (
        f"Under {rule}, {format_count(total)} {'chat was' if total == 1 else 'chats were'} "
        f"answered late or not at all ({format_count(late)} late, {format_count(unanswered)} "
        f"unanswered). The busiest hour is {top['weekday']} {_clock(top['hour'])}–"
        f"{_clock(top['hour'] + 1)} ({peak}); {format_share(weekend)} opened on weekends and "
        f"{format_share(at_night)} at night ({_clock(night[0])}–{_clock(night[1])}), "
        f"shop-local time.{day_part}"
    )
