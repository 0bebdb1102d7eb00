"""The rule-comparison page with rules of other metrics: a response-time rule judged in
hours and a late-share rule (lower is better) beside the legacy and new response rates
(papermill, small). Nothing crashes, hours never read as a share, lower-is-better says so,
and the Shop Health scorecard section is there. The page in a browser: tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.metrics_report import METRIC_RULE_SETS, build_metrics_page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=sorted(METRIC_RULE_SETS))
def page(request, tmp_path_factory) -> tuple[str, Path]:
    which = request.param
    return which, build_metrics_page(tmp_path_factory.mktemp(which), which)


def _outputs(executed: Path) -> str:
    """Every cell output's HTML and text (no cell failed)."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    html = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out.get("evalue")
            data = out.get("data", {})
            html.append("".join(data.get("text/html", "")) + "".join(data.get("text/plain", "")))
            html.append("".join(out.get("text", "")))
    return "\n".join(html)


def test_the_page_reads_each_rule_in_its_own_unit(page):
    which, html_path = page
    text = _outputs(html_path.with_name("rule_comparison.ipynb"))
    page_html = html_path.read_text(encoding="utf-8")
    assert "Shop Health scorecard" in page_html
    assert "Shops with the Store Rating boost" in page_html  # the scorecard's chart
    assert "shape: (" not in text  # no data frame printed as code
    shares = [float(v.replace(",", "")) for v in re.findall(r"(\d[\d,]*(?:\.\d+)?) %", text)]
    assert shares and max(shares) <= 100, "a figure over 100 % (hours read as a share?)"
    if which == "response_time":
        assert "avg-response-time: target at most 2 h (lower is better)" in page_html
        assert "Mean response time of answered chats (hours; lower is better)" in page_html
        assert "datum.value + ' h'" in page_html  # its own hours axis
        assert "What is measured: response rate, at least 90 % → mean response time" in text
        assert "at most 2 h" in text  # the summary's target
        assert "avg-response-time itself judges the mean response time" in text
        assert "Figure (h), new rule" in text  # the losers table in hours
    else:
        assert "amazon-lrr: target at most 10 % (lower is better)" in page_html
        assert "Share of counted chats late or unanswered (lower is better)" in page_html
        assert "at most 10 %" in text
