"""The rollout page (``notebooks/rollout.ipynb``) run through papermill: on a small rollout
scenario crossing the 15 Aug switch with sellers who adapt, and on a real log (no scenario
dates, no adapting sellers, a segment column), each showing the figures computed here."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from chatsim import rollout
from chatsim.notebook import prepare_log
from chatsim.render import count_charts
from chatsim.report import NOTEBOOKS_DIR, notebook_parameters
from chatsim.rules import resolve_rule
from chatsim.scenario import load_scenario
from chatsim.schema import read_log
from tests.support.notebooks import execute

pytestmark = pytest.mark.slow

NOTEBOOK = NOTEBOOKS_DIR / "rollout.ipynb"
#: 24 shops over 28 days across the switch; a share of solo sellers turn automatic replies on.
SMALL_ROLLOUT = {
    "name": "small rollout",
    "seed": 11,
    "period": {"start": "2025-08-01", "days": 28},
    "shops": 24,
    "archetypes": {
        "solo_weekdays": {"share": 0.5},
        "small_team": {"share": 0.3},
        "auto_reply_heavy": {"share": 0.2},
    },
    "changes": [
        {
            "name": "automatic replies on",
            "from": "2025-08-15",
            "archetype": "solo_weekdays",
            "share": 0.7,
            "ramp_days": 2,
            "set": {"auto_reply_adoption": 1.0, "auto_reply_rate": 0.9},
        }
    ],
    "analysis": {"rules": ["legacy-24h", "new-12h"], "rollout": True},
}


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small_rollout.yaml"
    path.write_text(yaml.safe_dump(SMALL_ROLLOUT), encoding="utf-8")
    return path


def _execute(params: dict, tmp_path: Path) -> str:
    """Run the page with ``params``; the HTML of its outputs."""
    out = tmp_path / "rollout.ipynb"
    execute(NOTEBOOK, out, params)
    data = json.loads(out.read_text(encoding="utf-8"))
    return "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for c in data["cells"]
        for o in c.get("outputs", [])
    )


def _strip(page: str, numbers: rollout.RolloutNumbers) -> None:
    """Every key number and takeaway computed here is on the page."""
    for key, _label, value, _detail in numbers.as_frame().iter_rows():
        assert f'data-key="{key}"' in page
        assert html.escape(value) in page, (key, value)
    for t in numbers.takeaways():
        assert html.escape(t.text) in page, t.text


def test_the_page_on_a_small_rollout_scenario(scenario_file, tmp_path):
    sc = load_scenario(scenario_file)
    log_path = prepare_log(str(scenario_file), "")
    page = _execute(notebook_parameters(sc, log_path=log_path), tmp_path)
    log = read_log(log_path)
    rules = [resolve_rule(r) for r in sc.analysis.rules]
    daily = rollout.rollout_daily(log, rules, sc)
    numbers = rollout.rollout_numbers(daily, log.shops, rules)
    assert str(numbers.switch) == "2025-08-15" and numbers.adapters
    _strip(page, numbers)
    curve = rollout.adaptation_curve(daily, log.shops)
    # shares, tiers, transitions, [recovery], [adaptation], seller types
    expected = 4 + (numbers.recovered > 0) + (curve is not None)
    assert count_charts(page) == expected
    assert "automatic replies on" in page and rollout.NO_ADAPTERS not in page
    assert "new-12h in force" in page  # the switch marked (15 Jul is before the first day)
    assert "new-12h shown, without consequence" not in page
    assert "Solo weekday sellers" in page  # the small multiples, labelled


def test_the_page_on_a_real_log_uses_its_own_dates(scenario_file, tmp_path):
    """A real log: the shops table has a segment column and no adaptation columns, and the
    log covers fewer days than the scenario beside it."""
    sim = Path(prepare_log(str(scenario_file), ""))
    real = tmp_path / "real_log"
    real.mkdir()
    for name in ("holiday_mode.parquet", "blocked.parquet"):
        shutil.copy(sim / name, real / name)
    log = read_log(sim)
    keep = pl.col("sent_at").dt.date().is_between(pl.date(2025, 8, 8), pl.date(2025, 8, 24))
    log.messages.filter(keep).write_parquet(real / "messages.parquet")
    log.shops.drop(rollout.ADAPTATION_COLUMNS).rename({"archetype": "segment"}).write_parquet(
        real / "shops.parquet"
    )
    sc = load_scenario(scenario_file)
    params = notebook_parameters(sc, log_path=real, real_log=True)
    page = _execute(params, tmp_path)
    real_log = read_log(real)
    assert rollout.rollout_range(real_log) == (
        real_log.messages["sent_at"].min().date(),
        real_log.messages["sent_at"].max().date(),
    )
    rules = [resolve_rule(r) for r in sc.analysis.rules]
    numbers = rollout.rollout_numbers(rollout.rollout_daily(real_log, rules), real_log.shops, rules)
    assert numbers.first.isoformat() >= "2025-08-07" and numbers.adapters is None
    _strip(page, numbers)
    assert html.escape(rollout.NO_ADAPTERS) in page
    assert "by segment, day by day" in page  # small multiples by the log's segment column
    assert count_charts(page) >= 4
