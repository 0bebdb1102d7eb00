"""The policy's hard cases, each on every engine that supports its setting.

Each case of :data:`CASES` is a small hand-made log, a rule and the statuses (and, where it
matters, deadlines) the policy reading of ``docs/policy.md`` gives; the same cases run on
the compiled kernel, the expression form with both windows and the bucketed path here, and
on Spark in ``tests/test_spark.py``. Property tests: business-clock deadlines across DST
changes of several zones, and the row accounting of the shop table on random logs.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatsim.engine import GlobalOrder, PerConversation
from chatsim.errors import RuleError
from chatsim.metrics import Evaluation, compare
from chatsim.rules import EXCLUSIONS, LEGACY_24H, NEW_12H, Rule
from chatsim.scale import compare_dataset
from chatsim.schema import ChatLog, write_log
from tests.logbuilder import at, log_of, msgs, random_logs

EVERY_DAY = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
PAUSE = NEW_12H.replace(name="pause", holiday_mode="pause_clock")
ENGINES = ("compiled", "global_order", "per_conversation", "buckets")


def evaluate(log: ChatLog, rules: list[Rule], engine: str, as_of: dt.datetime) -> Evaluation:
    """``compare`` on one engine (the bucketed path reads the log from a folder)."""
    if engine == "buckets":
        with tempfile.TemporaryDirectory() as tmp:
            path = write_log(log, Path(tmp) / "log")
            return compare_dataset(path, rules, as_of=as_of, keep_chats=True, progress=False)
    window = {"global_order": GlobalOrder(), "per_conversation": PerConversation()}.get(engine)
    options = {"window": window} if window is not None else {}
    return compare(log, rules, as_of=as_of, **options)


@dataclass
class Case:
    """A log, its rules, the cutoff, and per rule the expected chats:
    ``{(conversation, chat_seq): (status, excluded_reason)}``; ``deadlines`` likewise."""

    log: ChatLog
    rules: list[Rule]
    as_of: dt.datetime
    expected: dict[str, dict[tuple[str, int], tuple[str, str | None]]]
    deadlines: dict[str, dict[tuple[str, int], dt.datetime]] = field(default_factory=dict)
    shops: dict[str, dict[str, object]] = field(default_factory=dict)  # rule -> shop columns


def chats_of(ev: Evaluation, rule: str) -> dict[tuple[str, int], tuple[str, str | None]]:
    df = ev.chats.filter(pl.col("rule") == rule)
    return {
        (r["conversation_id"], r["chat_seq"]): (r["status"], r["excluded_reason"])
        for r in df.with_columns(pl.col("status", "excluded_reason").cast(pl.String)).iter_rows(
            named=True
        )
    }


def check_case(case: Case, ev: Evaluation) -> None:
    """The evaluation gives the case's statuses, deadlines and shop figures."""
    for rule, want in case.expected.items():
        assert chats_of(ev, rule) == want, rule
    for rule, want in case.deadlines.items():
        df = ev.chats.filter(pl.col("rule") == rule)
        got = {
            (r["conversation_id"], r["chat_seq"]): r["deadline"] for r in df.iter_rows(named=True)
        }
        assert {k: got[k] for k in want} == want, rule
    for rule, want in case.shops.items():
        row = ev.shops.filter(pl.col("rule") == rule).row(0, named=True)
        assert {k: row[k] for k in want} == want, rule


# --- the cases (issue 13) ------------------------------------------------------------


def case_auto_broadcast_opens_a_thread() -> Case:
    """4. A broadcast sent automatically opens a seller thread like a seller's broadcast:
    the buyer's reply within the session is seller-initiated."""
    bc = {"broadcast": True}
    rows = msgs(
        ("a", at(0), "auto", "text", bc),
        ("a", at(1), "buyer"),
        ("s", at(0), "seller", "text", bc),
        ("s", at(1), "buyer"),
        ("n", at(1), "buyer"),  # no broadcast: an ordinary chat
    )
    want = {
        ("a", 1): ("excluded", "seller_initiated"),
        ("s", 1): ("excluded", "seller_initiated"),
        ("n", 1): ("unanswered", None),
    }
    return Case(log_of(rows), [NEW_12H], at(30), {"new-12h": want})


