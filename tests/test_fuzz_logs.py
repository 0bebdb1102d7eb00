"""Fuzzing ``chatsim metrics`` with bad logs: every one is refused in one line naming its file.

Hypothesis takes the bundled sample log and breaks it one way at a time (wrong types,
nulls in required columns, unknown values, repeated ids, a conversation under two shops,
bad or implausible timestamps, missing or extra columns, empty tables, bad side tables,
truncated or garbage files), writes it as CSV or Parquet and runs ``chatsim metrics`` in
process. A bad log must give exit status 2, exactly one line on stderr that names the
file, and no traceback; a valid but odd log (extra columns, shuffled rows, other offsets,
text ids, side rows of unknown shops) must give exit status 0.
"""

from __future__ import annotations

import contextlib
import io
import random
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chatsim.cli import main
from chatsim.sample import sample_log_path

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: fail fast
)
TABLES = ("messages", "shops", "holiday_mode", "blocked")


def _tables() -> dict[str, pl.DataFrame]:
    """The sample log's tables as stored (text columns)."""
    return {
        name: pl.read_csv(sample_log_path() / f"{name}.csv", infer_schema=False) for name in TABLES
    }


def _write(tables: dict[str, pl.DataFrame], folder: Path, fmt: str) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in tables.items():
        paths[name] = folder / f"{name}.{fmt}"
        if fmt == "csv":
            df.write_csv(paths[name])
        else:
            df.write_parquet(paths[name])
    return paths


def _run(log: Path, *extra: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["metrics", str(log), "--out", str(log.parent / "shops.parquet"), *extra])
    return code, err.getvalue()


def _refused(log: Path, names: str | list[str], *extra: str) -> str:
    code, err = _run(log, *extra)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("chatsim: error: "), err
    names = [names] if isinstance(names, str) else names
    assert any(n in lines[0] for n in names), (names, lines[0])
    return lines[0]


# --------------------------------------------------------------------------------------
# Bad values in the messages
# --------------------------------------------------------------------------------------

REQUIRED = [
    "message_id",
    "shop_id",
    "conversation_id",
    "buyer_id",
    "sent_at",
    "sender",
    "kind",
    "is_broadcast",
]
BAD_VALUES = {
    "sent_at": [
        "yesterday",
        "2025-08-01T03:00:00",
        "2025-13-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "",
    ],
    "sender": ["bot", "BUYER", "", "seller "],
    "kind": ["gif", "Text", "", "😀"],
    "is_broadcast": ["maybe", "2", "yes", ""],
    "rating": ["great", "5"],
    "valid_reply": ["perhaps", "-1"],
    "message_id": [""],
    "shop_id": [""],
    "conversation_id": [""],
    "buyer_id": [""],
}


@SETTINGS
@given(
    column=st.sampled_from(sorted(BAD_VALUES)),
    pick=st.integers(0, 10),
    row=st.integers(0, 80),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_a_bad_value_is_refused_naming_the_file(column, pick, row, fmt):
    tables = _tables()
    msgs = tables["messages"]
    value = BAD_VALUES[column][pick % len(BAD_VALUES[column])]
    row = row % msgs.height
    cell = None if value == "" else value
    tables["messages"] = msgs.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(cell, dtype=pl.String))
        .otherwise(pl.col(column))
        .alias(column)
    )
    if cell is None and column not in REQUIRED:
        return  # an optional column may be empty
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(tables, Path(tmp) / "log", fmt)
        _refused(paths["messages"].parent, str(paths["messages"]))


@SETTINGS
@given(
    column=st.sampled_from(REQUIRED),
    dtype=st.sampled_from([pl.Float64, pl.Int64, pl.Boolean, pl.Date, pl.Datetime("us")]),
)
def test_a_mistyped_parquet_column_is_refused(column, dtype):
    tables = _tables()
    n = tables["messages"].height
    values = {
        pl.Float64: pl.Series([0.5] * n),
        pl.Int64: pl.Series([1] * n),
        pl.Boolean: pl.Series([True] * n),
        pl.Date: pl.Series([None] * n, dtype=pl.Date),
        pl.Datetime("us"): pl.Series([None] * n, dtype=pl.Datetime("us")),
    }[dtype]
    if column in ("message_id", "shop_id", "conversation_id", "buyer_id") and dtype == pl.Int64:
        return  # integer ids are valid
    if column == "is_broadcast" and dtype == pl.Boolean:
        return
    tables["messages"] = tables["messages"].with_columns(values.alias(column))
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(tables, Path(tmp) / "log", "parquet")
        _refused(paths["messages"].parent, str(paths["messages"]))


# --------------------------------------------------------------------------------------
# Broken structure: ids, conversations, columns, empty tables
# --------------------------------------------------------------------------------------


@SETTINGS
@given(
    fault=st.sampled_from(["duplicate", "two_shops", "missing", "header_only", "no_rows_at_all"]),
    column=st.sampled_from(REQUIRED),
    row=st.integers(1, 80),
    fmt=st.sampled_from(["csv", "parquet"]),
    buckets=st.booleans(),
)
def test_broken_structure_is_refused(fault, column, row, fmt, buckets):
    tables = _tables()
    msgs = tables["messages"]
    row = row % (msgs.height - 1) + 1
    if fault == "duplicate":
        msgs = pl.concat([msgs, msgs.slice(row, 1)])
    elif fault == "two_shops":
        other = "shop_d" if msgs["shop_id"][row] != "shop_d" else "shop_a"
        msgs = msgs.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(other))
            .otherwise(pl.col("shop_id"))
            .alias("shop_id")
        )
    elif fault == "missing":
        msgs = msgs.drop(column)
    elif fault == "header_only":
        msgs = msgs.head(0)
    tables["messages"] = msgs
    extra = ["--buckets", "2"] if buckets else []
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(tables, Path(tmp) / "log", fmt)
        if fault == "no_rows_at_all":
            paths["messages"].write_bytes(b"")
        _refused(paths["messages"].parent, [str(paths["messages"]), str(Path(tmp) / "log")], *extra)


