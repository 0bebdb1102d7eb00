"""What the Parquet footers tell about each message file, without reading its data.

A Parquet file's footer holds its row count and, per column, a minimum, a maximum and a
null count. :func:`file_facts` gathers them for the columns the plan needs (shop, message
and conversation ids, ``sent_at``; the buyer id too where stored). From them the plan
proves, with no data read, that files hold whole shops (their shop-id ranges do not
overlap), finds the data cutoff and the id ranges of each bucket
(:func:`chatsim.scale.plan.plan_log`). A footer that lacks a figure, or says a bound is
not exact, gives ``None``: the plan then scans the data instead.

Example:
    >>> import tempfile, polars as pl
    >>> from pathlib import Path
    >>> f = Path(tempfile.mkdtemp()) / "m.parquet"
    >>> pl.DataFrame({"shop_id": ["b", "a"], "message_id": [3, 1]}).write_parquet(f)
    >>> facts = file_facts([f], ["shop_id", "message_id"])
    >>> facts.select("n", "shop_id_min", "shop_id_max", "message_id_max").row(0)
    (2, 'a', 'b', 3)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

__all__ = ["file_facts"]


#: Epoch microseconds per unit of a Parquet timestamp (nanoseconds: not exact, not used).
_US_PER_UNIT = {"milliseconds": 1000, "microseconds": 1}


def _bounds(stats: object) -> tuple[object, object] | None:
    """A column chunk's (min, max) as integers, text, or epoch microseconds (UTC times)."""
    logical = stats.logical_type  # type: ignore[attr-defined]
    kind = logical.type if logical is not None else "NONE"
    physical = stats.physical_type  # type: ignore[attr-defined]
    if physical in ("INT32", "INT64") and kind in ("NONE", "INT"):
        return stats.min, stats.max  # type: ignore[attr-defined]
    if physical == "BYTE_ARRAY" and kind == "STRING":
        return stats.min, stats.max  # type: ignore[attr-defined]
    if physical == "INT64" and kind == "TIMESTAMP":
        spec = json.loads(logical.to_json())
        factor = _US_PER_UNIT.get(spec.get("timeUnit", ""))
        if not spec.get("isAdjustedToUTC") or factor is None:
            return None  # naive times (refused by the schema checks) or nanoseconds
        return stats.min_raw * factor, stats.max_raw * factor  # type: ignore[attr-defined]
    return None


def _column_bounds(meta: object, name: str) -> tuple[object, object, int] | None:
    """(min, max, nulls) of top-level column ``name`` over a file's row groups, or None."""
    try:
        j = meta.schema.names.index(name)  # type: ignore[attr-defined]
    except ValueError:
        return None
    lo = hi = None
    nulls = 0
    for g in range(meta.num_row_groups):  # type: ignore[attr-defined]
        group = meta.row_group(g)  # type: ignore[attr-defined]
        col = group.column(j)
        if col.path_in_schema != name:  # a nested column: not an id or a time
            return None
        if group.num_rows == 0:
            continue
        stats = col.statistics
        if stats is None or not stats.has_null_count:
            return None
        nulls += stats.null_count
        if stats.null_count == group.num_rows:
            continue  # only nulls: no bounds to take
        if not stats.has_min_max:
            return None
        if getattr(stats, "is_min_value_exact", None) is False:
            return None
        if getattr(stats, "is_max_value_exact", None) is False:
            return None
        bounds = _bounds(stats)
        if bounds is None:
            return None
        lo = bounds[0] if lo is None else min(lo, bounds[0])  # type: ignore[type-var]
        hi = bounds[1] if hi is None else max(hi, bounds[1])  # type: ignore[type-var]
    return lo, hi, nulls


def file_facts(files: Sequence[Path], columns: Sequence[str]) -> pl.DataFrame | None:
    """One row per file: ``file`` (its index), ``n`` (rows), and ``<column>_min``,
    ``<column>_max`` and ``<column>_nulls`` for each of ``columns``, from the footers.

    Bounds are integers or text as stored; a zoned timestamp's are UTC epoch microseconds.

    None when a file is not Parquet or cannot be read, or when a non-empty file's footer
    lacks a count or a bound of one of ``columns`` (or says it is not exact), or when a
    column is of another kind (floats, dates, naive or nanosecond times, nested) or of
    different kinds in different files.
    A column absent from every file is left out (the schema checks report it).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    rows: list[dict[str, object]] = []
    for i, f in enumerate(files):
        try:
            meta = pq.read_metadata(f)
        except Exception:  # unreadable, or not Parquet: the scan names the file
            return None
        row: dict[str, object] = {"file": i, "n": meta.num_rows}
        for c in columns:
            if c not in meta.schema.names:
                continue
            bounds = _column_bounds(meta, c)
            if bounds is None:
                if meta.num_rows:
                    return None
                bounds = (None, None, 0)
            row[f"{c}_min"], row[f"{c}_max"], row[f"{c}_nulls"] = bounds
        rows.append(row)
    try:
        return pl.DataFrame(rows, infer_schema_length=None, strict=True)
    except (TypeError, pl.exceptions.PolarsError):  # bounds of mixed types across files
        return None