def case_target_comparison() -> Case:
    """5. A rate exactly at the target: meets "at least 90 %", not "more than 85 %"."""
    rows = []
    for i in range(20):  # 17 of 20 answered in time: 85 %; with 18: 90 %
        conv = f"c{i:02d}"
        rows.append((conv, at(i), "buyer"))
        if i < 17:
            rows.append((conv, at(i, days=0) + dt.timedelta(hours=1), "seller"))
    eighty_five = msgs(*rows)
    legacy_90 = LEGACY_24H.replace(name="legacy-85", target=0.85, warning_below=None)
    rules = [NEW_12H, legacy_90, NEW_12H.replace(name="new-at-least", target_comparison="at_least")]
    shops = {
        "new-12h": {"response_rate": 0.85, "meets_target": False, "tier": "below_target"},
        "legacy-85": {"meets_target": True, "tier": "meets"},
        "new-at-least": {"meets_target": True, "tier": "meets"},
    }
    return Case(log_of(eighty_five), rules, at(days=5), {}, shops=shops)


def case_period_before_exclusions() -> Case:
    """7. A 111-day-old chat resolved by an automatic reply is outside the period, not an
    exclusion; the same chat inside the period is excluded."""
    old = at(days=-111)
    rows = msgs(
        ("old", old, "buyer"),
        ("old", old + dt.timedelta(minutes=1), "auto"),
        ("new", at(0), "buyer"),
        ("new", at(0, days=0) + dt.timedelta(minutes=1), "auto"),
    )
    want = {("old", 1): ("outside_period", None), ("new", 1): ("excluded", "auto_resolved")}
    shops = {
        "new-12h": {"chats": 2, "outside_period": 1, "excluded_auto_resolved": 1, "counted": 0}
    }
    return Case(log_of(rows), [NEW_12H], at(days=2), {"new-12h": want}, shops=shops)


def case_rating_row_opens_no_chat() -> Case:
    """8. A rating on a buyer text message is the buyer's rating event: it rates the chat
    before it and opens none."""
    rows = msgs(
        ("c", at(0), "buyer"),
        ("c", at(1), "seller"),
        ("c", at(2), "buyer", "text", {"rating": "unsatisfied"}),
        ("d", at(0), "buyer"),
        ("d", at(2), "buyer", "text", {"rating": "satisfied"}),  # rates the waiting chat
    )
    want = {("c", 1): ("answered_in_time", None), ("d", 1): ("unanswered", None)}
    shops = {"new-12h": {"chats": 2, "rated": 2, "satisfied": 1}}
    return Case(log_of(rows), [NEW_12H], at(days=2), {"new-12h": want}, shops=shops)


def case_auto_reply_then_late_human() -> Case:
    """9. After an automatic reply the chat waits for one session (24 h): a human answer
    30 h later does not answer it (it was resolved by the automatic reply), one 20 h
    later does; a buyer message 30 h later opens a new chat."""
    rows = msgs(
        ("late", at(0), "buyer"),
        ("late", at(0.1), "auto"),
        ("late", at(30.1), "seller"),
        ("soon", at(0), "buyer"),
        ("soon", at(0.1), "auto"),
        ("soon", at(20.1), "seller"),
        ("back", at(0), "buyer"),
        ("back", at(0.1), "auto"),
        ("back", at(30.1), "buyer"),
    )
    want = {
        ("late", 1): ("excluded", "auto_resolved"),
        ("soon", 1): ("answered_late", None),
        ("back", 1): ("excluded", "auto_resolved"),
        ("back", 2): ("unanswered", None),
    }
    return Case(log_of(rows), [NEW_12H], at(days=3), {"new-12h": want})


