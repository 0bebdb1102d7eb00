"""Colours a reader sees: one per rule on every page, segment colours that never reuse them.

Colour-blind safe choices: the two built-in rules take the blue and the vermillion of the
Okabe-Ito palette (told apart under every common colour-vision deficiency), the coming
Shop Health rules and the scorecard two dark colours of Paul Tol's *muted* scheme and the
palette's black, further rules dark colours of Tol's schemes; segments take the
remaining Okabe-Ito colours (orange, sky blue, bluish green, reddish purple, yellow), then
light colours of Tol's *muted* scheme and a grey, so a segment is never drawn in a rule's
colour. Sequential scales (heatmaps) use the single-hue ``blues`` scheme
(:data:`SEQUENTIAL_SCHEME`), which reads in greyscale too.

Example:
    >>> rule_colors(["legacy-24h", "new-12h"])
    {'legacy-24h': '#0072B2', 'new-12h': '#D55E00'}
    >>> set(segment_colors(["solo_weekdays", "x"]).values()) & set(RULE_PALETTE)
    set()
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

from chatsim.explain.labels import ARCHETYPE_LABELS

__all__ = [
    "PRESET_COLORS",
    "RULE_COLORS",
    "RULE_PALETTE",
    "SEGMENT_PALETTE",
    "SEQUENTIAL_SCHEME",
    "CHANGE_COLORS",
    "rule_colors",
    "segment_colors",
]

#: The colours of the built-in rules (Okabe-Ito blue and vermillion; the coming Shop
#: Health metrics Tol muted indigo and wine) and of the Shop Health scorecard's boost
#: (black), the same on every page.
RULE_COLORS: dict[str, str] = {
    "legacy-24h": "#0072B2",
    "new-12h": "#D55E00",
    "avg-response-time": "#332288",
    "chat-satisfaction": "#882255",
    "shop-health-scorecard": "#000000",
}
#: The peer presets' own colours (:mod:`chatsim.presets`; Tol muted green and purple, Tol
#: dark brown, Tol vibrant magenta, dark grey), so a preset looks the same on every page.
PRESET_COLORS: dict[str, str] = {
    "shopee-crr": "#EE3377",
    "lazada-rr": "#661100",
    "amazon-lrr": "#117733",
    "etsy-star": "#AA4499",
    "walmart-48h": "#555555",
}
#: Colours for rules: the built-in ones, the presets', then those other rules take
#: (Tol vibrant red, a dark teal, a dark gold).
RULE_PALETTE: tuple[str, ...] = (
    *RULE_COLORS.values(),
    *PRESET_COLORS.values(),
    "#CC3311",
    "#225555",
    "#8E6B00",
)
#: Colours for segments: never a rule colour (Okabe-Ito orange, sky blue, bluish green,
#: reddish purple, yellow; Tol muted teal, sand, rose, olive; then grey).
SEGMENT_PALETTE: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#CC79A7",
    "#F0E442",
    "#44AA99",
    "#DDCC77",
    "#CC6677",
    "#999933",
    "#999999",
)
#: The single-hue, colour-blind-safe Vega scheme of sequential scales (heatmaps).
SEQUENTIAL_SCHEME = "blues"
#: Colours of a change's direction on every page, never a rule's: ``better`` (more shops
#: passing, a shop back above target: the status colour of "meets target"), ``worse``
#: (fewer passing, a shop falling below: the status colour of enforcement) and ``same``
#: (the middle of a diverging scale). Signed figures are printed beside them, so the
#: colour is never the only cue.
CHANGE_COLORS: dict[str, str] = {"worse": "#CC3311", "same": "#F7F7F7", "better": "#009E73"}


def _assign(
    names: Iterable[str], fixed: Mapping[str, str], palette: tuple[str, ...]
) -> dict[str, str]:
    """Fixed colours first; every other name from a stable hash of it, the next free colour
    of the palette on a clash (colours repeat only when the palette is used up)."""
    names = list(dict.fromkeys(names))
    out = {n: fixed[n] for n in names if n in fixed}
    for n in sorted(n for n in names if n not in fixed):
        start = zlib.crc32(n.encode()) % len(palette)
        order = palette[start:] + palette[:start]
        used = set(out.values())
        out[n] = next((c for c in order if c not in used), order[0])
    return {n: out[n] for n in names}


def rule_colors(names: Iterable[str]) -> dict[str, str]:
    """One colour per rule, the same on every page: the built-in rules always take their
    own (:data:`RULE_COLORS`), the peer presets theirs (:data:`PRESET_COLORS`), other rules a colour of :data:`RULE_PALETTE` chosen from the
    name (deterministic; distinct within the list while the palette lasts).

    Example:
        >>> rule_colors(["legacy-24h", "new-12h"])
        {'legacy-24h': '#0072B2', 'new-12h': '#D55E00'}
        >>> c = rule_colors(["new-12h", "new-10h", "new-8h"])
        >>> len(set(c.values())), c["new-10h"] == rule_colors(["new-10h"])["new-10h"]
        (3, True)
    """
    fixed = {**RULE_COLORS, **PRESET_COLORS}
    free = tuple(c for c in RULE_PALETTE if c not in set(fixed.values()))
    return _assign(names, fixed, free)


def segment_colors(values: Iterable[str]) -> dict[str, str]:
    """One colour per segment, never a rule colour: the built-in archetypes always take the
    same colours (in their order), other values one chosen from the name.

    Example:
        >>> segment_colors(["small_team", "solo_weekdays"])
        {'small_team': '#56B4E9', 'solo_weekdays': '#E69F00'}
    """
    fixed = dict(zip(ARCHETYPE_LABELS, SEGMENT_PALETTE, strict=False))
    return _assign(values, fixed, SEGMENT_PALETTE)
