"""Dated scenario changes (sellers who adapt): validation, selection, ramps, locality."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.errors import ScenarioError
from chatsim.scenario import Scenario, archetype_on, builtin_archetype, change_plan, load_scenario
from chatsim.schema import ChatLog, read_log
from chatsim.simulate import SHARD_SIZE, log_hash, simulate, simulate_to_dir
from chatsim.simulate.adapt import shop_segments

ROOT = Path(__file__).resolve().parents[1]
START = dt.date(2025, 8, 1)
WEEKEND = {"sat": ["10:00-14:00"], "sun": ["10:00-14:00"]}


def base(**change: Any) -> dict[str, Any]:
    c = {"name": "weekend cover", "from": "2025-08-08", "archetype": "solo_weekdays"}
    c |= {"share": 0.4, "set": {"schedule": WEEKEND}} | change
    return {
        "name": "t",
        "seed": 3,
        "period": {"start": START.isoformat(), "days": 14},
        "shops": 40,
        "archetypes": {
            "solo_weekdays": {"share": 0.5, "off_day_cover": 0.0},  # closed on weekends
            "small_team": {"share": 0.5},
        },
        "changes": [c],
    }


def day_of(log_messages: pl.DataFrame) -> pl.DataFrame:
    return log_messages.with_columns(
        day=(pl.col("sent_at").dt.date() - pl.lit(START)).dt.total_days()
    )


def by_shop_and_day(msgs: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {k[0]: g.sort("message_id") for k, g in msgs.group_by("shop_id")}


def test_a_change_from_day_k_alters_only_later_messages_of_the_shops_it_selects() -> None:
    sc = Scenario.from_dict(base())
    before = Scenario.from_dict(base() | {"changes": []})
    new, old = simulate(sc), simulate(before)
    k = 7
    adapted = set(new.shops.filter(pl.col("adaptation").is_not_null())["shop_id"].to_list())
    solo = set(new.shops.filter(pl.col("archetype") == "solo_weekdays")["shop_id"].to_list())
    assert adapted <= solo and len(adapted) == round(0.4 * len(solo)) == 8
    cols = ["shop_id", "conversation_id", "sent_at", "sender", "kind", "rating", "valid_reply"]
    n, o = day_of(new.messages), day_of(old.messages)
    # shops it does not select: every message unchanged
    keep = pl.col("shop_id").is_in(sorted(adapted)).not_()
    assert n.filter(keep).select(cols).equals(o.filter(keep).select(cols))
    # shops it selects: unchanged before day k (a chat opened earlier may be answered later)
    early = pl.col("shop_id").is_in(sorted(adapted)) & (pl.col("day") < k)
    assert n.filter(early).select(cols).equals(o.filter(early).select(cols))
    # ... and from day k on, they answer on weekends (2025-08-09 is a Saturday)
    human = (pl.col("sender") == "seller") & (pl.col("kind") != "system") & ~pl.col("is_broadcast")
    weekend = pl.col("sent_at").dt.convert_time_zone("Asia/Ho_Chi_Minh").dt.weekday() >= 6
    late = pl.col("shop_id").is_in(sorted(adapted)) & (pl.col("day") >= k)
    on_weekends = n.filter(late & human & weekend).height
    assert on_weekends > 100 and o.filter(late & human & weekend).height < on_weekends / 10
    # the side tables of unselected shops do not move either
    for name in ("holiday_mode", "blocked"):
        a, b = getattr(new, name), getattr(old, name)
        assert a.filter(keep).equals(b.filter(keep)), name


def test_shops_table_names_the_adapting_shops() -> None:
    sc = Scenario.from_dict(base())
    shops = simulate(sc).shops
    assert shops.schema["adapted_from"] == pl.Date
    assert shops.schema["adaptation"] == pl.String
    got = shops.filter(pl.col("adaptation").is_not_null())
    assert set(got["adaptation"].to_list()) == {"weekend cover"}
    assert set(got["adapted_from"].to_list()) == {dt.date(2025, 8, 8)}
    assert shops.filter(pl.col("adaptation").is_null())["adapted_from"].null_count() == 32
    # without changes the shops table is what it always was
    plain = simulate(Scenario.from_dict(base() | {"changes": []})).shops
    assert "adaptation" not in plain.columns and "adapted_from" not in plain.columns


def test_read_log_keeps_the_adaptation_columns(tmp_path: Path) -> None:
    sc = Scenario.from_dict(base())
    out = simulate_to_dir(sc, tmp_path / "log", workers=1, progress=False)
    back = read_log(out)
    assert back.shops.schema["adapted_from"] == pl.Date
    assert (
        back.shops.select("shop_id", "adapted_from", "adaptation")
        .sort("shop_id")
        .equals(simulate(sc).shops.select("shop_id", "adapted_from", "adaptation").sort("shop_id"))
    )


@settings(max_examples=40, deadline=None)
@given(
    share=st.floats(0.0, 1.0),
    shops=st.integers(1, 300),
    seed=st.integers(0, 2**32),
)
def test_the_selected_share_is_exact_and_the_draw_is_its_own(
    share: float, shops: int, seed: int
) -> None:
    d = base(share=share) | {"shops": shops, "seed": seed}
    sc = Scenario.from_dict(d)
    (plan,) = change_plan(sc)
    solo = np.asarray(sc.shop_archetypes()) == 0
    assert not (plan.selected & ~solo).any()
    assert plan.selected.sum() == int(np.floor(share * solo.sum() + 0.5))
    # another change before it, and a different worker layout, leave the draw alone
    other = {"name": "bots", "from": "2025-08-03", "set": {"auto_reply_rate": 0.9}}
    d2 = copy.deepcopy(d)
    d2["changes"].insert(0, other)
    plans = change_plan(Scenario.from_dict(d2))
    assert np.array_equal(plans[1].selected, plan.selected)
    assert np.array_equal(plans[1].switch_day, plan.switch_day)


def test_switch_days_lie_within_the_ramp() -> None:
    sc = Scenario.from_dict(base(share=1.0, ramp_days=5) | {"shops": 200})
    (plan,) = change_plan(sc)
    sw = plan.switch_day[plan.selected]
    assert sw.min() == plan.start_day == 7 and sw.max() == 7 + 4
    assert len(np.unique(sw)) == 5


@settings(max_examples=60, deadline=None)
@given(
    old=st.floats(1.0, 120.0),
    new=st.floats(1.0, 120.0),
    ramp=st.integers(0, 20),
)
def test_numeric_ramp_is_linear_and_monotone(old: float, new: float, ramp: int) -> None:
    from chatsim.scenario import Change

    a = dataclasses.replace(builtin_archetype("small_team"), delay_median_minutes=old)
    c = Change("x", START, {"delay_median_minutes": new}, ramp_days=ramp)
    vals = [archetype_on(a, [(c, 5, 5)], d).delay_median_minutes for d in range(0, 30)]
    assert vals[:5] == [old] * 5
    assert vals[5 + max(ramp, 1) - 1 :] == [new] * (30 - 5 - max(ramp, 1) + 1)
    steps = np.diff(vals)
    assert (steps * np.sign(new - old) >= -1e-9).all()  # never moves back
    if ramp > 1:  # equal steps while it ramps
        assert np.allclose(steps[4 : 4 + ramp], (new - old) / ramp)


def test_non_numeric_fields_switch_on_the_shops_day_and_numbers_ramp_with_them() -> None:
    sc = Scenario.from_dict(
        base(share=1.0, ramp_days=4, set={"schedule": WEEKEND, "chats_per_day": 20})
    )
    (plan,) = change_plan(sc)
    shop = int(np.flatnonzero(plan.selected)[0])
    sw = int(plan.switch_day[shop])
    segs = shop_segments(sc, (plan,), shop, 0.99, sc.archetypes[0])
    assert segs[0][0] == 7 and segs[-1][1] == 14
    assert [b for _, b, _, _ in segs[:-1]] == [a for a, _, _, _ in segs[1:]]  # contiguous
    for a, _, arch, _ in segs:
        assert (arch.schedule["sat"] == ("10:00-14:00",)) == (a >= sw)
    assert [s[2].chats_per_day for s in segs] == sorted(s[2].chats_per_day for s in segs)
    assert segs[-1][2].chats_per_day == 20.0


def test_rising_adoption_switches_shops_on_and_never_off() -> None:
    d = base(archetype="small_team", share=1.0, ramp_days=10, set={"auto_reply_adoption": 0.9})
    d["archetypes"]["small_team"]["auto_reply_adoption"] = 0.2
    sc = Scenario.from_dict(d)
    (plan,) = change_plan(sc)
    shop = int(np.flatnonzero(plan.selected)[0])
    small = sc.archetypes[1]
    for u, expect in ((0.1, [True]), (0.95, [False]), (0.5, [False, True])):
        segs = shop_segments(sc, (plan,), shop, u, small)
        assert [s[3] for s in segs] == expect
        assert all(s[2] == small for s in segs)  # adoption aside, the same archetype


def test_worker_count_does_not_change_the_data_with_changes(tmp_path: Path) -> None:
    sc = load_scenario(ROOT / "scenarios" / "rollout.yaml")
    sc = dataclasses.replace(sc, period=dataclasses.replace(sc.period, days=80)).scaled(
        shops=2 * SHARD_SIZE + 5
    )
    assert len(sc.changes) == 3
    one = simulate(sc, workers=1)
    assert log_hash(one) == log_hash(simulate(sc, workers=2))
    out = simulate_to_dir(sc, tmp_path / "log", workers=2, progress=False)
    assert log_hash(read_log(out)) == log_hash(one)
    assert load_scenario(out / "scenario.yaml") == sc


def test_rollout_scenario() -> None:
    sc = load_scenario(ROOT / "scenarios" / "rollout.yaml")
    assert sc.period.start == dt.date(2025, 6, 1) and sc.period.days == 122
    assert sc.analysis.rollout and "illustration, not a forecast" in sc.description.lower()
    assert {c.start for c in sc.changes} <= {dt.date(2025, 7, 15), dt.date(2025, 8, 15)}
    assert Scenario.from_dict(sc.to_dict()) == sc
    assert sc.scaled(days=30).changes == ()  # changes after a shortened period are dropped


# ------------------------------------------------------------------------------ validation
BAD: list[tuple[dict[str, Any], list[str]]] = [
    ({"set": {"delay_median_minute": 5}}, ["changes[0].set.delay_median_minute", "Did you mean 'delay_median_minutes'"]),
    ({"set": {"absence_rate": 1.5}}, ["changes[0].set.absence_rate", "<= 1"]),
    ({"set": {"schedule": {"sat": ["25:00-26:00"]}}}, ["changes[0].set.schedule"]),
    ({"set": {"share": 0.5}}, ["changes[0].set.share", "cannot set"]),
    ({"set": {}}, ["changes[0].set", "at least one"]),
    ({"archetype": "solo_weekday"}, ["changes[0].archetype", "Did you mean 'solo_weekdays'"]),
    ({"from": "2025-07-31"}, ["changes[0].from", "outside the scenario period", "2025-08-14"]),
    ({"from": "2025-08-15"}, ["changes[0].from", "outside the scenario period"]),
    ({"from": "15/08/2025"}, ["changes[0].from", "YYYY-MM-DD"]),
    ({"share": 1.2}, ["changes[0].share", "<= 1"]),
    ({"share": -0.1}, ["changes[0].share", ">= 0"]),
    ({"ramp_days": -3}, ["changes[0].ramp_days", ">= 0"]),
    ({"ramp_days": 2.5}, ["changes[0].ramp_days", "integer"]),
    ({"when": "2025-08-09"}, ["changes[0].when", "unknown key"]),
    ({"name": ""}, ["changes[0].name", "non-empty"]),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expect"), BAD, ids=[repr(c)[:40] for c, _ in BAD])
def test_bad_changes_are_named(change: dict[str, Any], expect: list[str], tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(base(**change)))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}: "), msg
    for s in expect:
        assert s in msg, f"{s!r} not in {msg!r}"


def test_missing_keys_and_duplicate_names_are_named() -> None:
    d = base()
    del d["changes"][0]["from"]
    with pytest.raises(ScenarioError, match=r"changes\[0\]\.from: missing"):
        Scenario.from_dict(d)
    d = base()
    d["changes"].append(copy.deepcopy(d["changes"][0]))
    with pytest.raises(ScenarioError, match=r"changes\[1\]\.name: duplicate"):
        Scenario.from_dict(d)
    with pytest.raises(ScenarioError, match=r"changes: expected a list"):
        Scenario.from_dict(base() | {"changes": {"a": 1}})


def test_an_adapting_shop_keeps_its_own_size_and_calendar() -> None:
    # a change that does not touch volume or hours: each shop's chats per day stay its own
    d = base(share=1.0, set={"rating_prob": 0.9}) | {"period": {"start": "2025-08-01", "days": 28}}
    log = simulate(Scenario.from_dict(d))
    new = day_of(log.messages)
    old = day_of(simulate(Scenario.from_dict(d | {"changes": []})).messages)
    adapted = sorted(log.shops.filter(pl.col("adaptation").is_not_null())["shop_id"].to_list())
    assert len(adapted) == 20
    mine = pl.col("shop_id").is_in(adapted) & (pl.col("day") >= 7)
    opened = mine & (pl.col("sender") == "buyer") & ~pl.col("is_broadcast")

    def per_shop(m: pl.DataFrame) -> pl.DataFrame:
        return m.filter(opened).group_by("shop_id").len().sort("shop_id")

    both = per_shop(new).join(per_shop(old), on="shop_id", suffix="_old")
    assert both.height == 20
    assert np.corrcoef(both["len"], both["len_old"])[0, 1] > 0.9
    rated = pl.col("rating").is_not_null() & mine
    assert new.filter(rated).height > 1.5 * old.filter(rated).height


SETS = [
    {"delay_median_minutes": 90.0},
    {"chats_per_day": 40.0},
    {"schedule": WEEKEND, "off_day_cover": 0.0},
    {"holiday_mode_per_month": 3.0, "holiday_mode_days": 2.0},
    {"auto_reply_adoption": 1.0, "auto_reply_rate": 0.9},
    {"broadcasts_per_week": 5.0, "seller_threads_per_day": 3.0},
]


@settings(max_examples=12, deadline=None)
@given(
    which=st.integers(0, len(SETS) - 1),
    day=st.integers(0, 9),
    share=st.floats(0.0, 1.0),
    ramp=st.integers(0, 4),
    everyone=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_any_change_leaves_other_shops_and_earlier_days_alone(
    which: int, day: int, share: float, ramp: int, everyone: bool, seed: int
) -> None:
    k_date = START + dt.timedelta(days=day)
    c = {"from": k_date.isoformat(), "share": share, "ramp_days": ramp, "set": SETS[which]}
    d = base(**c) | {"seed": seed, "shops": 12, "period": {"start": START.isoformat(), "days": 10}}
    if everyone:
        del d["changes"][0]["archetype"]
    new, old = simulate(Scenario.from_dict(d)), simulate(Scenario.from_dict(d | {"changes": []}))
    picked = sorted(new.shops.filter(pl.col("adaptation").is_not_null())["shop_id"].to_list())
    t0 = dt.datetime.combine(k_date, dt.time(), tzinfo=dt.UTC)
    cols = ["shop_id", "conversation_id", "sent_at", "sender", "kind", "rating", "valid_reply"]
    others = ~pl.col("shop_id").is_in(picked)
    earlier = pl.col("shop_id").is_in(picked) & (pl.col("sent_at") < t0)
    for which_rows in (others, earlier):
        assert (
            new.messages.filter(which_rows)
            .select(cols)
            .equals(old.messages.filter(which_rows).select(cols))
        )
    for name in ("holiday_mode", "blocked"):
        assert getattr(new, name).filter(others).equals(getattr(old, name).filter(others))
    ended = pl.col("shop_id").is_in(picked) & (pl.col("end") <= t0)
    assert new.holiday_mode.filter(ended).equals(old.holiday_mode.filter(ended))
    kept = old.blocked.filter(pl.col("shop_id").is_in(picked))
    assert kept.join(new.blocked, on=["shop_id", "buyer_id", "blocked_at"], how="anti").is_empty()
    ids = new.messages["message_id"]
    assert ids.is_sorted() and ids.n_unique() == ids.len()
    checked = ChatLog.from_frames(new.messages, new.shops, new.holiday_mode, new.blocked)
    assert checked.n_messages == new.n_messages
