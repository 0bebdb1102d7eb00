"""The analysis that explains a rule change: what a report's first screen says.

Everything here reads an :class:`~chatsim.metrics.Evaluation` of an old and a new rule
(its first and last rule by default) and returns small polars tables or frozen
dataclasses that report pages show as they are:

* :mod:`~chatsim.explain.labels` and :mod:`~chatsim.explain.colors`: what a reader
  sees: human labels for every code name, number formats, one colour per rule;
* :mod:`~chatsim.explain.headline`: the key numbers (:func:`key_numbers`);
* :mod:`~chatsim.explain.bridge`: the waterfall from the old rule to the new one, one
  field difference at a time (:func:`bridge_table`);
* :mod:`~chatsim.explain.causes`: why shops lose status: when their missed chats open
  and how late they are answered (:func:`flip_causes`), late and unanswered chats by
  hour of week with a caption written from the data;
* :mod:`~chatsim.explain.takeaways`: three to five sentences written from the figures;
* :mod:`~chatsim.explain.uncertainty`: a replication run's key numbers as ranges, what the
  ranges mean, and warnings when they are too wide (:mod:`chatsim.replications`);
* :mod:`~chatsim.explain.variants`: what a what-if variant changes, and why it rescues no
  shop (:func:`chatsim.analysis.what_if`);
* :mod:`~chatsim.explain.formats`: how numbers are written (shares, pp, counts, ranges).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> log = sample_log()
    >>> ev = compare(log)
    >>> key_numbers(ev).as_frame()["value"].to_list()[:2]
    ['33.3 %', '33.3 %']
    >>> bridge_table(ev, log)["kind"].to_list()
    ['start', 'step', 'step', 'step', 'step', 'step', 'end']
"""

from __future__ import annotations

from chatsim.explain.bridge import (
    BRIDGE_ORDER,
    NO_EFFECT_FIELDS,
    BridgeStep,
    bridge_steps,
    bridge_table,
    largest_step,
)
from chatsim.explain.causes import (
    NIGHT,
    OFF_HOURS,
    FlipCauses,
    flip_causes,
    hour_of_week_caption,
    lateness_bands,
    missed_by_hour_of_week,
    with_open_time,
)
from chatsim.explain.colors import (
    PRESET_COLORS,
    RULE_COLORS,
    RULE_PALETTE,
    SEGMENT_PALETTE,
    SEQUENTIAL_SCHEME,
    rule_colors,
    segment_colors,
)
from chatsim.explain.formats import DASH, format_range
from chatsim.explain.headline import (
    SEGMENT_COLUMNS,
    Headline,
    SegmentChange,
    key_numbers,
    segment_column,
)
from chatsim.explain.labels import (
    CONFIDENCE_LABELS,
    LABEL_TABLES,
    MINUS,
    MISSING,
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
from chatsim.explain.takeaways import FEW_SHOPS, Takeaway, write_takeaways
from chatsim.explain.uncertainty import (
    WIDE_COUNT,
    WIDE_SHARE,
    IntervalHeadline,
    interval_key_numbers,
    interval_reading,
    interval_takeaways,
    interval_warnings,
    is_too_wide,
)

__all__ = [
    "BRIDGE_ORDER",
    "CONFIDENCE_LABELS",
    "DASH",
    "FEW_SHOPS",
    "LABEL_TABLES",
    "MINUS",
    "MISSING",
    "NIGHT",
    "NO_EFFECT_FIELDS",
    "OFF_HOURS",
    "PRESET_COLORS",
    "RULE_COLORS",
    "RULE_PALETTE",
    "SEGMENT_COLUMNS",
    "SEGMENT_PALETTE",
    "SEQUENTIAL_SCHEME",
    "WIDE_COUNT",
    "WIDE_SHARE",
    "BridgeStep",
    "FlipCauses",
    "Headline",
    "IntervalHeadline",
    "SegmentChange",
    "Takeaway",
    "bridge_steps",
    "bridge_table",
    "column_label",
    "describe_change",
    "field_label",
    "flip_causes",
    "format_count",
    "format_field",
    "format_hours",
    "format_pp",
    "format_range",
    "format_share",
    "hour_of_week_caption",
    "humanize",
    "interval_key_numbers",
    "interval_reading",
    "interval_takeaways",
    "interval_warnings",
    "is_too_wide",
    "key_numbers",
    "label",
    "labelled",
    "largest_step",
    "lateness_bands",
    "missed_by_hour_of_week",
    "rule_colors",
    "segment_colors",
    "segment_column",
    "segment_label",
    "with_open_time",
    "write_takeaways",
]
