"""The traffic's shape through a fit: a log simulated with distinctive arrival profiles, kind
mixes and absence concentrations is fitted, and the fitted scenario's twin has the same
shape (docs/fitting.md)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import polars as pl
import pytest

from chatsim.errors import ChatsimWarning
from chatsim.fit import fit_log
from chatsim.fit.shape import (
    MAX_CONCENTRATION,
    beta_binomial_concentration,
    shares_summing_to_one,
)
from chatsim.scenario import Scenario
from chatsim.schema import ChatLog
from chatsim.simulate import simulate

#: evening buyers who shop at weekends, and office-hours buyers who do not
EVENINGS = [0.2] * 7 + [0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 2, 3, 4, 5, 4, 2]
OFFICE = [0.05] * 8 + [3, 4, 4, 3, 2, 3, 4, 4, 3, 1, 0.5, 0.3, 0.2, 0.1, 0.05, 0.05]
TRUE = {
    "night_shop": {
        "use": "small_team",
        "share": 0.475,
        "arrival_hours": EVENINGS,
        "arrival_weekdays": [0.6, 0.6, 0.7, 0.8, 1.2, 2.0, 2.4],
        "kind_mix": {"text": 0.4, "sticker": 0.3, "image": 0.2, "product_card": 0.1},
        "absence_rate": 0.1,
        "absence_concentration": 0.5,
    },
    "office_shop": {
        "use": "solo_weekdays",
        "share": 0.475,
        "chats_per_day": 25,
        "arrival_hours": OFFICE,
        "arrival_weekdays": [1.5, 1.4, 1.4, 1.3, 1.2, 0.2, 0.1],
        "kind_mix": {"text": 0.9, "order_card": 0.1},
        "absence_rate": 0.1,
        "absence_concentration": 200,
    },
}
#: three shops with too few chats to fit on their own
TINY = {"tiny": {"use": "small_team", "share": 0.05, "chats_per_day": 1}}


def scenario(seed: int) -> Scenario:
    return Scenario.from_dict(
        {
            "name": "shapes",
            "seed": seed,
            "period": {"start": "2025-08-04", "days": 28},
            "shops": 60,
            "archetypes": TRUE | TINY,
        }
    )


@pytest.fixture(scope="module")
def observed() -> ChatLog:
    return simulate(scenario(11))


@pytest.fixture(scope="module")
def fitted(observed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChatsimWarning)
        return fit_log(observed, by="archetype")


def hour_of_week(log: ChatLog) -> pl.DataFrame:
    """Buyer messages per archetype and shop-local hour of the week (0 = Monday 00:00)."""
    m = log.messages.filter(pl.col("sender") == "buyer").join(
        log.shops.select("shop_id", "timezone", "archetype"), on="shop_id"
    )
    parts = []
    for (tz,), part in m.group_by("timezone"):
        loc = pl.col("sent_at").dt.convert_time_zone(str(tz))
        how = (loc.dt.weekday().cast(pl.Int32) - 1) * 24 + loc.dt.hour().cast(pl.Int32)
        parts.append(part.select("archetype", how=how))
    return pl.concat(parts).group_by("archetype", "how").len().sort("archetype", "how")


def _vector(counts: pl.DataFrame, archetype: str) -> np.ndarray:
    v = np.zeros(168)
    part = counts.filter(pl.col("archetype") == archetype)
    v[part["how"].to_numpy()] = part["len"].to_numpy()
    return v / v.sum()


def test_fitted_profiles_correlate_with_the_true_ones(fitted) -> None:
    for name, true in TRUE.items():
        got = fitted.scenario.archetype(name)
        assert got.arrival_hours is not None and got.arrival_weekdays is not None
        assert np.corrcoef(got.arrival_hours, true["arrival_hours"])[0, 1] > 0.95, name
        assert np.corrcoef(got.arrival_weekdays, true["arrival_weekdays"])[0, 1] > 0.95, name
        assert np.mean(got.arrival_hours) == pytest.approx(1.0, abs=1e-2)


def test_fitted_kind_mix_matches_the_true_one(fitted) -> None:
    for name, true in TRUE.items():
        got = dict(fitted.scenario.archetype(name).kind_mix or ())
        assert set(got) == set(true["kind_mix"]), name
        for k, share in true["kind_mix"].items():
            assert abs(got[k] - share) < 0.02, (name, k, got[k])
        assert sum(got.values()) == pytest.approx(1.0, abs=1e-9)


def test_absence_concentration_tells_lumpy_from_even(fitted) -> None:
    lumpy = fitted.scenario.archetype("night_shop").absence_concentration
    even = fitted.scenario.archetype("office_shop").absence_concentration
    assert lumpy < 5.0 < 50.0 < even, (lumpy, even)  # true 0.5 and 200, from 28 shops each


def test_the_yaml_says_where_each_shape_value_came_from(fitted) -> None:
    lines = fitted.to_yaml().splitlines()
    for key in ("arrival_hours", "arrival_weekdays", "kind_mix", "absence_concentration"):
        mine = [ln for ln in lines if ln.strip().startswith(f"{key}:")]
        assert len(mine) == 3, mine
        assert sum("# fitted from" in ln for ln in mine) == 2, mine
        assert sum("# pooled from all shops" in ln for ln in mine) == 1, mine
    assert any("# fitted from" in ln and "chats" in ln for ln in lines if "arrival_hours" in ln)


def test_a_small_segment_takes_the_shape_of_all_shops(fitted) -> None:
    tiny, everyone = fitted.estimates["tiny"], fitted.estimates["(all shops)"]
    for key in ("arrival_hours", "arrival_weekdays", "kind_mix"):
        assert tiny[key].source == "pooled" and tiny[key].value == everyone[key].value, key
        assert everyone[key].source == "fitted"


def test_the_twin_has_the_observed_hour_of_week_profile(observed, fitted) -> None:
    o, t = hour_of_week(observed), hour_of_week(simulate(_reseeded(fitted.scenario, 99)))
    for name in TRUE:
        r = np.corrcoef(_vector(o, name), _vector(t, name))[0, 1]
        assert r > 0.95, (name, r)
    # the built-in profile is far from these: the fit, not luck, makes the match
    b = hour_of_week(simulate(_builtin(scenario(11))))
    for name in TRUE:
        assert np.corrcoef(_vector(o, name), _vector(b, name))[0, 1] < 0.8, name
    # the header gives the log's profile against the fitted one
    line = next(ln for ln in fitted.to_yaml().splitlines() if "hour x weekday" in ln)
    assert all(float(r) > 0.95 for r in re.findall(r"_shop (\d\.\d+)", line)), line


def _reseeded(sc: Scenario, seed: int) -> Scenario:
    d = sc.to_dict()
    d["seed"] = seed
    return Scenario.from_dict(d)


def _builtin(sc: Scenario) -> Scenario:
    d = sc.to_dict()
    for a in d["archetypes"].values():
        a["arrival_hours"] = a["arrival_weekdays"] = a["kind_mix"] = None
    return Scenario.from_dict(d)


def test_beta_binomial_concentration_on_known_draws() -> None:
    rng = np.random.default_rng(3)
    for k in (0.5, 5.0):
        got = []
        for _ in range(40):
            n = rng.integers(15, 25, 80)
            a = rng.binomial(n, rng.beta(k * 0.1, k * 0.9, 80))
            got.append(beta_binomial_concentration(a, n))
        assert k / 2 < np.median(got) < k * 2, (k, np.median(got))
    same = np.full(50, 20)
    assert beta_binomial_concentration(np.full(50, 2), same) == MAX_CONCENTRATION
    assert np.isnan(beta_binomial_concentration(np.zeros(50), same))


def test_rounded_shares_still_sum_to_one() -> None:
    got = shares_summing_to_one({"text": 1, "sticker": 1, "emoji": 1, "image": 0}, 4)
    assert set(got) == {"text", "sticker", "emoji"}
    assert abs(sum(got.values()) - 1.0) < 1e-9