def case_holiday_pause() -> Case:
    """6. Holiday mode [4 h, 28 h): with the clock paused a chat opened 4 h before it is due
    24 h later; edges: a holiday starting at the opening excludes the chat (both readings),
    one ending at the opening changes nothing, one starting at the deadline moves the
    deadline to its end, one ending at the deadline adds its length; overlapping and
    adjacent intervals are merged."""
    shops = [{"shop_id": s, "timezone": "UTC"} for s in ("s1", "s2", "s3", "s4", "s5", "s6")]

    def row(shop: str, conv: str, hours: float, sender: str = "buyer") -> tuple:
        return (conv, at(hours), sender, "text", {"shop": shop, "buyer": conv})

    rows = msgs(
        row("s1", "a", 0),  # opened 4 h before the holiday
        row("s1", "a", 20, "seller"),  # 20 h later: 20 - 24 h paused... in time
        row("s2", "b", 4),  # opened as the holiday starts
        row("s3", "c", 28),  # opened as a holiday ends
        row("s3", "c", 41, "seller"),  # 13 h later: late either way
        row("s4", "d", 0),  # deadline (12 h) = start of the holiday [12 h, 20 h)
        row("s5", "e", 0),  # holiday [6 h, 12 h) ends at the deadline
        row("s6", "f", 0),  # [2, 5) + [4, 8) + [8, 9): one 7 h interval
    )
    holiday = [
        {"shop_id": "s1", "start": at(4), "end": at(28)},
        {"shop_id": "s2", "start": at(4), "end": at(28)},
        {"shop_id": "s3", "start": at(0), "end": at(28)},
        {"shop_id": "s4", "start": at(12), "end": at(20)},
        {"shop_id": "s5", "start": at(6), "end": at(12)},
        {"shop_id": "s6", "start": at(2), "end": at(5)},
        {"shop_id": "s6", "start": at(4), "end": at(8)},
        {"shop_id": "s6", "start": at(8), "end": at(9)},
    ]
    log = log_of(rows, shops=shops, holiday=holiday)
    calendar = {
        ("a", 1): ("answered_late", None),
        ("b", 1): ("excluded", "holiday_mode"),
        ("c", 1): ("answered_late", None),
        ("d", 1): ("unanswered", None),
        ("e", 1): ("unanswered", None),
        ("f", 1): ("unanswered", None),
    }
    paused = {**calendar, ("a", 1): ("answered_in_time", None)}
    deadlines = {
        ("a", 1): at(36),
        ("c", 1): at(40),
        ("d", 1): at(20),
        ("e", 1): at(18),
        ("f", 1): at(19),
    }
    return Case(
        log,
        [NEW_12H, PAUSE],
        at(days=3),
        {"new-12h": calendar, "pause": paused},
        deadlines={"pause": deadlines, "new-12h": {("a", 1): at(12), ("d", 1): at(12)}},
    )


def case_pause_with_weekend_deadline() -> Case:
    """6. The paused clock on top of the chatbot-weekend deadline: Monday 12:00 moves later
    by the holiday time between the opening and it."""
    sat = at(days=-2)  # Saturday 09:00 UTC
    shops = [{"shop_id": "s1", "timezone": "UTC", "chatbot_enabled": True}]
    rows = msgs(("w", sat, "buyer"))
    holiday = [
        {"shop_id": "s1", "start": sat + dt.timedelta(hours=3), "end": sat + dt.timedelta(hours=5)}
    ]
    rule = LEGACY_24H.replace(name="legacy-pause", holiday_mode="pause_clock")
    want = {("w", 1): ("unanswered", None)}
    monday_noon = at(3)  # T0 is Monday 09:00
    return Case(
        log_of(rows, shops=shops, holiday=holiday),
        [LEGACY_24H, rule],
        at(days=3),
        {"legacy-24h": want, "legacy-pause": want},
        deadlines={
            "legacy-24h": {("w", 1): monday_noon},
            "legacy-pause": {("w", 1): monday_noon + dt.timedelta(hours=2)},
        },
    )


def case_min_chats() -> Case:
    """A shop with 3 counted chats, 2 answered in time (66.7 %): rated under no minimum and
    a minimum of 3; not rated under a minimum of 4; rated at the default rate (90 %, so it
    meets the target) under a minimum of 4 with a default. Its confidence: too close to call
    on its own chats (the 95 % interval of 2 of 3 is 20.8-93.8 %), else too few chats."""
    rows = msgs(
        ("a", at(0), "buyer"),
        ("a", at(1), "seller"),
        ("b", at(2), "buyer"),
        ("b", at(3), "seller"),
        ("c", at(4), "buyer"),
        ("c", at(30), "seller"),  # 26 h later: late under 12 h
    )
    rules = [
        NEW_12H,
        NEW_12H.replace(name="min-3", min_chats=3),
        NEW_12H.replace(name="min-4", min_chats=4),
        NEW_12H.replace(name="min-4-default", min_chats=4, default_rate=0.9),
    ]
    own = {"response_rate": 2 / 3, "meets_target": False, "tier": "below_target"}
    close = {"counted": 3, "confidence": "too_close_to_call"}
    few = {"counted": 3, "confidence": "too_few_chats", "response_rate_low": None}
    shops = {
        "new-12h": {**own, **close},
        "min-3": {**own, **close},
        "min-4": {"response_rate": None, "meets_target": None, "tier": None, **few},
        "min-4-default": {"response_rate": 0.9, "meets_target": True, "tier": "meets", **few},
    }
    return Case(log_of(rows), rules, at(days=5), {}, shops=shops)


