"""The rollout tables: the rule in force, shops falling below and recovering, adapting sellers.

Hand-worked daily tables (a few shops over a few days, the rule in force switching from
``old`` to ``new`` on day 3), a property on random standings, and the charts' titles."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim import charts, rollout
from chatsim.charts.scales import rule_scale
from chatsim.rules import LEGACY_24H, NEW_12H, Rule

#: Days 0..6: 12 to 18 Aug 2025; the switch is on day 3 (15 Aug).
DAYS = [dt.date(2025, 8, 12) + dt.timedelta(days=i) for i in range(7)]
SWITCH = 3
TARGET = {"old": 0.9, "new": 0.85}
OLD = Rule(name="old", window_hours=24, target=0.9, effective_until=DAYS[SWITCH - 1])
NEW = Rule(
    name="new",
    window_hours=12,
    target=0.85,
    visible_from=DAYS[1],
    effective_from=DAYS[SWITCH],
)


def _tier(rate: float | None, target: float) -> str | None:
    if rate is None:
        return None
    if rate >= target:
        return "meets"
    return "below_target" if rate >= target - 0.05 else "enforcement"


def daily_table(rates: dict[tuple[str, str], list[float | None]]) -> pl.DataFrame:
    """A daily table from ``{(shop, rule): rate per day}`` (None: not rated), both rules
    evaluated every day, ``old`` in force before the switch and ``new`` from it."""
    rows = []
    for i, day in enumerate(DAYS):
        for rule in ("old", "new"):
            for (shop, r), rates_ in sorted(rates.items()):
                if r != rule:
                    continue
                rate = rates_[i]
                rows.append(
                    {
                        "day": day,
                        "rule": rule,
                        "in_force": (i < SWITCH) == (rule == "old"),
                        "visible": rule == "old" and i < SWITCH or rule == "new" and i >= 1,
                        "shop_id": shop,
                        "archetype": "solo_weekdays" if shop < "c" else "small_team",
                        "response_rate": rate,
                        "meets_target": None if rate is None else rate >= TARGET[rule],
                        "tier": _tier(rate, TARGET[rule]),
                    }
                )
    return pl.DataFrame(rows)


# shop a: meets old, falls below new on the switch, back on day 5 (2 days later)
# shop b: meets both all along
# shop c: below old already, below new: not a switch casualty; recovers on day 6
# shop d: meets old, below new from the switch to the end: never back
# shop e: not rated on day 2 (the day before the switch): its last rated day (1) met old
RATES: dict[tuple[str, str], list[float | None]] = {
    ("a", "old"): [0.95, 0.95, 0.95, 0.95, 0.95, 0.96, 0.96],
    ("a", "new"): [0.80, 0.80, 0.80, 0.80, 0.84, 0.86, 0.90],
    ("b", "old"): [0.99] * 7,
    ("b", "new"): [0.95] * 7,
    ("c", "old"): [0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70],
    ("c", "new"): [0.60, 0.60, 0.60, 0.60, 0.70, 0.80, 0.86],
    ("d", "old"): [0.92] * 7,
    ("d", "new"): [0.50] * 7,
    ("e", "old"): [0.95, 0.95, None, 0.95, 0.95, 0.95, 0.95],
    ("e", "new"): [0.70, 0.70, None, 0.70, 0.90, 0.90, 0.90],
}


@pytest.fixture(scope="module")
def daily() -> pl.DataFrame:
    return daily_table(RATES)


@pytest.fixture(scope="module")
def status(daily) -> pl.DataFrame:
    return rollout.in_force_status(daily)


def test_the_rule_in_force_is_taken_each_day(status):
    per_day = status.select("day", "rule").unique().sort("day")
    assert per_day["rule"].to_list() == ["old"] * SWITCH + ["new"] * (len(DAYS) - SWITCH)
    assert rollout.switch_days(status) == [DAYS[SWITCH]]
    e = status.filter(pl.col("shop_id") == "e").sort("day")
    assert e["status"].to_list()[:4] == ["meets", "meets", "not_rated", "below"]
    assert e["last_status"].to_list()[:4] == ["meets", "meets", "meets", "below"]


def test_when_several_rules_are_in_force_the_last_one_counts(daily):
    both = daily.with_columns(in_force=pl.lit(True))
    assert rollout.in_force_status(both)["rule"].unique().to_list() == ["new"]
    assert rollout.switch_days(rollout.in_force_status(both)) == []


def test_transitions_by_hand(status):
    t = rollout.transitions(status)
    got = {
        (d, r): (f, b) for d, r, f, b in t.select("day", "rule", "fell_below", "recovered").rows()
    }
    # day 3: a, d and e fall below (e's last rated day met old); day 4: e is back (0.90);
    # day 5: a is back; day 6: c is back
    assert got[(DAYS[SWITCH], "new")] == (3, 0)
    assert got[(DAYS[4], "new")] == (0, 1)
    assert got[(DAYS[5], "new")] == (0, 1)
    assert got[(DAYS[6], "new")] == (0, 1)
    assert got[(DAYS[0], "old")] == (0, 0) and got[(DAYS[2], "old")] == (0, 0)
    day2 = t.filter(pl.col("day") == DAYS[2]).row(0, named=True)
    assert (day2["meeting"], day2["below"], day2["not_rated"]) == (3, 1, 1)


def test_switch_recovery_by_hand(status):
    rec = rollout.switch_recovery(status, DAYS[SWITCH])
    assert rec["shop_id"].to_list() == ["a", "d", "e"]  # c was below already; b stays above
    by_shop = {r["shop_id"]: r for r in rec.iter_rows(named=True)}
    assert by_shop["a"]["days_to_recover"] == 2 and by_shop["a"]["back_on"] == DAYS[5]
    assert by_shop["e"]["days_to_recover"] == 1
    assert by_shop["d"]["days_to_recover"] is None and by_shop["d"]["back_on"] is None
    assert by_shop["a"]["rate_before"] == pytest.approx(0.95)  # old rule, the day before
    assert by_shop["a"]["rate_on_switch"] == pytest.approx(0.80)  # new rule, on the day
    assert by_shop["e"]["rate_before"] is None  # not rated the day before


def test_daily_and_tier_shares_count_rated_shops_only(daily, status):
    s = rollout.daily_shares(daily)
    row = s.filter(pl.col("day") == DAYS[2], pl.col("rule") == "old").row(0, named=True)
    assert (row["shops_rated"], row["shops_meeting"]) == (4, 3)  # e is not rated
    assert row["share"] == pytest.approx(0.75) and row["in_force"] and row["visible"]
    assert s["rule"].to_list()[:2] == ["old", "new"]  # the rules in the table's order
    tiers = rollout.tier_shares(status)
    assert tiers.height == len(DAYS) * len(rollout.TIERS)
    sums = tiers.group_by("day").agg(pl.col("share").sum())["share"]
    assert sums.to_list() == pytest.approx([1.0] * len(DAYS))
    on_switch = dict(tiers.filter(pl.col("day") == DAYS[SWITCH]).select("tier", "shops").rows())
    # a (0.80) is within 5 pp of the new target; c, d and e are further below
    assert on_switch == {"meets": 1, "below_target": 1, "warning": 0, "enforcement": 3}


def test_segment_shares(daily):
    seg = rollout.segment_shares(daily, "archetype")
    row = seg.filter(
        pl.col("day") == DAYS[SWITCH], pl.col("segment") == "solo_weekdays", pl.col("rule") == "new"
    ).row(0, named=True)
    assert (row["shops_rated"], row["shops_meeting"], row["in_force"]) == (2, 1, True)


def _shops(adapted: dict[str, dt.date]) -> pl.DataFrame:
    ids = sorted({shop for shop, _ in RATES})
    return pl.DataFrame(
        {
            "shop_id": ids,
            "adapted_from": [adapted.get(s) for s in ids],
            "adaptation": ["weekend cover" if s in adapted else None for s in ids],
        },
        schema={"shop_id": pl.String, "adapted_from": pl.Date, "adaptation": pl.String},
    )


def test_adapting_sellers_by_hand(daily):
    shops = _shops({"a": DAYS[SWITCH], "d": DAYS[SWITCH], "c": DAYS[4], "b": DAYS[6]})
    ad = rollout.adaptation_recovery(daily, shops)
    by_shop = {r["shop_id"]: r for r in ad.iter_rows(named=True)}
    assert sorted(by_shop) == ["a", "b", "c", "d"]
    # measured by the rule in force on the change day (new), from that day
    assert by_shop["a"]["rule"] == "new" and by_shop["a"]["before"] == "below"
    assert by_shop["a"]["days_to_target"] == 2
    assert by_shop["c"]["days_to_target"] == 2  # from day 4, meets on day 6
    assert by_shop["d"]["days_to_target"] is None
    assert by_shop["b"]["before"] == "meets" and by_shop["b"]["days_to_target"] == 0
    summary = rollout.adaptation_summary(ad).row(0, named=True)
    assert (summary["sellers"], summary["below_before"], summary["back_above_target"]) == (4, 3, 2)
    assert summary["median_days"] == 2 and summary["longest_days"] == 2
    curve = rollout.adaptation_curve(daily, shops)
    at = dict(curve.select("since", "share").rows())
    assert at[-1] == 0.0 and at[2] == pytest.approx(2 / 3)  # a, c back; d not (b met it before)


def test_no_adapting_sellers_without_the_columns(daily):
    plain = pl.DataFrame({"shop_id": ["a", "b"]})
    assert rollout.adaptation_recovery(daily, plain) is None
    assert rollout.adaptation_curve(daily, plain) is None
    late = _shops({"a": DAYS[-1] + dt.timedelta(days=5)})  # after the last day: not yet
    assert rollout.adaptation_recovery(daily, late) is None
    numbers = rollout.rollout_numbers(daily, plain, [OLD, NEW])
    assert numbers.adapters is None
    assert rollout.NO_ADAPTERS in [t.text for t in numbers.takeaways()]


def test_key_numbers_and_takeaways_by_hand(daily):
    n = rollout.rollout_numbers(daily, _shops({"a": DAYS[SWITCH]}), [OLD, NEW])
    assert (n.switch, n.old, n.new, n.fell, n.recovered) == (DAYS[SWITCH], "old", "new", 3, 2)
    assert n.share_before == pytest.approx(3 / 4) and n.share_after == pytest.approx(1 / 5)
    assert n.new_share_before == pytest.approx(1 / 4)  # new, shown the day before: only b
    assert n.median_recover == pytest.approx(1.5) and n.shown_from == DAYS[1]
    frame = dict(n.as_frame().select("key", "value").rows())
    assert frame["share_before"] == "75.0 %" and frame["share_after"] == "20.0 %"
    assert frame["fell"] == "3" and frame["adapters"] == "1 of 1"
    text = " ".join(t.text for t in n.takeaways())
    assert "from 75.0 % to 20.0 % (−55.0 pp): 3 shops fall below" in text
    assert "Of those 3 shops, 2 meet the target again" in text
    assert "a median of 2 days (at most 2) after the change" in text
    assert "trailing 30 days" in text


def test_without_a_switch_the_page_says_so(daily):
    before = daily.filter(pl.col("day") < DAYS[SWITCH])
    n = rollout.rollout_numbers(before, pl.DataFrame({"shop_id": ["a"]}), [OLD, NEW])
    assert n.switch is None and n.rule_end == "old"
    assert list(n.as_frame()["key"]) == ["share_end", "adapters"]
    assert "does not change within them (old)" in n.takeaways()[0].text


def test_policy_dates_of_the_built_in_rules():
    d = rollout.policy_dates([LEGACY_24H, NEW_12H])
    assert d.select("day", "label").rows() == [
        (dt.date(2025, 7, 15), "new-12h shown, without consequence"),
        (dt.date(2025, 8, 15), "new-12h in force"),
    ]
    assert rollout.policy_dates([LEGACY_24H, NEW_12H], dt.date(2025, 8, 1)).height == 1
    alone = rollout.policy_dates([LEGACY_24H])  # nothing starts when it ends
    assert alone["label"].to_list() == ["legacy-24h no longer in force"]


def test_rollout_range_of_a_scenario_and_of_a_real_log():
    from chatsim.sample import sample_log
    from chatsim.scenario import load_scenario

    sc = load_scenario("scenarios/rollout.yaml")
    assert rollout.rollout_range(sample_log(), sc) == (dt.date(2025, 6, 1), dt.date(2025, 9, 30))
    assert rollout.rollout_range(sample_log()) == (dt.date(2025, 8, 1), dt.date(2025, 9, 1))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([True, False, None]), min_size=len(DAYS), max_size=len(DAYS)),
        min_size=1,
        max_size=6,
    )
)
def test_falls_minus_recoveries_is_the_change_in_standing(standings):
    """Over the days, shops falling below minus shops recovering equals the shops whose last
    rated standing is below minus those whose first rated standing was below."""
    rates = {}
    for i, days in enumerate(standings):
        shop = f"s{i}"
        rates[(shop, "old")] = [None if m is None else (0.95 if m else 0.5) for m in days]
        rates[(shop, "new")] = [None if m is None else (0.95 if m else 0.5) for m in days]
    status = rollout.in_force_status(daily_table(rates))
    t = rollout.transitions(status)
    rated = status.filter(pl.col("status") != "not_rated").sort("shop_id", "day")
    first = rated.group_by("shop_id").agg(pl.col("status").first())
    last = rated.group_by("shop_id").agg(pl.col("status").last())
    change = (last["status"] == "below").sum() - (first["status"] == "below").sum()
    assert t["fell_below"].sum() - t["recovered"].sum() == change
    assert (t["meeting"] + t["below"] + t["not_rated"]).to_list() == [len(standings)] * len(DAYS)


def _units(spec: dict) -> list[dict]:
    for key in ("layer", "vconcat", "hconcat"):
        if key in spec:
            return [unit for part in spec[key] for unit in _units(part)]
    return [spec]


def _titled(chart) -> dict:
    """A title, axis titles on the first encoded layer, tooltips somewhere."""
    spec = chart.to_dict()
    assert spec.get("title"), "chart has no title"
    encoded = [u for u in _units(spec) if "encoding" in u]
    for axis in ("x", "y"):
        if axis in encoded[0]["encoding"]:
            assert encoded[0]["encoding"][axis].get("title"), f"{axis} axis has no title"
    assert any("tooltip" in u["encoding"] for u in encoded), "no tooltips"
    return spec


def test_every_rollout_chart_is_titled_labelled_with_tooltips(daily, status):
    dates = rollout.policy_dates([OLD, NEW])
    shops = _shops({"a": DAYS[SWITCH], "d": DAYS[SWITCH]})
    made = [
        charts.daily_share_chart(rollout.daily_shares(daily), dates),
        charts.tier_chart(rollout.tier_shares(status), dates),
        charts.transitions_chart(rollout.transitions(status), dates),
        charts.recovery_chart(rollout.switch_recovery(status, DAYS[SWITCH]), 30),
        charts.adaptation_chart(rollout.adaptation_curve(daily, shops), 30),
        charts.segment_share_charts(rollout.segment_shares(daily, "archetype"), dates, "archetype"),
    ]
    for chart in made:
        _titled(chart)
    first = made[0].to_dict()["layer"][0]["encoding"]["color"]["scale"]
    assert first == rule_scale(["old", "new"]).to_dict()  # a rule's colour on every page
    shares = rollout.daily_shares(daily).with_columns(
        rule=pl.col("rule").replace({"old": "legacy-24h", "new": "new-12h"})
    )
    scale = charts.daily_share_chart(shares, dates).to_dict()["layer"][0]["encoding"]["color"]
    assert scale["scale"]["range"] == ["#0072B2", "#D55E00"]


def test_a_switch_nobody_notices_is_said_plainly():
    steady = daily_table({("a", "old"): [0.95] * 7, ("a", "new"): [0.95] * 7})
    n = rollout.rollout_numbers(steady, pl.DataFrame({"shop_id": ["a"]}), [OLD, NEW])
    (switch,) = [t.text for t in n.takeaways() if t.key == "switch"]
    assert switch.endswith("stays at 100.0 %: no shop falls below it.")
    assert "recovery" not in [t.key for t in n.takeaways()]
