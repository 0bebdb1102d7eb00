"""The optional columns that feed rule features: ``stars`` and ``no_response_needed`` of the
messages table, ``country`` of the shops table.

* :func:`check_stars`: ``stars`` whole numbers 1-5 or empty (a :class:`SchemaError` names
  the file, the column, how many rows and what to do), typed ``Int8``; a row with stars
  and no ``rating`` is a rating event whose coarse rating is satisfied for 4-5 stars and
  unsatisfied for 1-3;
* :func:`fill_no_response_needed`: an empty ``no_response_needed`` is false;
* :func:`check_countries`: the ``country`` codes a rule with the ``public_holiday``
  exclusion reads must be known to the ``holidays`` package;
* :func:`holiday_dates`: the public holidays of those countries, as a small
  ``(country, day)`` table the engines join on the shop-local date.

Example:
    >>> df = pl.DataFrame({"stars": [5, None, 2], "rating": [None, None, "satisfied"]},
    ...                   schema_overrides={"rating": RATING_DTYPE})
    >>> check_stars(df, "log.csv").rows()
    [(5, 'satisfied'), (None, None), (2, 'satisfied')]
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Iterable

import polars as pl

from chatsim.errors import ChatsimWarning
from chatsim.schema.columns import RATING_DTYPE, STARS, STARS_DTYPE
from chatsim.schema.messages import EXAMPLES, column_type_error, schema_error, stars_error

__all__ = [
    "STARS_TYPE",
    "check_countries",
    "check_stars",
    "fill_no_response_needed",
    "holiday_dates",
    "known_countries",
]


#: What a ``stars`` column of another type is told to hold.
STARS_TYPE = "expected whole numbers from 1 to 5"


def check_stars(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """``df`` with its ``stars`` column checked and typed (as is without one)."""
    if "stars" not in df.columns:
        return df
    raw = df["stars"]
    if raw.dtype == pl.String:
        text = raw.str.strip_chars()
        parsed = text.cast(pl.Int64, strict=False)
        bad = parsed.is_null() & text.is_not_null() & (text != "")
        if bad.any():
            ex = raw.filter(bad).unique(maintain_order=True).head(EXAMPLES).to_list()
            raise stars_error(source, int(bad.sum()), ex, "whole")
        raw = parsed
    elif raw.dtype == pl.Null:
        raw = raw.cast(pl.Int64)
    elif not raw.dtype.is_integer():
        raise column_type_error(source, "stars", raw.dtype, STARS_TYPE)
    out = raw.is_not_null() & ~raw.is_between(STARS[0], STARS[-1])
    if out.any():
        ex = raw.filter(out).unique(maintain_order=True).head(EXAMPLES).to_list()
        raise stars_error(source, int(out.sum()), ex, "range")
    stars = raw.cast(STARS_DTYPE).alias("stars")
    df = df.with_columns(stars)
    if "rating" in df.columns:
        coarse = (
            pl.when(pl.col("stars") >= 4).then(pl.lit("satisfied")).otherwise(pl.lit("unsatisfied"))
        )
        derived = pl.when(pl.col("stars").is_not_null()).then(coarse).cast(RATING_DTYPE)
        df = df.with_columns(pl.coalesce(pl.col("rating"), derived).alias("rating"))
    return df


def fill_no_response_needed(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with an empty ``no_response_needed`` read as false (as is without the column)."""
    if "no_response_needed" not in df.columns or not df["no_response_needed"].null_count():
        return df
    return df.with_columns(pl.col("no_response_needed").fill_null(False))


@functools.cache
def known_countries() -> frozenset[str]:
    """The country codes the ``holidays`` package knows (ISO 3166-1 alpha-2 and a few more)."""
    import holidays

    return frozenset(holidays.list_supported_countries())


def check_countries(shops: pl.DataFrame, source: str = "shops", rules: Iterable[str] = ()) -> bool:
    """A rule with the ``public_holiday`` exclusion (``rules`` names them) reads each shop's
    ``country``: every value must be known to the ``holidays`` package (an empty country
    means no public holidays for that shop). Without the column no unit is excluded as a
    public holiday: a :class:`~chatsim.errors.ChatsimWarning` says so, and this returns
    False.

    Example:
        >>> check_countries(pl.DataFrame({"shop_id": ["a"], "country": ["Viet Nam"]}), "shops.csv")
        Traceback (most recent call last):
        ...
        chatsim.errors.SchemaError: shops.csv: column 'country': 1 shop(s) have country codes the holidays package does not know (e.g. ['Viet Nam']); use ISO 3166 two-letter codes such as 'VN', or empty the value for shops without public holidays.
    """
    names = list(rules)
    if "country" not in shops.columns:
        which = f" of rule(s) {names}" if names else ""
        warnings.warn(
            f"{source}: no 'country' column, which the public_holiday exclusion{which} reads: "
            "no chat is excluded as received on a public holiday. Add the shops' ISO country "
            "codes (e.g. 'VN') to count them.",
            ChatsimWarning,
            stacklevel=3,
        )
        return False
    if shops["country"].dtype != pl.String:
        raise schema_error(
            source,
            f"column 'country' has type {shops['country'].dtype}; expected ISO country codes as "
            "text (e.g. 'VN').",
        )
    code = shops["country"]
    bad = code.is_not_null() & (code != "") & ~code.is_in(sorted(known_countries()))
    if bad.any():
        ex = shops["country"].filter(bad).unique(maintain_order=True).head(EXAMPLES).to_list()
        raise schema_error(
            source,
            f"column 'country': {int(bad.sum())} shop(s) have country codes the holidays "
            f"package does not know (e.g. {ex}); use ISO 3166 two-letter codes such as 'VN', "
            "or empty the value for shops without public holidays.",
        )
    return True


def holiday_dates(countries: Iterable[str], first: dt.date, last: dt.date) -> pl.DataFrame:
    """The public holidays of ``countries`` from ``first`` to ``last`` (inclusive): one row
    per (``country``, ``_lday``: days since 1970-01-01), sorted.

    Example:
        >>> holiday_dates(["VN"], dt.date(2025, 9, 1), dt.date(2025, 9, 3))["_lday"].to_list()
        [20332, 20333]
    """
    import holidays

    rows = []
    years = list(range(first.year, last.year + 1))
    epoch = dt.date(1970, 1, 1)
    for c in sorted(set(countries) - {""}):  # an empty country: no public holidays
        for day in holidays.country_holidays(c, years=years):
            if first <= day <= last:
                rows.append((c, (day - epoch).days))
    return pl.DataFrame(rows, schema={"country": pl.String, "_lday": pl.Int64}, orient="row").sort(
        "country", "_lday"
    )
