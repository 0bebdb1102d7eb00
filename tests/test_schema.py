"""Bad input never passes silently: each problem gets a named, specific error."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.errors import SchemaError
from chatsim.sample import sample_log, sample_log_path
from chatsim.schema import ChatLog, read_log, validate_messages, write_log

UTC = dt.UTC


def frame(**over) -> pl.DataFrame:
    base = {
        "message_id": [1, 2, 3],
        "shop_id": ["s1", "s1", "s2"],
        "conversation_id": ["c1", "c1", "c2"],
        "buyer_id": ["b1", "b1", "b2"],
        "sent_at": [dt.datetime(2025, 8, 1, h, tzinfo=UTC) for h in (1, 2, 3)],
        "sender": ["buyer", "seller", "buyer"],
        "kind": ["text", "text", "sticker"],
        "is_broadcast": [False, False, False],
    }
    base.update(over)
    return pl.DataFrame(base)


def test_valid_frame_is_normalised():
    df = validate_messages(frame())
    assert df.schema["sent_at"] == pl.Datetime("us", "UTC")
    assert df["valid_reply"].to_list() == [True] * 3
    assert df["rating"].null_count() == 3


def test_missing_column_named():
    with pytest.raises(SchemaError, match=r"missing required column\(s\) \['sender'\]"):
        validate_messages(frame().drop("sender"), "x.csv")


def test_mistyped_column_named():
    with pytest.raises(SchemaError, match="'is_broadcast' has type Float64"):
        validate_messages(frame(is_broadcast=[0.0, 1.0, 0.0]))


def test_naive_timestamps_rejected():
    naive = [dt.datetime(2025, 8, 1, h) for h in (1, 2, 3)]
    with pytest.raises(SchemaError, match="naive timestamps"):
        validate_messages(frame(sent_at=naive))
    with pytest.raises(SchemaError, match=r"3 row\(s\) hold timestamps without a time zone"):
        validate_messages(frame(sent_at=["2025-08-01T01:00:00"] * 3))


def test_other_zones_converted_to_utc_without_changing_the_instant():
    df = validate_messages(frame(sent_at=["2025-08-01T08:00:00+07:00"] * 3))
    assert df["sent_at"].to_list() == [dt.datetime(2025, 8, 1, 1, tzinfo=UTC)] * 3


def test_unparseable_timestamp_counted():
    with pytest.raises(SchemaError, match=r"1 row\(s\) are not ISO-8601"):
        validate_messages(
            frame(sent_at=["2025-08-01T01:00:00Z", "yesterday+07:00", "2025-08-01T03:00:00Z"])
        )


def test_nulls_in_keys_reported_with_rows():
    with pytest.raises(SchemaError, match=r"\{'buyer_id': 1\}.*rows \[1\]"):
        validate_messages(frame(buyer_id=["b1", None, "b2"]))


def test_unknown_sender_and_kind_values():
    with pytest.raises(SchemaError, match=r"'sender': 1 row\(s\) hold unknown values \{'bot': 1\}"):
        validate_messages(frame(sender=["buyer", "bot", "buyer"]))
    with pytest.raises(SchemaError, match="'kind'.*'gif'"):
        validate_messages(frame(kind=["gif", "text", "text"]))


def test_duplicate_message_ids():
    with pytest.raises(SchemaError, match=r"2 row\(s\) share a message id.*\[1\]"):
        validate_messages(frame(message_id=[1, 1, 3]))


def test_conversation_under_two_shops():
    with pytest.raises(
        SchemaError, match=r"1 conversation\(s\) \(2 rows\) appear under more than one shop_id"
    ):
        validate_messages(frame(shop_id=["s1", "s9", "s2"]))


def test_lenient_mode_drops_and_counts():
    log = ChatLog.from_frames(
        frame(message_id=[1, 1, 3], buyer_id=["b1", "b1", None]), lenient=True
    )
    assert log.n_messages == 1
    assert log.dropped.counts == {"null in a required column": 1, "duplicate message_id": 1}


def test_shops_table_checks():
    with pytest.raises(SchemaError, match="unknown time zones.*Mars/Olympus"):
        ChatLog.from_frames(
            frame(), pl.DataFrame({"shop_id": ["s1", "s2"], "timezone": ["UTC", "Mars/Olympus"]})
        )
    with pytest.raises(SchemaError, match=r"1 shop\(s\) that appear in messages have no row"):
        ChatLog.from_frames(frame(), pl.DataFrame({"shop_id": ["s1"], "timezone": ["UTC"]}))


def test_holiday_interval_backwards():
    t = dt.datetime(2025, 8, 1, tzinfo=UTC)
    with pytest.raises(SchemaError, match="end at or before they start"):
        ChatLog.from_frames(
            frame(), holiday_mode=pl.DataFrame({"shop_id": ["s1"], "start": [t], "end": [t]})
        )


def test_csv_errors_name_the_file(tmp_path):
    p = tmp_path / "messages.csv"
    frame().drop("kind").write_csv(p)
    with pytest.raises(SchemaError, match=str(p)):
        read_log(p)
    with pytest.raises(SchemaError, match="no such file"):
        read_log(tmp_path / "nope.parquet")


def test_sample_log_reads_and_round_trips(tmp_path):
    log = sample_log()
    assert log.n_messages > 50 and set(log.shops["shop_id"]) == {
        "shop_a",
        "shop_b",
        "shop_c",
        "shop_d",
    }
    for fmt in ("parquet", "csv"):
        out = write_log(log, tmp_path / fmt, fmt=fmt)
        back = read_log(out)
        assert back.messages.select(pl.all().exclude("message_id", "conversation_id")).equals(
            log.messages.select(pl.all().exclude("message_id", "conversation_id")).cast(
                back.messages.select(pl.all().exclude("message_id", "conversation_id")).schema
            )
        )
        assert back.holiday_mode.height == 1 and back.blocked.height == 1
    assert sample_log_path().is_dir()


def test_scan_log_reads_nothing_until_asked(tmp_path):
    from chatsim.schema import scan_log

    lazy = scan_log(sample_log_path())
    assert lazy.fmt == "csv" and [p.name for p in lazy.files] == ["messages.csv"]
    assert lazy.side["shops"] is not None and lazy.side["shops"].name == "shops.csv"
    assert lazy.messages().collect_schema()["sender"] == pl.String  # checked, cast, not parsed
    assert lazy.side_table("blocked").collect().height == 1
    back = lazy.read()
    assert back.messages.equals(sample_log().messages) and back.source == lazy.source
    shards = tmp_path / "messages"
    shards.mkdir()
    frame().write_parquet(shards / "a.parquet")
    lazy = scan_log(shards)
    assert lazy.fmt == "parquet" and lazy.side == dict.fromkeys(
        ("shops", "holiday_mode", "blocked")
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="folder holds no .parquet or .csv files"):
        scan_log(tmp_path / "empty")
    (tmp_path / "log.txt").write_text("x")
    with pytest.raises(SchemaError, match="unsupported file type"):
        scan_log(tmp_path / "log.txt")


def test_whole_log_checks_run_on_lazy_frames():
    from chatsim.schema import check_one_shop_per_conversation, check_unique_message_ids

    lf = frame(message_id=[7, 7, 7], shop_id=["s1", "s2", "s2"]).lazy()
    with pytest.raises(SchemaError, match=r"^log: column 'message_id': 3 row\(s\).*ids \[7\]"):
        check_unique_message_ids(lf, "log")
    with pytest.raises(
        SchemaError, match=r"1 conversation\(s\) \(2 rows\).*\{'c1': \['s1', 's2'\]\}"
    ):
        check_one_shop_per_conversation(lf, "log")
    check_unique_message_ids(frame().lazy(), "log")
    check_one_shop_per_conversation(frame().lazy(), "log")


def test_side_table_ids_must_match_the_messages_ids():
    from chatsim.schema import align_id

    shops = pl.DataFrame({"shop_id": ["7", "x"]})
    with pytest.raises(SchemaError, match=r"shops: column 'shop_id': 1 value\(s\).*\['x'\]"):
        align_id(shops, "shop_id", pl.Int64, "shops")
    assert align_id(shops.head(1), "shop_id", pl.Int64, "shops")["shop_id"].to_list() == [7]


def test_write_table_by_suffix(tmp_path):
    from chatsim.schema import write_table

    df = validate_messages(frame())
    back = pl.read_csv(write_table(df, tmp_path / "deep" / "m.csv"))
    assert back["sent_at"][0] == "2025-08-01T01:00:00.000000Z"
    assert pl.read_parquet(write_table(df, tmp_path / "m.pq")).equals(df)
    with pytest.raises(SchemaError, match="use a .parquet or .csv file name"):
        write_table(df, tmp_path / "m.xlsx")


# --------------------------------------------------------------------------------------
# Unreadable files, missing tables, implausible times, side tables (issue 14)
# --------------------------------------------------------------------------------------


def _parquet_bytes(tmp_path) -> bytes:
    p = tmp_path / "whole.parquet"
    pl.concat([frame()] * 200).with_row_index("n").with_columns(
        pl.col("n").alias("message_id")
    ).drop("n").write_parquet(p)
    return p.read_bytes()


def test_unreadable_files_name_the_file(tmp_path):
    empty = tmp_path / "empty" / "messages.csv"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(SchemaError, match=rf"^{empty}: cannot be read as CSV \(the file is empty"):
        read_log(empty.parent)
    data = _parquet_bytes(tmp_path)
    cut = tmp_path / "cut" / "messages.parquet"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SchemaError, match=rf"^{cut}: cannot be read as Parquet"):
        read_log(cut.parent)
    shards = tmp_path / "shards" / "messages"
    shards.mkdir(parents=True)
    (shards / "shard=00000.parquet").write_bytes(data)
    (shards / "shard=00001.parquet").write_bytes(b"")
    with pytest.raises(SchemaError, match=r"shard=00001.parquet: cannot be read as Parquet"):
        read_log(shards.parent)
    # random bytes inside the data pages: the footer reads, the data does not
    garbled = bytearray(data)
    garbled[8 : len(data) // 2] = random.Random(0).randbytes(len(data) // 2 - 8)
    bad = tmp_path / "garbled" / "messages"
    bad.mkdir(parents=True)
    (bad / "a.parquet").write_bytes(data)
    (bad / "b.parquet").write_bytes(bytes(garbled))
    with pytest.raises(SchemaError, match=r"b.parquet: cannot be read as Parquet"):
        read_log(bad.parent)


def test_folder_without_messages_table(tmp_path):
    log = write_log(sample_log(), tmp_path / "log", fmt="csv")
    (log / "messages.csv").unlink()
    with pytest.raises(SchemaError, match=r"no messages table in .*log; found \['blocked.csv'"):
        read_log(log)


def test_implausible_sent_at_refused_or_dropped_and_counted():
    far = dt.datetime(9999, 12, 31, tzinfo=UTC)
    bad = frame(sent_at=[dt.datetime(2025, 8, 1, 1, tzinfo=UTC), far, far])
    with pytest.raises(
        SchemaError,
        match=r"^x.csv: column 'sent_at': 2 row\(s\) fall outside the plausible range "
        r"2000-01-01 \.\. .*9999-12-31 00:00:00\+00:00.*lenient=True",
    ):
        validate_messages(bad, "x.csv")
    log = ChatLog.from_frames(bad, lenient=True)
    assert log.n_messages == 1
    assert log.dropped.counts == {"sent_at outside the plausible range": 2}
    old = frame(sent_at=[dt.datetime(1999, 12, 31, tzinfo=UTC)] * 3)
    with pytest.raises(SchemaError, match="3 row"):
        validate_messages(old)
    wide = (dt.datetime(1990, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert validate_messages(old, sent_at_range=wide).height == 3


def test_implausible_sent_at_from_a_file(tmp_path):
    p = tmp_path / "messages.csv"
    frame(
        sent_at=["2025-08-01T01:00:00Z", "9999-12-31T00:00:00Z", "2025-08-01T03:00:00Z"]
    ).write_csv(p)
    with pytest.raises(SchemaError, match=rf"^{p}: column 'sent_at': 1 row"):
        read_log(p)
    assert read_log(p, lenient=True).data_end == dt.datetime(2025, 8, 1, 3, tzinfo=UTC)


def test_side_table_errors_name_their_file(tmp_path):
    log = write_log(sample_log(), tmp_path / "log", fmt="csv")
    (log / "holiday_mode.csv").write_text(
        "shop_id,start,end\nshop_b,2025-08-28T00:00:00Z,2025-08-25T00:00:00Z\n"
    )
    with pytest.raises(SchemaError, match=rf"^{log / 'holiday_mode.csv'}: 1 interval"):
        read_log(log)
    (log / "holiday_mode.csv").unlink()
    (log / "shops.csv").write_text("shop_id,timezone\nshop_a,Mars/Olympus\n")
    with pytest.raises(SchemaError, match=rf"^{log / 'shops.csv'}: column 'timezone'"):
        read_log(log)


def test_side_rows_of_shops_without_messages_are_reported(tmp_path):
    from chatsim.errors import ChatsimWarning

    t = dt.datetime(2025, 8, 1, tzinfo=UTC)
    blocked = pl.DataFrame(
        {"shop_id": ["s1", "ghost", "ghost"], "buyer_id": ["b1", "b", "c"], "blocked_at": [t] * 3}
    )
    with pytest.warns(ChatsimWarning, match=r"blocked: 2 row\(s\) name shops with no messages"):
        log = ChatLog.from_frames(frame(), blocked=blocked)
    assert log.blocked.height == 3  # kept as given; they change no result
    holiday = pl.DataFrame({"shop_id": ["ghost"], "start": [t], "end": [t + dt.timedelta(1)]})
    with pytest.warns(ChatsimWarning, match=r"holiday_mode: 1 row\(s\).*\['ghost'\]"):
        ChatLog.from_frames(frame(), holiday_mode=holiday)


def test_ids_read_the_same_from_csv_and_parquet(tmp_path):
    """All-integer text ids read as integers: ties at one sent_at order 9 before 10."""
    from chatsim.metrics import compare

    t = dt.datetime(2025, 8, 1, 9, tzinfo=UTC)
    msgs = pl.DataFrame(
        {
            "message_id": [9, 10, 11, 12],
            "shop_id": [1, 1, 1, 2],
            "conversation_id": [5, 5, 5, 6],
            "buyer_id": [3, 3, 3, 4],
            "sent_at": [t, t, t + dt.timedelta(hours=13), t],
            "sender": ["buyer", "seller", "buyer", "buyer"],
            "kind": ["text"] * 4,
            "is_broadcast": [False] * 4,
        }
    )
    log = ChatLog.from_frames(msgs)
    tables = {}
    for fmt in ("parquet", "csv"):
        back = read_log(write_log(log, tmp_path / fmt, fmt=fmt))
        assert back.messages.schema["message_id"] == pl.Int64
        tables[fmt] = compare(back)
    for name in ("shops", "chats"):
        assert getattr(tables["csv"], name).equals(getattr(tables["parquet"], name)), name
    first = (
        tables["csv"].chats.filter(pl.col("rule") == "new-12h").sort("open_at").row(0, named=True)
    )
    assert first["status"] == "answered_in_time"  # 9 (buyer) before 10 (seller)
    # ids written with leading zeros, signs or letters stay text: nothing is changed
    (tmp_path / "text.csv").write_text(
        "message_id,shop_id,conversation_id,buyer_id,sent_at,sender,kind,is_broadcast\n"
        "007,1,c,+3,2025-08-01T09:00:00Z,buyer,text,false\n"
        "10,1,c,+3,2025-08-01T09:01:00Z,seller,text,false\n"
    )
    back = read_log(tmp_path / "text.csv")
    assert back.messages["message_id"].to_list() == ["007", "10"]
    assert back.messages.schema["shop_id"] == pl.Int64
    assert back.messages["buyer_id"].to_list() == ["+3", "+3"]


def test_lenient_hint_is_worded_for_its_reader():
    from chatsim.schema import lenient_wording

    with pytest.raises(SchemaError, match=r"read with lenient=True to keep the first copy"):
        validate_messages(frame(message_id=[1, 1, 3]))
    with lenient_wording("rerun with --lenient"), pytest.raises(SchemaError) as err:
        validate_messages(frame(message_id=[1, 1, 3]))
    assert "rerun with --lenient" in str(err.value) and "lenient=True" not in str(err.value)


# --------------------------------------------------------------------------------------
# The quick paths of reading (issue 16): the same tables and the same errors as the exact
# checks, which still run wherever a quick proof fails
# --------------------------------------------------------------------------------------


def _exact_checks(monkeypatch) -> None:
    """Reading with every quick path off: Enum columns checked as text, every text id
    column scanned whole, the exact duplicate and conversation checks on every read."""
    from chatsim.schema import checks, ids

    conform = checks.conform
    monkeypatch.setattr(checks, "conform", lambda lf, spec, source, **_: conform(lf, spec, source))
    monkeypatch.setattr(checks, "all_distinct", lambda s: False)
    monkeypatch.setattr(checks, "one_value_per_key", lambda k, v: False)
    monkeypatch.setattr(ids, "SAMPLE_ROWS", 0)


def _typed_messages(ids: str) -> pl.DataFrame:
    """The sample messages as chatsim writes them (Enum columns, UTC times), with the
    conversation and shop ids as text, dense integers or sparse integers."""
    m = sample_log().messages
    if ids == "text":
        return m
    step = 1 if ids == "dense" else 10**12
    code = {c: pl.col(c).rank("dense").cast(pl.Int64) * step for c in ("conversation_id",)}
    return m.with_columns(**code, message_id=pl.col("message_id") * step)


def _set(column: str, row: int, value: object, dtype: pl.DataType | None = None) -> pl.Expr:
    e = pl.lit(value, dtype=dtype) if dtype is not None else pl.lit(value)
    return pl.when(pl.int_range(pl.len()) == row).then(e).otherwise(pl.col(column)).alias(column)


MORE_SENDERS = pl.Enum(["buyer", "seller", "auto", "bot"])
#: Faults put into the typed sample messages (several at once: the first check must win).
FAULTS = {
    "none": lambda m: m,
    "unknown sender, Enum of more values": lambda m: m.with_columns(
        pl.col("sender").cast(MORE_SENDERS)
    ).with_columns(_set("sender", 3, "bot", MORE_SENDERS)),
    "unknown kind, text": lambda m: m.with_columns(pl.col("kind").cast(pl.String)).with_columns(
        _set("kind", 5, "gif")
    ),
    "unknown rating, categorical": lambda m: m.with_columns(
        pl.col("rating").cast(pl.String).cast(pl.Categorical)
    ).with_columns(_set("rating", 2, "great", pl.Categorical)),
    "text enums, all known": lambda m: m.with_columns(pl.col("sender", "kind").cast(pl.String)),
    "null shop": lambda m: m.with_columns(_set("shop_id", 4, None, pl.String)),
    "null shop and unknown sender": lambda m: m.with_columns(
        _set("shop_id", 4, None, pl.String), pl.col("sender").cast(pl.String)
    ).with_columns(_set("sender", 9, "bot")),
    "duplicate id": lambda m: m.with_columns(_set("message_id", 7, m["message_id"][6])),
    "duplicate text id": lambda m: m.with_columns(
        pl.format("m{}", "message_id").alias("message_id")
    ).with_columns(_set("message_id", 7, f"m{m['message_id'][6]}")),
    "duplicate id, rows shuffled": lambda m: m.with_columns(
        _set("message_id", 7, m["message_id"][6])
    ).sample(fraction=1.0, shuffle=True, seed=1),
    "two shops": lambda m: m.with_columns(_set("shop_id", 9, "shop_d")),
    "two shops, integer shop ids": lambda m: m.with_columns(
        pl.col("shop_id").rank("dense").cast(pl.Int64)
    ).with_columns(_set("shop_id", 9, 4)),
    "two shops and a duplicate id": lambda m: m.with_columns(
        _set("shop_id", 9, "shop_d"), _set("message_id", 12, m["message_id"][11])
    ),
    "implausible time and two shops": lambda m: m.with_columns(
        _set("shop_id", 9, "shop_d"),
        _set("sent_at", 2, dt.datetime(9999, 1, 1, tzinfo=UTC), pl.Datetime("us", "UTC")),
    ),
    "shop missing from the shops table": lambda m: m.with_columns(_set("shop_id", 0, "shop_x")),
}


def _outcome(folder) -> tuple[str, object]:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            log = read_log(folder)
        except SchemaError as exc:
            return "error", str(exc)
    tables = tuple(getattr(log, t) for t in ("messages", "shops", "holiday_mode", "blocked"))
    return "log", (tables, [str(w.message) for w in caught])


def _same(a: tuple[str, object], b: tuple[str, object]) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a[1] == b[1]
        return
    (ta, wa), (tb, wb) = a[1], b[1]  # type: ignore[misc]
    assert wa == wb
    for x, y in zip(ta, tb, strict=True):
        assert x.schema == y.schema and x.equals(y)


@pytest.mark.parametrize("ids", ["text", "dense", "sparse"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_quick_reading_gives_the_exact_checks_tables_and_errors(tmp_path, monkeypatch, ids, fault):
    folder = write_log(sample_log(), tmp_path / "log")
    FAULTS[fault](_typed_messages(ids)).write_parquet(folder / "messages.parquet")
    quick = _outcome(folder)
    with monkeypatch.context() as m:
        _exact_checks(m)
        exact = _outcome(folder)
    _same(quick, exact)
    assert (quick[0] == "log") == (fault in ("none", "text enums, all known"))


def test_quick_reading_errors_read_as_before(tmp_path):
    """Messages of the exact checks on bad typed Parquet, worded as before (hand-checked)."""
    folder = write_log(sample_log(), tmp_path / "log")
    path = folder / "messages.parquet"
    expected = {
        "unknown sender, Enum of more values": f"{path}: column 'sender': 1 row(s) hold "
        "unknown values {'bot': 1}; allowed: ['buyer', 'seller', 'auto'].",
        "null shop and unknown sender": f"{path}: column 'sender': 1 row(s) hold unknown "
        "values {'bot': 1}; allowed: ['buyer', 'seller', 'auto'].",
        "duplicate id, rows shuffled": f"{path}: column 'message_id': 2 row(s) share a message "
        "id with another row (e.g. ids [7]). Message ids must be unique; deduplicate the "
        "export (or read with lenient=True to keep the first copy and count the rest).",
        "two shops and a duplicate id": f"{path}: column 'message_id': 2 row(s) share a "
        "message id with another row (e.g. ids [12]). Message ids must be unique; deduplicate "
        "the export (or read with lenient=True to keep the first copy and count the rest).",
    }
    for fault, message in expected.items():
        FAULTS[fault](_typed_messages("text")).write_parquet(path)
        assert _outcome(folder) == ("error", message), fault


ID_VALUES = st.one_of(
    st.lists(st.integers(0, 12), max_size=40),  # dense, repeats likely
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20),  # sparse, extreme values
    st.lists(st.sampled_from([0, 9 * 10**18, -9 * 10**18, 5]), max_size=8),  # overflow traps
    st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=20),
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "007"])), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(values=ID_VALUES, ordered=st.booleans())
def test_all_distinct_is_the_duplicate_check(values, ordered):
    from chatsim.schema.ids import all_distinct, duplicate_message_ids

    s = pl.Series("message_id", sorted(values, key=str) if ordered else values)
    assert all_distinct(s) == (duplicate_message_ids(s.to_frame()).height == 0)


@settings(max_examples=200, deadline=None)
@given(
    keys=ID_VALUES,
    shops=st.lists(st.sampled_from(["s1", "s2", "s3"]), min_size=40, max_size=40),
    as_int=st.booleans(),
)
def test_one_value_per_key_is_the_two_shops_check(keys, shops, as_int):
    from chatsim.schema.ids import conversations_under_two_shops, one_value_per_key

    conv = pl.Series("conversation_id", keys)
    shop = pl.Series("shop_id", shops[: len(keys)], dtype=pl.String)
    if as_int:
        shop = shop.str.slice(1).cast(pl.Int64)
    exact = conversations_under_two_shops(pl.DataFrame([conv, shop])).height == 0
    proof = one_value_per_key(conv, shop)
    assert proof == exact or (not proof and conv.null_count())  # nulls: left to the check


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "10", ""])), max_size=30))
def test_value_codes_match_values_and_list_each_once(values):
    from chatsim.schema.ids import value_codes

    s = pl.Series("shop_id", values, dtype=pl.String)
    codes, distinct = value_codes(s)
    pairs = set(zip(values, codes.to_list(), strict=True))
    assert len(pairs) == len({v for v, _ in pairs}) == len({c for _, c in pairs})  # one to one
    assert sorted(distinct.to_list()) == sorted({v for v in values if v is not None})


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["1", "-4", "10", "007", "+3", "x", " 5"])),
        max_size=12,
    ),
    sample=st.integers(0, 4),
)
def test_id_types_from_the_first_rows_are_the_whole_columns(values, sample):
    """A non-integer among the first rows settles a column as text: the same choice as
    reading every row (the definition, written out here)."""
    from chatsim.schema import ids

    s = pl.Series("message_id", values, dtype=pl.String)
    ints = [v for v in values if v is not None]
    plain = all(v.lstrip("-").isdigit() and v == str(int(v)) for v in ints) and bool(ints)
    want = pl.Int64 if plain else pl.String
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ids, "SAMPLE_ROWS", sample)
        assert ids.id_dtypes(s.to_frame(), ["message_id"]) == {"message_id": want}
