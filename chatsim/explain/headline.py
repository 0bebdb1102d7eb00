"""The key numbers of a two-rule evaluation: what a report's key-number strip shows.

:func:`key_numbers` reads an :class:`~chatsim.metrics.Evaluation` of an old and a new rule:
shops meeting each rule (count and share of the shops rated under it), shops that lose
or gain status (and how many of them are within noise of a target), the overall response rate under each rule (answered in time over all
counted chats, so weighted by chats), chats counted, and the change in the share of
shops passing per segment (the seller type, for simulated logs), with the most and the
least affected segment. :meth:`Headline.as_frame` gives the strip: a key, a label, the
formatted value and a detail line per number (formats of :mod:`chatsim.explain.labels`).

Example:
    >>> from chatsim.sample import sample_log
    >>> from chatsim.metrics import compare
    >>> h = key_numbers(compare(sample_log()))
    >>> h.passing_old, h.rated_old, h.loses, h.segment_by
    (1, 3, 0, 'segment')
    >>> h.as_frame().filter(pl.col("key") == "passing_old").row(0)
    ('passing_old', 'Meet legacy-24h', '33.3 %', '1 of 3 rated shops')
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chatsim.analysis import flip_counts, flips, pass_rates
from chatsim.explain.labels import format_count, format_pp, format_share, label, segment_label
from chatsim.metrics import Evaluation
from chatsim.rules import Rule

__all__ = ["SEGMENT_COLUMNS", "Headline", "SegmentChange", "key_numbers", "segment_column"]

#: Shop-table columns a report groups shops by, in order of preference.
SEGMENT_COLUMNS: tuple[str, ...] = ("archetype", "segment", "country")


def segment_column(ev: Evaluation) -> str | None:
    """The segment column the report groups shops by: the first of :data:`SEGMENT_COLUMNS`
    in the shops table (``archetype`` for simulated logs), else None.

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> segment_column(compare(sample_log()))
        'segment'
    """
    return next((c for c in SEGMENT_COLUMNS if c in ev.shops.columns), None)


@dataclass(frozen=True)
class SegmentChange:
    """The share of a segment's rated shops passing the old and the new rule
    (``shops_rated``: rated under the old rule).

    Example:
        >>> s = SegmentChange("solo_weekdays", 90, 0.289, 0.022)
        >>> s.label, format_pp(s.change)
        ('Solo weekday sellers', '−26.7 pp')
    """

    segment: str
    shops_rated: int
    share_old: float
    share_new: float

    @property
    def change(self) -> float:
        """New minus old share (a fraction; :func:`format_pp` shows it in pp)."""
        return self.share_new - self.share_old

    @property
    def label(self) -> str:
        """The segment as a reader names it."""
        return segment_label(self.segment)


@dataclass(frozen=True)
class Headline:
    """The key numbers of an old and a new rule on one log (see :func:`key_numbers`).

    ``segments`` holds every segment rated under both rules, largest drop first;
    ``loses_within_noise``/``gains_within_noise`` count the shops that lose / gain status
    with both rates too close to call (:func:`chatsim.analysis.flips`, ``within_noise``).
    """

    old: str
    new: str
    shops: int
    rated_old: int
    rated_new: int
    passing_old: int
    passing_new: int
    loses: int
    gains: int
    rate_old: float | None
    rate_new: float | None
    counted_old: int
    counted_new: int
    segment_by: str | None
    segments: tuple[SegmentChange, ...]
    loses_within_noise: int = 0
    gains_within_noise: int = 0
    #: what each rule judges when it is not the response rate (e.g. a response time in
    #: hours): the overall rate's detail says so; empty for a response-rate rule
    judges_old: str = ""
    judges_new: str = ""

    @property
    def share_old(self) -> float | None:
        """Share of the shops rated under the old rule that meet it."""
        return self.passing_old / self.rated_old if self.rated_old else None

    @property
    def share_new(self) -> float | None:
        """Share of the shops rated under the new rule that meet it."""
        return self.passing_new / self.rated_new if self.rated_new else None

    @property
    def most_affected(self) -> SegmentChange | None:
        """The segment whose share passing changes most (largest absolute change in pp;
        ties: more shops, then name)."""
        if not self.segments:
            return None
        return min(self.segments, key=lambda s: (-abs(s.change), -s.shops_rated, s.segment))

    @property
    def least_affected(self) -> SegmentChange | None:
        """The segment whose share passing changes least (None with fewer than two)."""
        if len(self.segments) < 2:
            return None
        return min(self.segments, key=lambda s: (abs(s.change), -s.shops_rated, s.segment))

    @property
    def segment_noun(self) -> str:
        """What a segment is called on the page (``seller type`` for archetypes)."""
        nouns = {"archetype": "seller type", "segment": "segment", "country": "country"}
        by = self.segment_by or "segment"
        return nouns.get(by, label(by, "column").lower())

    def _items(self) -> list[tuple[str, str, str, str]]:
        rows = [
            (
                "passing_old",
                f"Meet {self.old}",
                format_share(self.share_old),
                f"{format_count(self.passing_old)} of {format_count(self.rated_old)} rated shops",
            ),
            (
                "passing_new",
                f"Meet {self.new}",
                format_share(self.share_new),
                f"{format_count(self.passing_new)} of {format_count(self.rated_new)} rated shops",
            ),
            (
                "loses",
                "Lose status",
                format_count(self.loses),
                f"meet {self.old}, miss {self.new}" + _noise(self.loses_within_noise),
            ),
            (
                "gains",
                "Gain status",
                format_count(self.gains),
                f"miss {self.old}, meet {self.new}" + _noise(self.gains_within_noise),
            ),
            (
                "rate_old",
                f"Overall rate, {self.old}",
                format_share(self.rate_old),
                f"of {format_count(self.counted_old)} counted chats answered in time"
                + _judges(self.old, self.judges_old),
            ),
            (
                "rate_new",
                f"Overall rate, {self.new}",
                format_share(self.rate_new),
                f"of {format_count(self.counted_new)} counted chats answered in time"
                + _judges(self.new, self.judges_new),
            ),
        ]
        for key, which, seg in (
            ("most_affected", "Most", self.most_affected),
            ("least_affected", "Least", self.least_affected),
        ):
            if seg is not None:
                rows.append(
                    (
                        key,
                        f"{which} affected {self.segment_noun}",
                        format_pp(seg.change),
                        f"{seg.label}: {format_share(seg.share_old)} → "
                        f"{format_share(seg.share_new)}",
                    )
                )
        rows += [
            (
                "counted_old",
                f"Chats counted, {self.old}",
                format_count(self.counted_old),
                "excluded and pending chats left out",
            ),
            (
                "counted_new",
                f"Chats counted, {self.new}",
                format_count(self.counted_new),
                "excluded and pending chats left out",
            ),
        ]
        return rows

    def rows(self) -> list[tuple[str, str, str]]:
        """The key numbers as ``(label, value, detail)``, in the strip's order."""
        return [(lab, value, detail) for _, lab, value, detail in self._items()]

    def as_frame(self) -> pl.DataFrame:
        """The key numbers as a table: ``key`` (stable id), ``label``, ``value``, ``detail``."""
        return pl.DataFrame(
            self._items(),
            schema={"key": pl.String, "label": pl.String, "value": pl.String, "detail": pl.String},
            orient="row",
        )


