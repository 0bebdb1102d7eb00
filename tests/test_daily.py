"""Daily evaluation: compare_daily equals repeated compare(as_of=day end), row for row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chatsim.daily import DAILY_KEY, compare_daily, day_end, day_range
from chatsim.errors import RuleError
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from tests.logbuilder import T0, at, log_of, msgs, random_logs

ZONES = {"s0": "Asia/Jakarta", "s1": "America/New_York"}
WILSON = [f"{m}_rate_{s}" for m in ("response", "satisfaction") for s in ("low", "high")]
RULES = [
    LEGACY_24H,
    NEW_12H,
    NEW_12H.replace(name="short", period_days=2, window_hours=3),
    NEW_12H.replace(name="faq", auto_reply="count_as_answer", period_days=4),
    NEW_12H.replace(name="paused", holiday_mode="pause_clock", period_days=3),
]


def _expected(log, rules, days, zone=None):
    """The reference: one compare per day (and zone), its shops of that zone."""
    frames = []
    for day in days:
        for shop, tz in ZONES.items():
            cutoff = day_end(day, zone or tz)
            s = compare(log, rules, as_of=cutoff).shops.filter(pl.col("shop_id") == shop)
            frames.append(s.with_columns(day=pl.lit(day), as_of=pl.lit(cutoff)))
    order = {r.name: i for i, r in enumerate(rules)}
    out = pl.concat(frames, how="vertical_relaxed")
    out = out.with_columns(_o=pl.col("rule").replace_strict(order, return_dtype=pl.Int32))
    return out.sort("day", "_o", "shop_id").drop("_o")


def _hours(draw, lo=-30.0, hi=330.0):
    return at(draw(st.floats(lo, hi)))


@st.composite
def dated_logs(draw):
    """Random messages plus blocks and holiday mode at random instants."""
    rows = draw(random_logs(grid=draw(st.booleans())))
    blocked = [
        {"shop_id": f"s{c % 2}", "buyer_id": f"b{c % 3}", "blocked_at": _hours(draw)}
        for c in range(draw(st.integers(0, 3)))
    ]
    holiday = []
    for _ in range(draw(st.integers(0, 2))):
        start = _hours(draw)
        holiday.append(
            {
                "shop_id": draw(st.sampled_from(["s0", "s1"])),
                "start": start,
                "end": start + dt.timedelta(hours=draw(st.floats(1, 60))),
            }
        )
    shops = [{"shop_id": s, "timezone": z, "chatbot_enabled": s == "s1"} for s, z in ZONES.items()]
    return log_of(rows, shops=shops, holiday=holiday or None, blocked=blocked or None)


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
@given(dated_logs(), st.sampled_from([None, "UTC", "Asia/Jakarta"]))
def test_daily_equals_repeated_compare(log, zone):
    # the random logs start on T0 (4 Aug) and last up to about 13 days
    days = day_range(T0.date() - dt.timedelta(days=1), T0.date() + dt.timedelta(days=14))
    got = compare_daily(log, RULES, start=days[0], end=days[-1], zone=zone)
    want = _expected(log, RULES, days, zone)
    assert got.height == len(days) * len(RULES) * len(ZONES)
    got = got.drop("in_force", "visible")
    want = want.select(got.columns)
    # the Wilson bounds are float expressions whose last bit polars may round differently
    # with the number of rows evaluated together; every other column is bit-identical
    exact = [c for c in got.columns if c not in WILSON]
    assert got.select(exact).equals(want.select(exact))
    for c in WILSON:
        a, b = got[c], want[c]
        assert a.is_null().equals(b.is_null())
        assert ((a - b).abs().fill_null(0) <= 1e-12).all(), c


def test_columns_lead_with_the_daily_key():
    log = log_of(msgs(("c", at(0), "buyer")), shops=[{"shop_id": "s1", "timezone": "UTC"}])
    d = compare_daily(log, [NEW_12H], start="2025-08-04", end="2025-08-04")
    assert tuple(d.columns[: len(DAILY_KEY)]) == DAILY_KEY
    assert d["as_of"].to_list() == [dt.datetime(2025, 8, 4, 23, 59, 59, 999999, tzinfo=dt.UTC)]


def test_a_shop_crosses_the_target_on_known_days():
    # window 12 h, target 75 %, trailing 2 days; UTC shop
    rule = Rule(
        name="r", window_hours=12, target=0.75, period_days=2, effective_from=dt.date(2025, 8, 6)
    )
    d4, d5, d6 = (dt.datetime(2025, 8, d, tzinfo=dt.UTC) for d in (4, 5, 6))
    rows = msgs(
        ("a", d4 + dt.timedelta(hours=9), "buyer"),  # answered in 30 min
        ("a", d4 + dt.timedelta(hours=9.5), "seller"),
        ("b", d5 + dt.timedelta(hours=9), "buyer"),  # never answered: due 5 Aug 21:00
        ("c", d6 + dt.timedelta(hours=20), "buyer"),  # answered 7 Aug 07:00: pending on 6 Aug
        ("c", d6 + dt.timedelta(hours=31), "seller"),
    )
    log = log_of(rows, shops=[{"shop_id": "s1", "timezone": "UTC"}])
    d = compare_daily(log, [rule], start="2025-08-04", end="2025-08-07")
    cols = ["chats", "counted", "answered_in_time", "pending", "response_rate", "meets_target"]
    assert d.select(*cols, "in_force").rows() == [
        (1, 1, 1, 0, 1.0, True, False),  # 4 Aug: a in time
        (2, 2, 1, 0, 0.5, False, False),  # 5 Aug: b unanswered, below target
        (3, 1, 0, 1, 0.0, False, True),  # 6 Aug: a leaves the period, c pending
        (3, 1, 1, 0, 1.0, True, True),  # 7 Aug: b leaves, c answered in time: back above
    ]


def test_builtin_rules_in_force_through_the_rollout():
    log = log_of(msgs(("c", at(0), "buyer")), shops=[{"shop_id": "s1", "timezone": "UTC"}])
    d = compare_daily(log, start="2025-07-14", end="2025-08-15", zone="UTC")
    flags = {
        (r["rule"], r["day"].isoformat()): (r["in_force"], r["visible"])
        for r in d.iter_rows(named=True)
    }
    assert flags["legacy-24h", "2025-07-14"] == (True, True)
    assert flags["new-12h", "2025-07-14"] == (False, False)
    assert flags["new-12h", "2025-07-15"] == (False, True)  # shown, no consequence
    assert flags["legacy-24h", "2025-08-14"] == (True, True)
    assert flags["new-12h", "2025-08-14"] == (False, True)
    assert flags["legacy-24h", "2025-08-15"] == (False, False)
    assert flags["new-12h", "2025-08-15"] == (True, True)


def test_day_end_is_the_last_microsecond_of_the_local_day():
    # New York is UTC-4 in August; a message at local midnight belongs to the next day
    end = day_end(dt.date(2025, 8, 4), "America/New_York")
    assert end == dt.datetime(2025, 8, 5, 3, 59, 59, 999999, tzinfo=dt.UTC)
    # the autumn DST change: 2 Nov 2025 has 25 hours in New York
    assert day_end(dt.date(2025, 11, 2), "America/New_York") - day_end(
        dt.date(2025, 11, 1), "America/New_York"
    ) == dt.timedelta(hours=25)


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        ("2025-08-10", "2025-08-01", "before the start"),
        ("2025-08-32", "2025-09-01", "not a date"),
        ("2020-01-01", "2025-01-01", "split the range"),
    ],
)
def test_bad_ranges_are_named(start, end, match):
    with pytest.raises(RuleError, match=match):
        day_range(start, end)


def test_unknown_zone_is_named():
    log = log_of(msgs(("c", at(0), "buyer")), shops=[{"shop_id": "s1", "timezone": "UTC"}])
    with pytest.raises(RuleError, match="not a known time zone"):
        compare_daily(log, start="2025-08-04", end="2025-08-04", zone="Mars/Olympus")
