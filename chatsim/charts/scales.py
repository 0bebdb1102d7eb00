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

__all__ = ["PCT_LABEL", "WIDTH", "pct_axis", "rule_order", "rule_scale", "segment_scale"]

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


def segment_scale(labels_by_code: dict[str, str]) -> alt.Scale:
    """Segment colours (never a rule colour), keyed by the segments' labels."""
    colors = segment_colors(labels_by_code)
    return alt.Scale(domain=[labels_by_code[c] for c in colors], range=[colors[c] for c in colors])


def pct_axis(**kw: Any) -> alt.Axis:
    """An axis labelling shares as ``85 %``."""
    return alt.Axis(labelExpr=PCT_LABEL, **kw)