# --------------------------------------------------------------------------------------
# Bad side tables
# --------------------------------------------------------------------------------------

SIDE_FAULTS = {
    "shops": [
        ("timezone", "Mars/Olympus"),
        ("timezone", ""),
        ("chatbot_enabled", "sometimes"),
        ("shop_id", ""),
        ("drop", "timezone"),
        ("drop_row", "shop_a"),
        ("repeat_row", "shop_a"),
    ],
    "holiday_mode": [
        ("start", "2025-08-30T00:00:00Z"),
        ("end", "soon"),
        ("start", "2025-08-25T00:00:00"),
        ("drop", "end"),
        ("shop_id", ""),
    ],
    "blocked": [
        ("blocked_at", "yesterday"),
        ("blocked_at", ""),
        ("buyer_id", ""),
        ("drop", "buyer_id"),
    ],
}


@SETTINGS
@given(
    table=st.sampled_from(sorted(SIDE_FAULTS)),
    pick=st.integers(0, 10),
    fmt=st.sampled_from(["csv", "parquet"]),
    buckets=st.booleans(),
)
def test_a_bad_side_table_is_refused_naming_it(table, pick, fmt, buckets):
    tables = _tables()
    df = tables[table]
    what, value = SIDE_FAULTS[table][pick % len(SIDE_FAULTS[table])]
    if what == "drop":
        df = df.drop(value)
    elif what == "drop_row":
        df = df.filter(pl.col("shop_id") != value)
    elif what == "repeat_row":
        df = pl.concat([df, df.filter(pl.col("shop_id") == value)])
    else:
        df = df.with_columns(
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.lit(value or None, dtype=pl.String))
            .otherwise(pl.col(what))
            .alias(what)
        )
    tables[table] = df
    extra = ["--buckets", "2"] if buckets else []
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(tables, Path(tmp) / "log", fmt)
        _refused(paths[table].parent, str(paths[table]), *extra)


# --------------------------------------------------------------------------------------
# Damaged files
# --------------------------------------------------------------------------------------


@SETTINGS
@given(
    table=st.sampled_from(TABLES),
    damage=st.sampled_from(["empty", "truncate", "garble", "random"]),
    seed=st.integers(0, 2**16),
    fmt=st.sampled_from(["csv", "parquet"]),
)
def test_a_damaged_file_is_refused_naming_it(table, damage, seed, fmt):
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(_tables(), Path(tmp) / "log", fmt)
        path = paths[table]
        data = path.read_bytes()
        if damage == "empty":
            data = b""
        elif damage == "truncate":
            data = data[: rng.randrange(1, max(2, len(data) - 1))]
        elif damage == "garble":
            start = rng.randrange(0, len(data) - 1)
            size = rng.randrange(1, len(data) - start + 1)
            data = data[:start] + rng.randbytes(size) + data[start + size :]
        else:
            data = rng.randbytes(rng.randrange(1, 4096))
        path.write_bytes(data)
        code, err = _run(path.parent)
        assert "Traceback" not in err, err
        if code == 0:
            # a CSV can survive damage as other valid text; Parquet damage never passes
            assert fmt == "csv" and damage in ("truncate", "garble"), err
            return
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, err
        assert str(path) in lines[0] or str(path.parent) in lines[0], lines[0]


# --------------------------------------------------------------------------------------
# Valid but odd logs are read
# --------------------------------------------------------------------------------------


@SETTINGS
@given(
    odd=st.sampled_from(
        ["extra_columns", "shuffled", "offsets", "text_ids", "unknown_shop_side_rows"]
    ),
    seed=st.integers(0, 2**16),
    fmt=st.sampled_from(["csv", "parquet"]),
    buckets=st.booleans(),
)
def test_valid_but_odd_logs_are_read(odd, seed, fmt, buckets):
    tables = _tables()
    msgs = tables["messages"]
    if odd == "extra_columns":
        msgs = msgs.with_columns(pl.lit("x").alias("note"), pl.lit("1").alias("channel"))
    elif odd == "shuffled":
        msgs = msgs.sample(fraction=1.0, shuffle=True, seed=seed)
    elif odd == "offsets":
        msgs = msgs.with_columns(
            pl.col("sent_at")
            .str.to_datetime(time_zone="UTC")
            .dt.convert_time_zone("Asia/Kathmandu")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        )
    elif odd == "text_ids":
        msgs = msgs.with_columns(("m-" + pl.col("message_id")).alias("message_id"))
    else:
        tables["blocked"] = pl.concat(
            [
                tables["blocked"],
                pl.DataFrame(
                    {
                        "shop_id": ["ghost"],
                        "buyer_id": ["b"],
                        "blocked_at": ["2025-08-02T00:00:00Z"],
                    }
                ),
            ]
        )
    tables["messages"] = msgs
    extra = ["--buckets", "2"] if buckets else []
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(tables, Path(tmp) / "log", fmt)
        code, err = _run(paths["messages"].parent, *extra)
        assert code == 0 and "Traceback" not in err, err
        if odd == "unknown_shop_side_rows":
            assert "chatsim: warning: " in err and "name shops with no messages" in err
