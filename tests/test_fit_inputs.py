"""Fitting bad or thin logs: each gives a named error or a stated fallback, never a silent
invention."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from chatsim.errors import ChatsimWarning, FitError
from chatsim.fit import fit_log
from chatsim.fit.estimate import estimate
from chatsim.fit.profile import observe
from chatsim.fit.record import PRIOR, shrink
from chatsim.scenario import Scenario, load_scenario
from chatsim.simulate import simulate
from tests.logbuilder import at, log_of, msgs


def _fit(log, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(log, **kw)


def _chatty_log(days: int = 10, seller: bool = True):
    """A buyer writing every day at 10:00 UTC, the seller answering an hour later."""
    rows = []
    for d in range(days):
        rows.append((f"c{d}", at(1, days=d), "buyer"))
        rows.append((f"c{d}", at(1, days=d), "auto"))
        if seller:
            rows.append((f"c{d}", at(2, days=d), "seller"))
    return log_of(msgs(*rows), shops=[{"shop_id": "s1", "timezone": "UTC", "tier": "gold"}])


def test_a_log_without_seller_replies_is_refused():
    with pytest.raises(FitError, match="no seller replies") as e:
        _fit(_chatty_log(seller=False))
    assert "seller" in str(e.value) and "export" in str(e.value)


def test_a_log_shorter_than_a_week_is_refused():
    with pytest.raises(FitError, match=r"covers 3\.0 days.*at least 7 days"):
        _fit(_chatty_log(days=4))


def test_a_by_column_that_does_not_exist_is_named_with_the_columns_there_are():
    with pytest.raises(FitError, match=r"no column 'country'.*columns are: tier"):
        _fit(_chatty_log(), by="country")


def test_a_segment_with_too_few_chats_is_pooled_from_all_shops_and_says_so(tmp_path):
    sc = Scenario.from_dict(
        {
            "name": "tiny",
            "seed": 5,
            "shops": 21,
            "period": {"start": "2025-08-15", "days": 14},
            "archetypes": {
                "small_team": {"share": 20 / 21},
                "tiny": {"use": "solo_weekdays", "share": 1 / 21, "chats_per_day": 1.0},
            },
        }
    )
    log = simulate(sc)
    with pytest.warns(ChatsimWarning, match="segment 'tiny' has .* too few to fit"):
        f = fit_log(log, by="archetype")
    assert f.small_segments == ("tiny",)
    tiny = f.estimates["tiny"]
    assert tiny["followup_prob"].source == "pooled"
    assert tiny["followup_prob"].value == f.estimates["(all shops)"]["followup_prob"].value
    assert tiny["chats_per_day"].source == "fitted"  # its own volume and hours stay its own
    text = f.to_yaml()
    assert "# Fallback: segment 'tiny' has" in text
    tiny_block = text.split('  "tiny":', 1)[1].split('\n  "', 1)[0]
    (line,) = [ln for ln in tiny_block.splitlines() if ln.strip().startswith("followup_prob:")]
    assert "pooled from all shops" in line and "segment has" in line
    path = tmp_path / "fitted.yaml"
    path.write_text(text)
    assert load_scenario(path) == f.scenario


def test_what_the_log_cannot_tell_is_marked_as_default_not_invented():
    f = _fit(_chatty_log(days=10), by="tier")
    est = f.estimates["gold"]
    # no country column, no holiday country for UTC: not informed
    assert est["country"].source == "default"
    assert est["holiday_country"].source == "default" and est["holiday_country"].value is None
    # no blocked table, no holiday-mode table, no ratings: zero, and the note says why
    assert est["blocked_share"].value == 0 and "no blocked buyers" in est["blocked_share"].note
    assert "no holiday-mode periods" in est["holiday_mode_per_month"].note
    assert "no ratings" in est["rating_prob"].note
    # too few rated chats for the satisfaction curve: defaults, said
    assert all(e.source == "default" for e in f.satisfaction.values())
    text = f.to_yaml()
    assert "buyer_timezone: null  # default (not informed by the log)" in text


def test_per_shop_estimates_are_pulled_towards_the_segment_by_the_documented_rule():
    log = simulate(load_scenario("scenarios/baseline.yaml").scaled(shops=40, days=14))
    obs = observe(log)
    seg = obs.shops.select("shop", segment=pl.col("archetype"))
    est = estimate(obs, seg, per_shop=True)
    c = est.counts.sort("followup_base")
    for row in (c.row(0, named=True), c.row(c.height - 1, named=True)):  # fewest and most
        segment = est.segments[row["segment"]]["followup_prob"].value
        want = shrink(row["followups_settled"], row["followup_base"], segment, PRIOR["chats"])
        got = est.shops[row["shop"]]["followup_prob"]
        assert got.source == "shop" and got.value == pytest.approx(want, abs=1e-4)
        raw = row["followups_settled"] / max(row["followup_base"], 1)
        assert min(raw, segment) - 1e-4 <= got.value <= max(raw, segment) + 1e-4


def test_a_shops_column_named_segment_does_not_hide_the_fitted_groups():
    # the bundled sample's shops table has its own "segment" column; grouping by behaviour
    # must still give every group its shops (it once gave them none and failed)
    from chatsim.sample import sample_log

    log = sample_log()
    assert "segment" in log.shops.columns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        by_behaviour = fit_log(log, min_days=0)
        by_column = fit_log(log, by="segment", min_days=0)
    assert sum(a.share for a in by_behaviour.scenario.archetypes) == pytest.approx(1.0)
    assert by_behaviour.shops.height == log.shops.height
    assert sorted(a.name for a in by_column.scenario.archetypes) == sorted(
        log.shops["segment"].unique().to_list()
    )
