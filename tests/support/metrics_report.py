"""The rule-comparison page of the baseline scenario with rules of other metrics: the legacy
and new response rates beside a response-time rule (``avg-response-time``, hours) or a
late-share rule (``amazon-lrr``, lower is better), run with papermill at a small size and
rendered offline.

Example:
    >>> sorted(METRIC_RULE_SETS)
    ['late_share', 'response_time']
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.notebooks import execute

__all__ = ["METRIC_RULE_SETS", "METRICS_DAYS", "METRICS_SHOPS", "build_metrics_page"]

#: The rule lists the page is checked with (old rule first, the judged one last).
METRIC_RULE_SETS: dict[str, list[str]] = {
    "response_time": ["legacy-24h", "new-12h", "avg-response-time"],
    "late_share": ["legacy-24h", "new-12h", "amazon-lrr"],
}
#: Size of the run: small, so the page builds in seconds.
METRICS_SHOPS, METRICS_DAYS = 24, 8

_ROOT = Path(__file__).resolve().parents[2]


def build_metrics_page(workdir: str | os.PathLike[str], which: str = "response_time") -> Path:
    """Run ``notebooks/rule_comparison.ipynb`` on the baseline scenario (small) with the
    rules :data:`METRIC_RULE_SETS` ``[which]``, render it; return the HTML page's path
    (the executed notebook is beside it, ``rule_comparison.ipynb``).

    Example:
        >>> page = build_metrics_page(tmp_path)  # doctest: +SKIP
    """

    from chatsim.notebook import prepare_log
    from chatsim.render import notebook_to_html
    from chatsim.report import NOTEBOOKS_DIR, notebook_parameters
    from chatsim.scenario import load_scenario

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    scenario = _ROOT / "scenarios" / "baseline.yaml"
    sc = load_scenario(scenario).scaled(shops=METRICS_SHOPS, days=METRICS_DAYS)
    log = prepare_log(str(scenario), "", shops=sc.shops, days=sc.period.days)
    params = notebook_parameters(sc, log_path=log, small=True)
    params.update(
        shops=sc.shops,
        days=sc.period.days,
        run_what_if=False,
        replications=1,
        rules=METRIC_RULE_SETS[which],
    )
    nb = NOTEBOOKS_DIR / "rule_comparison.ipynb"
    executed = work / "rule_comparison.ipynb"
    execute(nb, executed, params)
    return notebook_to_html(executed, work / "rule_comparison.html")
