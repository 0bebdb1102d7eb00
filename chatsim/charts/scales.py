"""What every report chart shares: width, share axes, one colour per rule, segment colours.

Example:
    >>> rule_scale(["legacy-24h", "new-12h"]).to_dict()["domain"]
    ['legacy-24h', 'new-12h']
"""

from __future__ import annotations

from typing import Any

import altair as alt

from chatsim.explain.colors import rule_colors, segment_colors
from chatsim.metrics import Evaluation

__all__ = [
    "PCT_LABEL",
    "TIER_COLORS",
    "WIDTH",
    "pct_axis",
    "rule_label_scale",
    "rule_order",
    "rule_scale",
    "segment_scale",
    "tier_scale",
]

#: Width of a full-width chart, in pixels (pages stay within 1024 px).
WIDTH = 620
#: Axis label expression writing a share as "85 %" (the labels module's format).
PCT_LABEL = "format(datum.value * 100, '.0f') + ' %'"


def rule_order(ev: Evaluation) -> list[str]:
    """The evaluation's rule names, old rule first."""
    return [r.name for r in ev.rules]


def rule_scale(names: list[str]) -> alt.Scale:
    """One colour per rule, the same on every page (:mod:`chatsim.explain.colors`)."""
    colors = rule_colors(names)
    return alt.Scale(domain=list(colors), range=list(colors.values()))


def rule_label_scale(labels_by_name: dict[str, str]) -> alt.Scale:
    """The rules' colours (:func:`rule_scale`), keyed by the labels a chart shows for them
    (e.g. a preset's "..., as publicly described").

    Example:
        >>> rule_label_scale({"new-12h": "New rule"}).to_dict()["domain"]
        ['New rule']
    """
    colors = rule_colors(list(labels_by_name))
    return alt.Scale(domain=[labels_by_name[n] for n in colors], range=[colors[n] for n in colors])


def segment_scale(labels_by_code: dict[str, str]) -> alt.Scale:
    """Segment colours (never a rule colour), keyed by the segments' labels."""
    colors = segment_colors(labels_by_code)
    return alt.Scale(domain=[labels_by_code[c] for c in colors], range=[colors[c] for c in colors])


def pct_axis(**kw: Any) -> alt.Axis:
    """An axis labelling shares as ``85 %``."""
    return alt.Axis(labelExpr=PCT_LABEL, **kw)


#: Tier colours, best first (meets, below the target, warning, enforcement): green to red,
#: never a rule colour.
TIER_COLORS: dict[str, str] = {
    "meets": "#009E73",
    "below_target": "#F0E442",
    "warning": "#E69F00",
    "enforcement": "#CC3311",
}


def tier_scale() -> alt.Scale:
    """The tiers' colours (:data:`TIER_COLORS`), keyed by their labels.

    Example:
        >>> tier_scale().to_dict()["domain"][0]
        'Meets the target'
    """
    from chatsim.explain.labels import label

    return alt.Scale(
        domain=[label(t, "tier") for t in TIER_COLORS], range=list(TIER_COLORS.values())
    )