CASES: dict[str, Callable[[], Case]] = {
    "auto_broadcast": case_auto_broadcast_opens_a_thread,
    "target_comparison": case_target_comparison,
    "period_first": case_period_before_exclusions,
    "rating_row": case_rating_row_opens_no_chat,
    "auto_then_late_human": case_auto_reply_then_late_human,
    "holiday_pause": case_holiday_pause,
    "pause_weekend": case_pause_with_weekend_deadline,
    "min_chats": case_min_chats,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(CASES))
def test_policy_case(name: str, engine: str) -> None:
    case = CASES[name]()
    check_case(case, evaluate(case.log, case.rules, engine, case.as_of))


# --- 1, 2: the business clock ------------------------------------------------------------


def business_case(zone: str, open_at: dt.datetime, answer_after: dt.timedelta | None, hours: float):
    rows = msgs(("c", open_at, "buyer"))
    if answer_after is not None:
        rows += msgs(("c", open_at + answer_after, "seller"))
        rows[-1]["message_id"] = 2
    log = log_of(rows, shops=[{"shop_id": "s1", "timezone": zone}])
    rule = NEW_12H.replace(
        name="business", clock="business", business_schedule=EVERY_DAY, window_hours=hours
    )
    return log, rule


@pytest.mark.parametrize("engine", ["compiled", "global_order", "per_conversation", "buckets"])
def test_business_deadline_in_a_dst_gap_is_the_moment_the_clocks_jump(engine):
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    opened = dt.datetime(2025, 3, 29, 14, 30, tzinfo=berlin)
    # 12 working hours on the wall clock end at 02:30 on 30 March, which does not exist:
    # the deadline is 03:00 CEST (01:00 UTC), when the clocks jump
    jump = dt.datetime(2025, 3, 30, 1, 0, tzinfo=dt.UTC)
    for answer, cutoff, status in (
        (dt.timedelta(seconds=60), opened + dt.timedelta(hours=1), "answered_in_time"),
        (None, opened + dt.timedelta(hours=2), "pending"),
        (None, jump - dt.timedelta(microseconds=1), "pending"),
        (None, jump, "unanswered"),  # due at or before the cutoff
    ):
        log, rule = business_case("Europe/Berlin", opened, answer, 12)
        ev = evaluate(log, [rule], engine, cutoff)
        row = ev.chats.row(0, named=True)
        assert row["deadline"] == jump
        assert row["status"] == status


def test_business_clock_is_exact_to_the_microsecond():
    opened = dt.datetime(2025, 8, 4, 9, 0, 0, 700_000, tzinfo=dt.UTC)  # a Monday
    answered = dt.datetime(2025, 8, 4, 13, 0, 0, 500_000, tzinfo=dt.UTC)
    rows = msgs(("c", opened, "buyer"), ("c", answered, "seller"))
    rule = NEW_12H.replace(name="office-4h", clock="business", window_hours=4)
    row = compare(log_of(rows), [rule]).chats.row(0, named=True)
    assert row["response_s"] == pytest.approx(14_399.8, abs=1e-9)
    assert row["deadline"] == dt.datetime(2025, 8, 4, 13, 0, 0, 700_000, tzinfo=dt.UTC)
    assert row["status"] == "answered_in_time"


