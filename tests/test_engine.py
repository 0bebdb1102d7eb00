"""Engine helpers: the canonical sort, the packing of small columns through it, the sorted
pass's per-chat aggregation, the shop-local week; and the engine package's shape."""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.engine import CONV, canonical_order, pack_small_columns
from chatsim.schema import KIND_DTYPE, RATING_DTYPE, SENDER_DTYPE

T0 = dt.datetime(2025, 8, 4, tzinfo=dt.UTC)


def frame(rows: list[tuple]) -> pl.DataFrame:
    """rows: (conversation, minutes after T0, message_id, sender, kind, bcast, rating, valid)."""
    return pl.DataFrame(
        {
            CONV: [r[0] for r in rows],
            "sent_at": [T0 + dt.timedelta(minutes=r[1]) for r in rows],
            "message_id": [r[2] for r in rows],
            "sender": pl.Series([r[3] for r in rows], dtype=SENDER_DTYPE),
            "kind": pl.Series([r[4] for r in rows], dtype=KIND_DTYPE),
            "is_broadcast": pl.Series([r[5] for r in rows], dtype=pl.Boolean),
            "rating": pl.Series([r[6] for r in rows], dtype=RATING_DTYPE),
            "valid_reply": pl.Series([r[7] for r in rows], dtype=pl.Boolean),
        }
    )


ROWS = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(0, 30),
        st.integers(1, 10_000),
        st.sampled_from(["buyer", "seller", "auto"]),
        st.sampled_from(["text", "image", "system", "order_card"]),
        st.booleans(),
        st.sampled_from([None, "satisfied", "unsatisfied"]),
        st.sampled_from([None, True, False]),
    ),
    min_size=0,
    max_size=40,
    unique_by=lambda r: r[2],
)


@settings(max_examples=80, deadline=None)
@given(ROWS)
def test_packing_round_trips_values_nulls_dtypes_and_column_order(rows):
    df = frame(rows)
    packed, unpack = pack_small_columns(df.lazy())
    assert "_packed" in packed.collect_schema()
    assert not {"sender", "kind", "is_broadcast", "rating", "valid_reply"} & set(
        packed.collect_schema().names()
    )
    back = unpack(packed.collect())
    assert back.schema == df.schema
    assert back.equals(df)


def test_a_frame_without_two_small_columns_is_left_as_is():
    df = pl.DataFrame({"a": [1, 2], "flag": [True, None]})
    packed, unpack = pack_small_columns(df.lazy())
    assert packed.collect().equals(df)
    assert unpack(df).equals(df)


# conversation ids 1-4 stand for these (32-bit keys when they fit, else the ids themselves)
ID_SETS = {
    "small": None,
    "32-bit": {1: 7, 2: 2**32 - 1, 3: 0, 4: 65_536},
    "wide": {1: -5, 2: 2**40, 3: 3, 4: -(2**40)},
    "strings": {1: "b", 2: "a", 3: "ab", 4: ""},
}


@settings(max_examples=80, deadline=None)
@given(ROWS, st.booleans(), st.sampled_from(list(ID_SETS)))
def test_canonical_order_equals_the_three_key_sort_whatever_the_input_order(rows, time_sorted, ids):
    df = frame(rows)
    if ID_SETS[ids] is not None:
        mapping = ID_SETS[ids]
        dtype = pl.String if ids == "strings" else pl.Int64
        df = df.with_columns(pl.Series(CONV, [mapping[c] for c in df[CONV].to_list()], dtype=dtype))
    if time_sorted:  # the fast path: a log in time order overall
        df = df.sort("sent_at", "message_id")
    expected = df.sort(CONV, "sent_at", "message_id")
    assert canonical_order(df).equals(expected)
    assert canonical_order(df, keep_message_id=False).equals(expected.drop("message_id"))


def test_log_in_order_within_conversations_only_takes_the_stable_sort():
    # conversation 2 is written before conversation 1, each in time order
    df = frame(
        [
            (2, 5, 10, "buyer", "text", False, None, True),
            (2, 9, 11, "seller", "text", False, None, True),
            (1, 1, 20, "buyer", "text", False, None, True),
            (1, 1, 21, "seller", "text", False, "satisfied", True),
        ]
    )
    out = canonical_order(df)
    assert out["message_id"].to_list() == [20, 21, 10, 11]
    assert out.equals(df.sort(CONV, "sent_at", "message_id"))


# --- per-chat values: the sorted pass's segment aggregation equals a group-by -------------------

