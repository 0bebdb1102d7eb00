"""Fixtures shared by the test modules.

* ``every_feature_rules``: rules that between them use every chat definition and every
  judging feature (automatic replies answering, ignored or excluded, valid replies only,
  a shorter session, an explicit period, exclusions switched off, the chatbot-weekend
  deadline on the 12-hour window, a minimum of counted chats with and without a default
  rate, the blended and late-share rate kinds, the response-time and satisfaction
  metrics, the message and first-chat counted units, the daily cut-off deadline, the
  public-holiday and no-response-needed exclusions): what engine-equality tests run
  (:func:`spark_supports` says which of them Spark runs);
* ``simulated_log``: a log simulated from ``scenarios/baseline.yaml`` through the command
  line (``chatsim simulate ... --shops N --days D --workers 1``), once per size and session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from chatsim.rules import (
    AVG_RESPONSE_TIME,
    CHAT_SATISFACTION,
    DEFAULT_EXCLUSIONS,
    EXCLUSIONS,
    LEGACY_24H,
    NEW_12H,
    Rule,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="session")
def every_feature_rules() -> list[Rule]:
    """The built-in rules plus variants that, together, use every rule feature."""
    return [
        LEGACY_24H,
        NEW_12H,
        # the other chat definitions: automatic replies answer / are ignored, shorter sessions
        NEW_12H.replace(name="auto-answers", auto_reply="count_as_answer"),
        # (a minimum of counted chats, shops below it unrated)
        NEW_12H.replace(
            name="auto-ignored",
            auto_reply="ignore",
            valid_replies_only=True,
            session_hours=6.0,
            min_chats=10,
        ),
        # explicit period, some exclusions off, weekend deadline on the 12-hour window
        # (a minimum of counted chats, shops below it given a default rate)
        NEW_12H.replace(
            name="aug-weekend",
            period_start=dt.date(2025, 8, 1),
            period_end=dt.date(2025, 8, 20),
            exclusions=frozenset({"holiday_mode", "auto_resolved"}),
            chatbot_weekend_deadline=True,
            min_chats=20,
            default_rate=0.5,
        ),
        # the rate kinds: a recency blend (with a minimum and a default rate), the late share
        # (a maximum target, tiers above it)
        NEW_12H.replace(
            name="blended",
            rate_kind="blended",
            blend_weight=0.4,
            recent_fraction=0.3,
            min_chats=3,
            default_rate=0.57,
        ),
        NEW_12H.replace(
            name="late-share",
            rate_kind="late_share",
            target=0.15,
            target_comparison="at_most",
            warning_below=0.2,
            enforcement_below=0.3,
        ),
        # the other metrics: the median response time with automatic replies counted, the
        # satisfaction rate over the chats received
        AVG_RESPONSE_TIME.replace(
            name="median-time", time_statistic="median", auto_reply="count_as_answer", min_chats=2
        ),
        CHAT_SATISFACTION.replace(
            name="satisfaction-received",
            satisfaction_base="received",
            min_chats=3,
            default_rate=0.5,
        ),
        # the counted units: every buyer message (no-response-needed marks excluded), and
        # only each conversation's first chat with public holidays excluded; a daily cut-off
        # cycle (polars, buckets and pandas only: spark_supports)
        NEW_12H.replace(
            name="per-message",
            counted_unit="message",
            exclusions=DEFAULT_EXCLUSIONS | {"no_response_needed"},
        ),
        NEW_12H.replace(
            name="first-chat-holidays",
            counted_unit="first_chat",
            exclusions=frozenset(EXCLUSIONS),
        ),
        LEGACY_24H.replace(
            name="daily-cutoff",
            deadline="daily_cutoff",
            cutoff_time="17:00",
            due_time="12:00",
            due_day_offset=1,
            chatbot_weekend_deadline=False,
        ),
    ]


def spark_supports(rule: Rule) -> bool:
    """Whether the Spark engine runs ``rule`` (no daily cut-off deadline)."""
    return rule.deadline != "daily_cutoff"


@pytest.fixture(scope="session")
def simulated_log(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``simulated_log(shops=N, days=D)``: the log folder, simulated once per size.

    Tests that change the log copy it first (the folder is shared by the session).
    """
    from chatsim.cli import main

    made: dict[tuple[int, int], Path] = {}

    def get(*, shops: int, days: int) -> Path:
        if (shops, days) not in made:
            out = tmp_path_factory.mktemp(f"sim-{shops}x{days}") / "log"
            args = ["simulate", str(BASELINE), "--out", str(out), "--shops", str(shops)]
            assert main([*args, "--days", str(days), "--workers", "1", "--quiet"]) == 0
            made[shops, days] = out
        return made[shops, days]

    return get