def _noise(n: int) -> str:
    """The detail line's note of the shops within noise of a target (none: nothing)."""
    return f"; {format_count(n)} within noise of a target" if n else ""


def key_numbers(
    ev: Evaluation, old: str | None = None, new: str | None = None, *, by: str | None = None
) -> Headline:
    """The key numbers of rules ``old`` and ``new`` (default: the evaluation's first and
    last rule), segments from column ``by`` (default: :func:`segment_column`).

    Example:
        >>> from chatsim.sample import sample_log
        >>> from chatsim.metrics import compare
        >>> h = key_numbers(compare(sample_log()))
        >>> [s.segment for s in h.segments], h.most_affected.segment
        (['chatbot', 'small_team', 'solo'], 'chatbot')
    """
    old = old or ev.rules[0].name
    new = new or ev.rules[-1].name
    by = by or segment_column(ev)
    rates = pass_rates(ev)

    def rated(rule: str) -> tuple[int, int]:
        r = rates.filter(pl.col("rule") == rule)
        return (int(r["shops_passing"][0]), int(r["shops_rated"][0])) if r.height else (0, 0)

    (p_old, r_old), (p_new, r_new) = rated(old), rated(new)
    fc = flip_counts(flips(ev, old, new))
    counts = dict(fc.select("flip", "shops").iter_rows())
    noise = dict(fc.select("flip", "within_noise").iter_rows())
    summary = {row["rule"]: row for row in ev.summary().iter_rows(named=True)}
    segments: tuple[SegmentChange, ...] = ()
    if by is not None:
        seg = pass_rates(ev, by=by).filter(pl.col(by).is_not_null())
        both = (
            seg.filter(pl.col("rule") == old)
            .select(by, "shops_rated", pl.col("share_passing").alias("a"))
            .join(
                seg.filter(pl.col("rule") == new).select(by, pl.col("share_passing").alias("b")),
                on=by,
                how="inner",
            )
            .with_columns((pl.col("b") - pl.col("a")).alias("d"))
            .sort("d", by)
        )
        segments = tuple(
            SegmentChange(str(s), int(n), float(a), float(b)) for s, n, a, b, _ in both.iter_rows()
        )
    return Headline(
        old=old,
        new=new,
        shops=int(ev.shops.filter(pl.col("rule") == old).height),
        rated_old=r_old,
        rated_new=r_new,
        passing_old=p_old,
        passing_new=p_new,
        loses=int(counts.get("loses_under_new", 0)),
        gains=int(counts.get("gains_under_new", 0)),
        rate_old=summary[old]["overall_rate"],
        rate_new=summary[new]["overall_rate"],
        counted_old=int(summary[old]["counted_chats"]),
        counted_new=int(summary[new]["counted_chats"]),
        segment_by=by,
        segments=segments,
        loses_within_noise=int(noise.get("loses_under_new", 0)),
        gains_within_noise=int(noise.get("gains_under_new", 0)),
        judges_old=_judged(ev.rule(old)),
        judges_new=_judged(ev.rule(new)),
    )


def _judged(rule: Rule) -> str:
    """What the rule judges, when not the response rate (``""`` for a response rate)."""
    from chatsim.explain.rulefigures import figure_name

    return "" if rule.metric == "response_rate" else figure_name(rule).split(" (")[0].lower()


def _judges(name: str, what: str) -> str:
    return f" ({name} itself judges the {what})" if what else ""