CHAT_ROWS = st.lists(
    st.tuples(
        st.integers(0, 2),  # chats opened before this row (0: same chat as the previous row)
        st.integers(0, 5),  # time step
        st.booleans(),  # member of the chat
        st.booleans(),  # flag a
        st.booleans(),  # flag b
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(CHAT_ROWS)
def test_sorted_pass_aggregation_equals_the_group_by(rows):
    """GlobalOrder.aggregate (no group-by: first/last rows and counts by position) gives the
    same per-chat values, in chat order, as the group-by every other engine runs."""
    import narwhals as nw

    from chatsim.engine import Agg, GlobalOrder, Window

    chat, t = 0, 0
    data = {"_chat": [], "_r": [], "_t": [], "m": [], "a": [], "b": []}
    for i, (opens, step, member, a, b) in enumerate(rows):
        chat += min(opens, 1)
        t += step
        data["_chat"].append(chat)
        data["_r"].append(i)
        data["_t"].append(t)
        # a chat's opening row is always a member (as in chat_frame); rows before the
        # first chat never are
        data["m"].append(chat > 0 and (member or opens > 0))
        data["a"].append(a)
        data["b"].append(b)
    df = pl.DataFrame(data, schema_overrides={"_chat": pl.UInt32, "_r": pl.UInt32, "_t": pl.Int64})
    df = df.with_columns(pl.col("m", "a", "b").cast(pl.Boolean))
    lf = nw.from_native(df.lazy())
    col = nw.col
    aggs = [
        Agg("pos", "first", col("_r")),
        Agg("t_first", "first", col("_t")),
        Agg("a_first", "first", col("_t"), col("a")),
        Agg("b_last", "last", col("_t"), col("b")),
        Agg("a_last_pos", "last", col("_r").cast(nw.Int64) * 2, col("a") & col("b")),
        Agg("n_a", "count", where=col("a")),
        Agg("any_b", "any", where=col("b")),
    ]
    got = GlobalOrder().aggregate(lf, col("m"), aggs).to_native().collect()
    want = (
        Window.aggregate(GlobalOrder(), lf, col("m"), aggs)
        .to_native()
        .collect()
        .sort("_chat")
        .drop("_chat")
    )
    # same names and dtypes (a derived definition's two parts are merged: they must match)
    assert got.schema == want.schema
    for name in got.columns:
        assert got[name].to_list() == want[name].to_list(), name


# --- shop-local weekday and "next Monday 12:00 local" (the chatbot weekend deadline) ----------

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "America/Sao_Paulo",
    "Australia/Adelaide",  # half-hour offset with DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
]


def local_week_by_zoneinfo(us: int, zone: str) -> tuple[int, int]:
    """Independent oracle: local weekday and Monday 12:00 local (earliest on overlaps)
    after that local day, as UTC microseconds, with the standard library."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    local = (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).astimezone(tz)
    wd = local.isoweekday()
    noon = dt.datetime.combine(local.date() + dt.timedelta(days=8 - wd), dt.time(12), tzinfo=tz)
    delta = noon.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return wd, delta // dt.timedelta(microseconds=1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            # around the DST changes of 2025-2026, to the second
            st.integers(1_740_000_000, 1_800_000_000).map(lambda s: s * 1_000_000),
            st.sampled_from(ZONES),
            st.sampled_from([True, False, None]),
        ),
        max_size=30,
    ),
    st.integers(1, len(ZONES)),
)
def test_local_week_matches_zoneinfo(rows, n_zones):
    from chatsim.engine import polars_backend

    zones = sorted({z for _, z, _ in rows} | set(ZONES[:n_zones]))
    df = pl.DataFrame(
        {
            "_open_us": [r[0] for r in rows],
            "timezone": [r[1] for r in rows],
            "_weekend_candidate": pl.Series([r[2] for r in rows], dtype=pl.Boolean),
        },
        schema={"_open_us": pl.Int64, "timezone": pl.String, "_weekend_candidate": pl.Boolean},
    )
    be = polars_backend(zones)
    out = be.add_local_week(nw.from_native(df.lazy())).to_native().collect()
    assert out.height == df.height and out.select(df.columns).equals(df)  # rows kept, in order
    for (us, zone, cand), wd, noon in zip(rows, out["_lwd"], out["_mon_noon_us"], strict=True):
        if cand:
            assert (wd, noon) == local_week_by_zoneinfo(us, zone)
        else:
            assert wd is None and noon is None


# --- the package's shape ------------------------------------------------------------------------


def test_importing_the_engine_leaves_numba_unloaded():
    """The compiled state machine loads numba at its first use, so the command line and
    ``import chatsim.metrics`` start without it."""
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, chatsim.engine, chatsim.metrics; print('numba' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_engine_modules_import_no_private_names():
    """Names used across the engine's files are public: no ``from ... import _name``."""
    import ast
    from pathlib import Path

    import chatsim.engine

    for path in sorted(Path(chatsim.engine.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chatsim"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_polars_backend_builds_chats_compiled_only_with_the_compiled_window():
    from chatsim.engine import Compiled, GlobalOrder, PolarsBackend, polars_backend

    compiled = polars_backend(["UTC", "Asia/Tokyo"])
    assert isinstance(compiled, PolarsBackend) and isinstance(compiled.window, Compiled)
    assert compiled.zones == ["Asia/Tokyo", "UTC"] and compiled.chats is not None
    expressions = polars_backend([], GlobalOrder())
    assert expressions.zones == ["UTC"] and expressions.chats is None
