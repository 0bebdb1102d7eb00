"""Labels, number formats and colours: every code a reader can see has a human label."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing

import polars as pl
import pytest

from chatsim.analysis import FLIPS, flips, pass_rates, sweep
from chatsim.engine.codes import ANSWERED_BY_NAMES, RATING_NAMES, STATUSES
from chatsim.engine.finish import CONFIDENCE
from chatsim.errors import ReportError
from chatsim.explain.colors import (
    RULE_COLORS,
    RULE_PALETTE,
    SEGMENT_PALETTE,
    rule_colors,
    segment_colors,
)
from chatsim.explain.labels import (
    ARCHETYPE_LABELS,
    AUTO_REPLY_LABELS,
    CLOCK_LABELS,
    CONFIDENCE_LABELS,
    FIELD_LABELS,
    FLIP_LABELS,
    MESSAGE_KIND_LABELS,
    MINUS,
    RATING_LABELS,
    REASON_LABELS,
    SENDER_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    TIERS,
    column_label,
    describe_change,
    field_label,
    format_count,
    format_field,
    format_hours,
    format_pp,
    format_share,
    humanize,
    label,
    labelled,
    segment_label,
)
from chatsim.metrics import compare
from chatsim.rules import (
    AUTO_REPLY_MODES,
    AVG_RESPONSE_TIME,
    CHAT_SATISFACTION,
    CLOCKS,
    DEFAULT_EXCLUSIONS,
    EXCLUSIONS,
    LEGACY_24H,
    NEW_12H,
    Rule,
)
from chatsim.sample import sample_log
from chatsim.scenario import BUILTIN_ARCHETYPES
from chatsim.schema.columns import KINDS, SENDERS


@pytest.mark.parametrize(
    ("codes", "table"),
    [
        (FLIPS, FLIP_LABELS),
        (STATUSES, STATUS_LABELS),
        (TIERS, TIER_LABELS),
        (CONFIDENCE, CONFIDENCE_LABELS),
        (EXCLUSIONS, REASON_LABELS),
        (AUTO_REPLY_MODES, AUTO_REPLY_LABELS),
        (CLOCKS, CLOCK_LABELS),
        (ANSWERED_BY_NAMES, {k: SENDER_LABELS[k] for k in ANSWERED_BY_NAMES}),
        (RATING_NAMES, RATING_LABELS),
        (SENDERS, SENDER_LABELS),
        (KINDS, MESSAGE_KIND_LABELS),
        (tuple(BUILTIN_ARCHETYPES), ARCHETYPE_LABELS),
    ],
)
def test_every_code_of_every_enum_has_a_label(codes, table):
    assert set(codes) <= set(table), set(codes) - set(table)
    for code in codes:
        assert table[code] and table[code] != code
        assert "_" not in table[code]


def test_label_finds_codes_in_any_table_and_in_their_own():
    assert label("passes_both") == "Passes both rules"
    assert label("answered_late") == "Answered late"
    assert label("auto_resolved") == "Resolved by automatic reply"
    assert label("exclude_resolved") == AUTO_REPLY_LABELS["exclude_resolved"]
    assert label("agency_247") == "24/7 agencies"
    assert label("below_target", "tier") == "Below the target"
    assert label(None, "reason") == "Not excluded"  # no more "null" reasons
    assert label(None, "tier") == "Not rated"
    with pytest.raises(ReportError, match="unknown label kind 'colour'"):
        label("x", "colour")


def test_every_tier_a_rule_names_is_labelled():
    for rule in (LEGACY_24H, NEW_12H):
        for rate in (0.0, 0.5, 0.849, 0.86, 0.899, 0.9, 1.0):
            assert rule.tier(rate) in TIER_LABELS


def test_every_rule_field_and_literal_value_reads_as_words():
    for f in dataclasses.fields(Rule):
        assert field_label(f.name) != f.name and "_" not in field_label(f.name)
        if f.name in ("name", "window_hours", "target", "valid_replies_only"):
            assert f.name in FIELD_LABELS
    hints = typing.get_type_hints(Rule)
    for name, hint in hints.items():
        if typing.get_origin(hint) is typing.Literal:
            for value in typing.get_args(hint):
                assert label(value) != value, (name, value)


def test_generic_ids_and_segments():
    assert humanize("solo_weekday") == "Solo weekday"
    assert humanize("saturday_half_day") == "Saturday half day"
    assert humanize("GB") == "GB" and humanize("new-12h") == "new-12h"
    assert segment_label("solo_weekdays") == "Solo weekday sellers"
    assert segment_label("weekday_chatbot") == "Weekday chatbot"
    assert segment_label("all") == "All shops"


def test_every_table_column_a_reader_sees_has_a_readable_header():
    ev = compare(sample_log())
    columns = set(ev.shops.columns) | set(ev.chats.columns) | set(ev.summary().columns)
    columns |= set(flips(ev).columns) | set(pass_rates(ev, by="segment").columns)
    columns |= set(sweep(sample_log(), [0.85], [12]).columns)
    columns |= {"what_if", "failing_before", "rescued", "newly_failing", "share_passing_after"}
    for c in columns:
        assert column_label(c) != c and "_" not in column_label(c), c
    assert column_label("excluded_auto_resolved") == "Excluded: resolved by automatic reply"


def test_labelled_relabels_code_columns_and_headers():
    ev = compare(sample_log())
    f = labelled(flips(ev).select("shop_id", "flip", "segment"))
    assert set(f["flip"]) <= set(FLIP_LABELS.values())
    assert set(f["segment"]) == {"Small teams", "Solo", "Chatbot"}
    chats = labelled(ev.chats.select("status", "excluded_reason"), headers=True)
    assert chats.columns == ["Status", "Exclusion reason"]
    assert set(chats["Exclusion reason"]) <= set(REASON_LABELS.values()) | {"Not excluded"}
    assert not chats["Status"].is_null().any()
    explicit = labelled(pl.DataFrame({"x": ["blocked", None]}), {"x": "reason"})
    assert explicit["x"].to_list() == ["Blocked buyer", "Not excluded"]


def test_number_formats():
    assert format_share(0.5773) == "57.7 %"
    assert format_share(0.85, 0) == "85 %"
    assert format_share(None) == "—" and format_share(float("nan")) == "—"
    assert format_pp(-0.254) == f"{MINUS}25.4 pp"
    assert format_pp(0.03) == "+3.0 pp"
    assert format_pp(-0.00001) == "0.0 pp"  # no "-0.0"
    assert format_count(1234) == "1,234" and format_count(-1234) == f"{MINUS}1,234"
    assert format_hours(6.0) == "6 h" and format_hours(6.5) == "6.5 h"
    assert format_hours(6.25) == "6.25 h" and format_hours(12) == "12 h"
    for text in (format_share(-0.1), format_pp(-0.1), format_count(-1), format_hours(-1)):
        assert "-" not in text and MINUS in text
    # no visible number with more than 4 decimals, no "6.00"
    for text in (format_share(1 / 3), format_pp(1 / 3), format_hours(1 / 3)):
        assert not re.search(r"\d\.\d{5}", text) and not text.endswith(".00 h")


def test_ranges():
    from chatsim.explain.formats import format_range

    assert format_range(0.301, 0.346) == "30.1–34.6 %"
    assert format_range(0.3, 0.3) == "30.0 %"  # both ends read the same: one value
    assert format_range(-0.142, -0.104, "pp") == f"{MINUS}14.2 to {MINUS}10.4 pp"
    assert format_range(-0.01, 0.02, "pp") == f"{MINUS}1.0 to +2.0 pp"
    assert format_range(-0.05, 0.1) == f"{MINUS}5.0 to 10.0 %"
    assert format_range(67.6, 84.2, "count") == "68–84"
    assert format_range(1234.4, 2345.6, "count") == "1,234–2,346"
    assert format_range(None, 0.3) == "—"


def test_confidence_and_min_chats_read_as_words():
    assert label("too_close_to_call") == "Too close to call"
    assert labelled(pl.DataFrame({"confidence": ["clear_fail"]}))["confidence"].item() == (
        "Clearly misses the target"
    )
    assert describe_change("min_chats", 0, 2) == "Minimum counted chats off → 2 counted chats"
    assert describe_change("default_rate", None, 0.57) == "Rate under the minimum no rating → 57 %"


def test_rule_field_values_and_changes():
    assert describe_change("window_hours", 24.0, 12.0) == "Window 24 h → 12 h"
    assert describe_change("target", 0.9, 0.85) == "Target 90 % → 85 %"
    assert describe_change("target", 0.9, 0.875) == "Target 90 % → 87.5 %"
    assert describe_change("valid_replies_only", True, False) == "Valid-reply filter on → off"
    assert describe_change("auto_reply", "exclude_resolved", "count_as_answer") == (
        "Automatic replies exclude resolved chats → count as answers"
    )
    assert (
        describe_change("clock", "calendar", "business") == "Clock calendar time → business hours"
    )
    assert format_field("exclusions", DEFAULT_EXCLUSIONS) == (
        "holiday mode, blocked buyer, started by the seller, resolved by automatic reply"
    )
    assert format_field("exclusions", frozenset()) == "none"
    assert format_field("period_start", dt.date(2025, 8, 1)) == "2025-08-01"
    assert format_field("period_start", None) == "none"
    assert format_field("period_days", 30) == "30 days"
    assert format_field("session_hours", 24.0) == "24 h"
    assert format_field("business_schedule", LEGACY_24H.business_schedule).startswith(
        "Mon 09:00–18:00;"
    )


def test_rule_colours_are_fixed_for_builtins_and_deterministic_for_others():
    assert rule_colors(["new-12h", "legacy-24h"]) == {
        "new-12h": RULE_COLORS["new-12h"],
        "legacy-24h": RULE_COLORS["legacy-24h"],
    }
    names = ["legacy-24h", "new-12h", "new-10h", "new-8h", "pilot"]
    colours = rule_colors(names)
    assert len(set(colours.values())) == len(names)
    assert colours == rule_colors(list(reversed(names)))  # the order does not matter
    assert set(colours.values()) <= set(RULE_PALETTE)
    # a custom rule never takes a built-in rule's colour, even without the built-ins
    assert rule_colors(["pilot"])["pilot"] not in RULE_COLORS.values()


def test_peer_presets_keep_one_distinct_colour_on_every_page():
    from chatsim.presets import PRESET_RULES

    page = ["legacy-24h", "new-12h", *PRESET_RULES]
    colours = rule_colors(page)
    assert len(set(colours.values())) == len(page)  # seven rules, seven colours
    for name in PRESET_RULES:  # alone, with the built-ins, or with a custom rule beside it
        assert rule_colors([name])[name] == colours[name]
        assert rule_colors(["pilot", "new-12h", name])[name] == colours[name]
    assert rule_colors(["pilot", *PRESET_RULES])["pilot"] not in colours.values()


def test_segment_colours_never_reuse_rule_colours():
    assert not set(SEGMENT_PALETTE) & set(RULE_PALETTE)
    for c in (*SEGMENT_PALETTE, *RULE_PALETTE):
        assert re.fullmatch(r"#[0-9A-F]{6}", c)
    builtin = segment_colors(BUILTIN_ARCHETYPES)
    assert len(set(builtin.values())) == len(BUILTIN_ARCHETYPES)
    # the built-in archetypes keep their colour in any scenario
    assert segment_colors(["x_custom", "agency_247"])["agency_247"] == builtin["agency_247"]
    many = segment_colors([f"seg_{i}" for i in range(len(SEGMENT_PALETTE))])
    assert len(set(many.values())) == len(SEGMENT_PALETTE)
    assert not set(many.values()) & set(RULE_PALETTE)


def test_the_flips_confidence_columns_read_as_labels():
    df = pl.DataFrame({"confidence_old": ["clear_pass"], "confidence_new": ["too_close_to_call"]})
    assert labelled(df).row(0) == ("Clearly meets the target", "Too close to call")


# --- rules of other metrics: their fields, values and figures read as words -----------------


def test_the_rule_figure_columns_and_codes_read_as_words():
    from chatsim.rulekinds import MEASURES, METRICS, RATE_KINDS

    assert column_label("rule_value") == "Rule's figure"
    assert column_label("rule_measure") == "Figure measured"
    assert label("at_most") == "at most"
    from chatsim.explain.labels import LABEL_TABLES

    for kind, codes in (("rule_measure", MEASURES), ("metric", METRICS), ("rate_kind", RATE_KINDS)):
        assert set(codes) == set(LABEL_TABLES[kind]), kind  # every code labelled, no stale one
        assert all("_" not in label(c, kind) for c in codes), kind
    assert "lower is better" in label("late_share", "rule_measure")
    assert "hours" in label("mean_response_hours", "rule_measure")
    shops = compare(sample_log(), [NEW_12H, AVG_RESPONSE_TIME]).shops
    shown = labelled(shops.select("rule_measure"))["rule_measure"].unique().sort().to_list()
    assert shown == ["Mean response time (hours; lower is better)", "Response rate"]


def test_the_new_rule_fields_describe_their_changes_in_words():
    assert describe_change("metric", "response_rate", "average_response_time") == (
        "Metric response rate → average response time"
    )
    assert describe_change("rate_kind", "share", "late_share") == (
        "Rate kind share answered in time → late share"
    )
    assert describe_change("target_comparison", "more_than", "at_most") == (
        "Target: more than → at most"
    )
    assert describe_change("counted_unit", "chat", "first_chat") == (
        "Counted unit every chat → first chat of a conversation"
    )
    assert describe_change("deadline", "window", "daily_cutoff") == (
        "Deadline window after the chat → daily cut-off"
    )
    assert describe_change("cutoff_time", None, "17:00") == "Daily cut-off none → 17:00"
    assert describe_change("due_time", "12:00", "18:00") == "Due time 12:00 → 18:00"
    assert describe_change("due_day_offset", 0, 1) == "Due day the same day → the next day"
    assert format_field("due_day_offset", 2) == "2 days later"
    assert describe_change("time_statistic", "mean", "median") == (
        "Response-time statistic mean → median"
    )
    assert describe_change("satisfaction_base", "rated", "received") == (
        "Satisfaction over rated chats → chats received"
    )
    assert describe_change("blend_weight", 0.5, 0.7) == "Weight of the period's rate 50 % → 70 %"
    assert describe_change("recent_fraction", 0.25, 0.1) == "Most recent chats 25 % → 10 %"
    for name in (
        "metric",
        "rate_kind",
        "counted_unit",
        "deadline",
        "cutoff_time",
        "due_time",
        "due_day_offset",
        "time_statistic",
        "satisfaction_base",
        "blend_weight",
        "recent_fraction",
    ):
        assert name in FIELD_LABELS and "_" not in field_label(name), name


def test_a_rules_figure_and_target_read_with_their_unit_and_side():
    from chatsim.explain.rulefigures import axis_title, figure_name, target_text

    late = NEW_12H.replace(
        name="late", rate_kind="late_share", target=0.1, target_comparison="at_most"
    )
    assert target_text(AVG_RESPONSE_TIME) == "at most 2 h"
    assert target_text(late) == "at most 10 %"
    assert target_text(LEGACY_24H) == "at least 90 %"
    assert target_text(CHAT_SATISFACTION) == "at least 80 %"
    assert "lower is better" in axis_title(late) and "hours" in axis_title(AVG_RESPONSE_TIME)
    assert figure_name(CHAT_SATISFACTION) == "Chats rated 4-5 stars"


def test_the_bridge_takes_no_step_it_cannot_attribute():
    from chatsim.explain.bridge import bridge_steps

    # settings neither rule reads make no step
    assert bridge_steps(NEW_12H, NEW_12H.replace(name="y", blend_weight=0.7)) == []
    assert bridge_steps(NEW_12H, NEW_12H.replace(name="y", time_statistic="median")) == []
    # a rate and a time in hours: what is measured and its target are one step, last
    steps = bridge_steps(LEGACY_24H, AVG_RESPONSE_TIME)
    assert steps[-1].what == "What is measured" and steps[-1].rule == AVG_RESPONSE_TIME
    assert {"metric", "target", "target_comparison"} <= set(steps[-1].fields)
    assert steps[-1].label == (
        "What is measured: response rate, at least 90 % → mean response time, at most 2 h"
    )
    assert all("200 %" not in s.label for s in steps)
    assert [s.what for s in steps[:-1]] == [
        "Valid-reply filter",
        "Chatbot-weekend deadline",
        "Window",
    ]
    # a response-time target changes in hours
    slower = AVG_RESPONSE_TIME.replace(name="art-3h", target=3)
    assert [s.label for s in bridge_steps(AVG_RESPONSE_TIME, slower)] == ["Target 2 h → 3 h"]
