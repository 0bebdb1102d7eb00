"""Daily evaluation: compare_daily equals repeated compare(as_of=day end), row for row."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chatsim.daily import DAILY_KEY, compare_daily, day_end, day_range, incremental_supported
from chatsim.errors import RuleError
from chatsim.metrics import compare
from chatsim.rules import LEGACY_24H, NEW_12H, Rule
from tests.logbuilder import T0, at, log_of, msgs, random_logs

ZONES = {"s0": "Asia/Jakarta", "s1": "America/New_York"}
WILSON = [f"{m}_rate_{s}" for m in ("response", "satisfaction") for s in ("low", "high")]


@dataclasses.dataclass(frozen=True)
class FutureRule(Rule):
    """A rule with a field the incremental path does not know (as a new field would be)."""

    future_knob: int = 0


#: a rule the incremental path must leave to one compare per day
FALLBACK = FutureRule(**{**dataclasses.asdict(NEW_12H), "name": "future", "future_knob": 1})
RULES = [
    LEGACY_24H,
    NEW_12H,
    NEW_12H.replace(name="short", period_days=2, window_hours=3, session_hours=6),
    NEW_12H.replace(name="faq", auto_reply="count_as_answer", period_days=4),
    NEW_12H.replace(name="paused", holiday_mode="pause_clock", period_days=3),
    NEW_12H.replace(name="office", clock="business", period_days=5, min_chats=2, default_rate=0.5),
    NEW_12H.replace(name="fixed", period_start=dt.date(2025, 8, 5), period_end=dt.date(2025, 8, 9)),
    NEW_12H.replace(
        name="plain", auto_reply="ignore", valid_replies_only=True, exclusions=["blocked"]
    ),
    FALLBACK,
]
# the random logs start on T0 (4 Aug) and last up to about 13 days
DAYS = day_range(T0.date() - dt.timedelta(days=1), T0.date() + dt.timedelta(days=14))


def _expected(log, rules, days, zone=None):
    """The reference: one compare per day and zone, its rows of the shops of that zone."""
    frames = []
    for day in days:
        for tz in sorted({zone} if zone else set(ZONES.values())):
            cutoff = day_end(day, tz)
            shops = [s for s, z in ZONES.items() if (zone or z) == tz]
            s = compare(log, rules, as_of=cutoff, chats=False).shops
            s = s.filter(pl.col("shop_id").is_in(shops))
            frames.append(s.with_columns(day=pl.lit(day), as_of=pl.lit(cutoff)))
    order = {r.name: i for i, r in enumerate(rules)}
    out = pl.concat(frames, how="vertical_relaxed")
    out = out.with_columns(_o=pl.col("rule").replace_strict(order, return_dtype=pl.Int32))
    return out.sort("day", "_o", "shop_id").drop("_o")


def _assert_daily_equals_compare(log, rules, days, zone=None):
    got = compare_daily(log, rules, start=days[0], end=days[-1], zone=zone)
    want = _expected(log, rules, days, zone)
    assert got.height == len(days) * len(rules) * log.shops.height
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


def _hours(draw, lo=-30.0, hi=330.0):
    return at(draw(st.floats(lo, hi)))


#: gaps between messages (hours): often exactly a session bound (6 h, 24 h) or a window
GAPS = st.sampled_from([0.0, 0.25, 1.0, 3.0, 6.0, 7.0, 12.0, 24.0, 25.0, 30.0])
#: automatic replies and buyer follow-ups often, so resolution is undone and redone
CHATTY = st.sampled_from(["buyer", "buyer", "auto", "auto", "seller"])


@st.composite
def chatty_logs(draw):
    """Conversations where buyers write again after automatic replies, rated now and then."""
    rows, mid = [], 0
    for c in range(draw(st.integers(1, 4))):
        t = draw(st.floats(0, 48))
        for _ in range(draw(st.integers(2, 10))):
            t += draw(GAPS)
            mid += 1
            rows.append(
                {
                    "message_id": mid,
                    "shop_id": f"s{c % 2}",
                    "conversation_id": f"c{c}",
                    "buyer_id": f"b{c % 3}",
                    "sent_at": at(t),
                    "sender": draw(CHATTY),
                    "kind": "text",
                    "is_broadcast": False,
                    "rating": draw(st.sampled_from([None] * 5 + ["satisfied", "unsatisfied"])),
                    "valid_reply": draw(st.booleans()) or draw(st.booleans()),
                }
            )
    return rows


@st.composite
def dated_logs(draw):
    """Random messages plus blocks and holiday mode at random instants."""
    if draw(st.booleans()):
        rows = draw(chatty_logs())
    else:
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
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
@given(dated_logs(), st.sampled_from([None, "UTC", "Asia/Jakarta"]))
def test_daily_equals_repeated_compare(log, zone):
    _assert_daily_equals_compare(log, RULES, DAYS, zone)


SHOPS = [{"shop_id": s, "timezone": z, "chatbot_enabled": False} for s, z in ZONES.items()]


def test_resolution_undone_and_redone_by_day():
    # an automatic reply resolves the chat on 4 Aug, the buyer writes again on 5 Aug
    # (pending again), a second reply resolves it on 6 Aug, a seller answers on 7 Aug
    # (within the 24-hour session of that reply: late)
    rows = msgs(
        ("c", at(0), "buyer"),
        ("c", at(1), "auto"),
        ("c", at(0, days=1), "buyer"),
        ("c", at(1, days=1), "buyer"),
        ("c", at(2, days=2), "auto"),
        ("c", at(3, days=2), "auto"),
        ("c", at(0, days=3), "seller"),
        shop="s0",
    )
    days = day_range(T0.date(), T0.date() + dt.timedelta(days=5))
    log = log_of(rows, shops=SHOPS)
    _assert_daily_equals_compare(log, [NEW_12H, NEW_12H.replace(name="6h", session_hours=6)], days)
    d = compare_daily(log, [NEW_12H], start=days[0], end=days[-1], zone="UTC")
    s0 = d.filter(pl.col("shop_id") == "s0")
    assert s0["excluded_auto_resolved"].to_list() == [1, 0, 1, 0, 0, 0]
    assert s0["unanswered"].to_list() == [0, 1, 0, 0, 0, 0]  # due 4 Aug 21:00
    assert s0["answered_late"].to_list() == [0, 0, 0, 1, 1, 1]


def test_ratings_blocks_and_holiday_mode_take_effect_by_day():
    rows = msgs(
        ("a", at(0), "buyer"),
        ("a", at(2), "seller"),
        ("a", at(0, days=1), "buyer", "text", {"rating": "satisfied"}),
        ("a", at(0, days=2), "buyer", "text", {"rating": "unsatisfied"}),
        ("b", at(5), "buyer", "text", {"buyer": "bb"}),
        ("b", at(30), "seller", "text", {"buyer": "bb"}),
        ("h", at(3, days=1), "buyer"),
        shop="s1",
    )
    blocked = [{"shop_id": "s1", "buyer_id": "bb", "blocked_at": at(0, days=3)}]
    holiday = [{"shop_id": "s1", "start": at(0, days=1), "end": at(0, days=2)}]
    log = log_of(rows, shops=SHOPS, blocked=blocked, holiday=holiday)
    days = day_range(T0.date(), T0.date() + dt.timedelta(days=4))
    rules = [NEW_12H, NEW_12H.replace(name="paused", holiday_mode="pause_clock")]
    _assert_daily_equals_compare(log, rules, days)
    _assert_daily_equals_compare(log, rules, days, zone="UTC")


def test_a_rule_with_an_unknown_field_takes_one_compare_per_day():
    assert incremental_supported(FutureRule(**{**dataclasses.asdict(NEW_12H), "future_knob": 0}))
    assert not incremental_supported(FALLBACK)
    rows = msgs(("c", at(0), "buyer"), ("c", at(13), "seller"), shop="s0")
    log = log_of(rows, shops=SHOPS)
    days = day_range(T0.date(), T0.date() + dt.timedelta(days=1))
    _assert_daily_equals_compare(log, [NEW_12H, FALLBACK], days)


@pytest.mark.parametrize(
    ("changes", "supported"),
    [
        ({"window_hours": 6, "period_days": 7, "min_chats": 3, "default_rate": 0.5}, True),
        ({"clock": "business", "chatbot_weekend_deadline": True}, True),
        ({"period_start": dt.date(2025, 8, 1), "period_end": dt.date(2025, 9, 1)}, True),
        ({"auto_reply": "ignore", "valid_replies_only": True, "session_hours": 2}, True),
    ],
)
def test_incremental_supported_covers_the_rule_settings(changes, supported):
    assert incremental_supported(NEW_12H.replace(**changes)) is supported


def test_columns_lead_with_the_daily_key():
    log = log_of(msgs(("c", at(0), "buyer")), shops=[{"shop_id": "s1", "timezone": "UTC"}])
    d = compare_daily(log, [NEW_12H], start="2025-08-04", end="2025-08-04")
    assert tuple(d.columns[: len(DAILY_KEY)]) == DAILY_KEY
    assert d["as_of"].to_list() == [dt.datetime(2025, 8, 4, 23, 59, 59, 999999, tzinfo=dt.UTC)]
    assert d.drop(DAILY_KEY).columns == compare(log, [NEW_12H]).shops.drop("rule").columns


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