#: zones with DST changes of 1 h, 30 min (Lord Howe) and odd offsets (+05:45, -03:30)
ZONES = {
    "Europe/Berlin": [dt.datetime(2025, 3, 30, 1), dt.datetime(2025, 10, 26, 1)],
    "America/New_York": [dt.datetime(2025, 3, 9, 7), dt.datetime(2025, 11, 2, 6)],
    "Australia/Lord_Howe": [dt.datetime(2025, 4, 5, 15), dt.datetime(2025, 10, 4, 15, 30)],
    "Asia/Kathmandu": [dt.datetime(2025, 3, 29, 18, 15)],  # +05:45, no DST: midnight
    "America/St_Johns": [dt.datetime(2025, 3, 9, 5, 30), dt.datetime(2025, 11, 2, 4, 30)],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(sorted(ZONES)),
    which=st.integers(0, 1),
    before_us=st.integers(0, 30 * 3_600_000_000),
    window_min=st.integers(1, 36 * 60),
)
def test_business_deadline_is_the_first_instant_the_window_has_elapsed(
    zone, which, before_us, window_min
):
    """On a 24/7 schedule the working time is wall-clock time: the deadline is the first
    instant whose wall-clock time reaches the opening's plus the window, never null."""
    tz = zoneinfo.ZoneInfo(zone)
    change = ZONES[zone][which % len(ZONES[zone])].replace(tzinfo=dt.UTC)
    opened = change - dt.timedelta(microseconds=before_us)
    log, rule = business_case(zone, opened, None, window_min / 60)
    row = compare(log, [rule], as_of=opened).chats.row(0, named=True)
    deadline = row["deadline"]
    assert deadline is not None and deadline > opened

    def wall(u: dt.datetime) -> dt.datetime:
        return u.astimezone(tz).replace(tzinfo=None)

    target = wall(opened) + dt.timedelta(minutes=window_min)
    assert wall(deadline) >= target
    assert wall(deadline - dt.timedelta(microseconds=1)) < target
    assert row["status"] == "pending"


# --- 6: settings -----------------------------------------------------------------------


def test_pause_clock_needs_the_calendar_clock():
    with pytest.raises(RuleError, match="holiday_mode 'pause_clock' works with the calendar"):
        PAUSE.replace(clock="business")


def test_pause_clock_without_holidays_changes_nothing():
    rows = msgs(("c", at(0), "buyer"), ("c", at(13), "seller"), ("d", at(1), "buyer"))
    log = log_of(rows)
    ev = compare(log, [NEW_12H, PAUSE.replace(name="new-12h-p")], as_of=at(days=2))
    a, b = (ev.chats.filter(pl.col("rule") == r).drop("rule") for r in ("new-12h", "new-12h-p"))
    assert a.equals(b)


# --- 7: row accounting ---------------------------------------------------------------------


@st.composite
def logs_with_side_tables(draw):
    rows = draw(random_logs(ties=draw(st.booleans()), grid=draw(st.booleans())))
    holiday = [
        {"shop_id": f"s{draw(st.integers(0, 1))}", "start": at(start), "end": at(start + length)}
        for start, length in draw(
            st.lists(st.tuples(st.floats(-10, 200), st.floats(0.5, 60)), max_size=3)
        )
    ]
    # side-table rows of shops with messages (others only draw a warning)
    present = {r["shop_id"] for r in rows}
    holiday = [h for h in holiday if h["shop_id"] in present]
    buyers = sorted({r["buyer_id"] for r in rows})
    blocked = [
        {"shop_id": f"s{draw(st.integers(0, 1))}", "buyer_id": b, "blocked_at": at(0)}
        for b in draw(st.lists(st.sampled_from(buyers), max_size=2, unique=True))
    ]
    blocked = [b for b in blocked if b["shop_id"] in present]
    shops = [{"shop_id": s, "timezone": "UTC"} for s in ("s0", "s1")]
    return log_of(rows, shops=shops, holiday=holiday or None, blocked=blocked or None)


ACCOUNTING_RULES = [
    NEW_12H.replace(name="p2", period_days=2),
    LEGACY_24H.replace(name="p5", period_days=5, holiday_mode="pause_clock"),
    NEW_12H.replace(
        name="explicit", period_start=dt.date(2025, 8, 5), period_end=dt.date(2025, 8, 9)
    ),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs_with_side_tables(), cutoff_h=st.floats(0, 400))
def test_row_accounting_holds_per_shop_and_rule_on_every_engine(log, cutoff_h):
    """``chats = counted + pending + outside_period + sum of excluded_<reason>``, the
    exclusions only inside the period, and every engine gives the same shop table."""
    first = None
    for engine in ENGINES:
        ev = evaluate(log, ACCOUNTING_RULES, engine, at(cutoff_h))
        shops = ev.shops.sort("rule", "shop_id")
        parts = pl.sum_horizontal(
            "counted", "pending", "outside_period", *(f"excluded_{r}" for r in EXCLUSIONS)
        )
        assert shops.select((pl.col("chats") == parts).all()).item(), engine
        # no chat outside the period carries an exclusion reason
        outside = ev.chats.filter(pl.col("status") == "outside_period")
        assert outside["excluded_reason"].null_count() == outside.height
        if first is None:
            first = shops
        else:
            assert shops.equals(first), engine
