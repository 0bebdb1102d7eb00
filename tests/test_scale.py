"""Bucketed metrics over log folders (chatsim.scale) and byte-identical simulation shards."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from chatsim.errors import EngineError, SchemaError
from chatsim.metrics import Evaluation, compare
from chatsim.rules import LEGACY_24H, NEW_12H
from chatsim.sample import sample_log, sample_log_path
from chatsim.scale import compare_dataset, plan_dataset
from chatsim.scale.footers import file_facts
from chatsim.scenario import load_scenario
from chatsim.schema import lenient_wording, read_log
from chatsim.simulate import SHARD_SIZE, simulate_to_dir

ROOT = Path(__file__).resolve().parents[1]
SIDE = ("shops.parquet", "holiday_mode.parquet", "blocked.parquet")


@pytest.fixture(scope="module")
def sim_log(simulated_log) -> Path:
    return simulated_log(shops=100, days=10)


@pytest.fixture(scope="module")
def reference(sim_log: Path) -> Evaluation:
    return compare(read_log(sim_log))


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("rule", "shop_id")


def _same(ev: Evaluation, ref: Evaluation) -> None:
    assert ev.as_of == ref.as_of
    assert ev.messages_used == ref.messages_used
    assert ev.messages_after_cutoff == ref.messages_after_cutoff
    assert ev.dropped == ref.dropped
    assert ev.shops.columns == ref.shops.columns
    # integer and text columns exactly; means and medians to the last bits (a float sum's
    # result may depend on how the rows are chunked)
    assert_frame_equal(_sorted(ev.shops), _sorted(ref.shops), rel_tol=1e-12, abs_tol=0)
    # rule order, then shop order, as compare() gives it
    assert ev.shops.select("rule", "shop_id").equals(ref.shops.select("rule", "shop_id"))
    assert ev.exclusions().equals(ref.exclusions())
    assert_frame_equal(ev.summary(), ref.summary(), rel_tol=1e-12, abs_tol=0)


def test_the_log_has_pending_chats_and_every_exclusion(reference: Evaluation) -> None:
    # so that the equality tests below cover them
    s = reference.shops
    assert s["pending"].sum() > 0
    for col in ("holiday_mode", "blocked", "seller_initiated", "auto_resolved"):
        assert s[f"excluded_{col}"].sum() > 0, col


def test_shard_files_as_buckets(sim_log: Path, reference: Evaluation) -> None:
    plan = plan_dataset(sim_log)
    assert plan.partitioned_by_shop and not plan.repartition
    assert plan.planned_from == "footers"  # no data read to plan
    assert plan.id_check == {
        "message_id": "disjoint bucket ranges",
        "conversation_id": "disjoint bucket ranges",
    }
    ev = compare_dataset(sim_log, progress=False)
    assert not ev.repartitioned
    assert ev.chats.height == 0
    _same(ev, reference)


def test_small_budget_packs_files_and_splits_a_file_by_shop(
    sim_log: Path, reference: Evaluation
) -> None:
    budget_gb = 20_000 * 700 / 1024**3  # ~20,000 messages a bucket: a shard file is split
    ev = compare_dataset(sim_log, progress=False, memory_budget_gb=budget_gb)
    assert ev.buckets > 2
    assert not ev.repartitioned
    assert sum(ev.bucket_messages) == reference.messages_used + reference.messages_after_cutoff
    _same(ev, reference)


def test_forced_repartition_into_three_buckets(
    sim_log: Path, reference: Evaluation, tmp_path: Path
) -> None:
    ev = compare_dataset(sim_log, progress=False, buckets=3, work_dir=tmp_path)
    assert ev.repartitioned and ev.buckets == 3
    assert max(ev.bucket_messages) < 0.4 * sum(ev.bucket_messages)  # balanced
    assert list(tmp_path.iterdir()) == []  # the bucket files are removed
    _same(ev, reference)


def test_chats_written_per_bucket_match(
    sim_log: Path, reference: Evaluation, tmp_path: Path
) -> None:
    out = tmp_path / "chats"
    ev = compare_dataset(sim_log, progress=False, buckets=2, chats_out=out, keep_chats=True)
    assert len(list(out.glob("bucket=*.parquet"))) == 2
    keys = ["rule", "conversation_id", "open_at"]
    written = pl.read_parquet(out).sort(keys)
    assert written.equals(reference.chats.sort(keys))
    assert ev.chats.sort(keys).equals(written)


def test_messages_split_by_time_are_repartitioned(
    sim_log: Path, reference: Evaluation, tmp_path: Path
) -> None:
    log = tmp_path / "by_day"
    (log / "messages").mkdir(parents=True)
    for name in SIDE:
        shutil.copy(sim_log / name, log / name)
    msgs = pl.read_parquet(sim_log / "messages")
    days = msgs.with_columns(pl.col("sent_at").dt.date().alias("_day"))
    for (day,), part in days.group_by("_day"):
        part.drop("_day").write_parquet(log / "messages" / f"day={day}.parquet")
    plan = plan_dataset(log)
    assert not plan.partitioned_by_shop
    ev = compare_dataset(log, progress=False, memory_budget_gb=40_000 * 700 / 1024**3)
    assert ev.repartitioned and ev.buckets >= 3
    _same(ev, reference)


def test_the_buckets_engine_of_compare(sim_log: Path, reference: Evaluation) -> None:
    ev = compare(sim_log, engine="buckets", buckets=2, progress=False)
    assert ev.repartitioned and ev.buckets == 2
    _same(ev, reference)


def test_csv_log_repartitioned(tmp_path: Path) -> None:
    # the buckets of a CSV log are written as Parquet, and read back as such
    ref = compare(sample_log())
    ev = compare_dataset(sample_log_path(), buckets=2, work_dir=tmp_path, progress=False)
    assert ev.repartitioned and ev.buckets == 2
    _same(ev, ref)


def test_shops_without_messages_appear_once(sim_log: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    shutil.copytree(sim_log, log)
    shops = pl.read_parquet(log / "shops.parquet")
    extra = shops.head(2).with_columns(pl.Series("shop_id", ["zz_quiet_1", "zz_quiet_2"]))
    pl.concat([shops, extra]).write_parquet(log / "shops.parquet")
    ref = compare(read_log(log))
    for kw in ({}, {"buckets": 3}):
        ev = compare_dataset(log, progress=False, **kw)
        quiet = ev.shops.filter(pl.col("shop_id").str.starts_with("zz_"))
        assert quiet.height == 4  # 2 shops x 2 rules
        assert quiet["response_rate"].null_count() == 4
        _same(ev, ref)


def test_explicit_as_of_and_rules(sim_log: Path) -> None:
    rules = [NEW_12H, LEGACY_24H.replace(name="legacy-36h", window_hours=36)]
    as_of = "2025-08-22T00:00:00Z"
    ref = compare(read_log(sim_log), rules, as_of=as_of)
    ev = compare_dataset(sim_log, rules, as_of=as_of, buckets=2, progress=False)
    assert ev.messages_after_cutoff > 0
    _same(ev, ref)


def test_duplicate_ids_across_buckets_are_found(sim_log: Path, tmp_path: Path) -> None:
    log = tmp_path / "dup"
    shutil.copytree(sim_log, log)
    files = sorted((log / "messages").glob("*.parquet"))
    first = pl.read_parquet(files[0])
    last = pl.read_parquet(files[-1])
    # a message of the last shard reuses an id of the first: different shops and files
    last = last.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(first["message_id"][0])
        .otherwise(pl.col("message_id"))
        .alias("message_id")
    )
    last.write_parquet(files[-1])
    with pytest.raises(SchemaError, match="message_id"):
        read_log(log)
    small = 80_000 * 700 / 1024**3  # one shard file a bucket
    assert plan_dataset(log, memory_budget_gb=small).id_check["message_id"] == "streaming check"
    # one bucket (found by its validation), two, and a check cut into 7 hash slices
    for kw in (
        {},
        {"memory_budget_gb": small},
        {"buckets": 2},
        {"buckets": 3, "memory_budget_gb": 0.001},
    ):
        with pytest.raises(SchemaError, match="message_id"):
            compare_dataset(log, progress=False, **kw)


def test_conversation_under_two_shops_across_buckets_is_found(
    sim_log: Path, tmp_path: Path
) -> None:
    log = tmp_path / "conv"
    shutil.copytree(sim_log, log)
    files = sorted((log / "messages").glob("*.parquet"))
    first = pl.read_parquet(files[0])
    last = pl.read_parquet(files[-1])
    conv = last["conversation_id"][0]
    last = last.with_columns(
        pl.when(pl.col("conversation_id") == conv)
        .then(first["conversation_id"][0])
        .otherwise(pl.col("conversation_id"))
        .alias("conversation_id")
    )
    last.write_parquet(files[-1])
    small = 80_000 * 700 / 1024**3  # one shard file a bucket
    assert plan_dataset(log, memory_budget_gb=small).id_check["conversation_id"] == (
        "streaming check"
    )
    for kw in ({}, {"memory_budget_gb": small}, {"buckets": 2}):
        with pytest.raises(SchemaError, match="conversation_id"):
            compare_dataset(log, progress=False, **kw)


def test_simulated_shards_are_byte_identical_for_any_worker_count(tmp_path: Path) -> None:
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").scaled(
        shops=2 * SHARD_SIZE + 7, days=3
    )
    one = simulate_to_dir(sc, tmp_path / "one", workers=1, progress=False)
    two = simulate_to_dir(sc, tmp_path / "two", workers=2, progress=False)
    names = sorted(p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file())
    assert len([n for n in names if n.startswith("messages/shard=")]) == 3
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


# --------------------------------------------------------------------------------------
# The buckets engine reads like the in-memory one (issues 13 and 14)
# --------------------------------------------------------------------------------------


def _two_file_log(tmp_path: Path, fmt: str = "parquet") -> Path:
    """A log whose two files share a message id under two shops, with ids that only sort
    right as integers, a far-future time and a blocked row of an unknown shop."""
    log = tmp_path / f"log-{fmt}"
    (log / "messages").mkdir(parents=True)
    msgs = sample_log().messages.with_columns(
        pl.col("message_id").cast(pl.Int64), pl.col("sender").cast(pl.String)
    )
    shops = msgs["shop_id"].unique().sort()
    for i, part in enumerate((shops[:2], shops[2:])):
        df = msgs.filter(pl.col("shop_id").is_in(part.implode()))
        if i == 1:  # message 5 again, under another shop
            df = pl.concat(
                [
                    df,
                    msgs.filter(pl.col("message_id") == 5).with_columns(
                        pl.lit(shops[2]).alias("shop_id"), pl.lit("zz").alias("conversation_id")
                    ),
                ]
            )
        path = log / "messages" / f"part{i}.{fmt}"
        df.write_parquet(path) if fmt == "parquet" else df.with_columns(
            pl.col("sent_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        ).write_csv(path)
    for name in ("shops", "holiday_mode"):
        shutil.copy(sample_log_path() / f"{name}.csv", log / f"{name}.csv")
    return log


def test_buckets_lenient_keeps_the_first_copy_like_memory(tmp_path: Path) -> None:
    for fmt in ("parquet", "csv"):
        log = _two_file_log(tmp_path, fmt)
        with pytest.raises(SchemaError, match=r"2 row\(s\) share a message id.*ids \[5\]"):
            compare_dataset(log, progress=False, buckets=2)
        ref = compare(read_log(log, lenient=True))
        assert ref.dropped == {"duplicate message_id": 1}
        for buckets in (None, 2):
            ev = compare_dataset(log, progress=False, buckets=buckets, lenient=True)
            _same(ev, ref)


def test_buckets_ignore_implausible_times_for_the_cutoff(tmp_path: Path) -> None:
    log = tmp_path / "far"
    shutil.copytree(sample_log_path(), log)
    text = (log / "messages.csv").read_text().splitlines()
    text[1] = text[1].replace("2025-08-01T03:00:00Z", "9999-12-31T00:00:00Z")
    (log / "messages.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(SchemaError, match="outside the plausible range"):
        compare_dataset(log, progress=False)
    ref = compare(read_log(log, lenient=True))
    ev = compare_dataset(log, progress=False, lenient=True)
    assert ev.dropped == {"sent_at outside the plausible range": 1}
    _same(ev, ref)


def test_buckets_chats_out_is_a_folder(tmp_path: Path) -> None:
    from chatsim.errors import EngineError

    with pytest.raises(EngineError, match=r"chats.csv: the buckets engine writes the chat table"):
        compare_dataset(sample_log_path(), progress=False, chats_out=tmp_path / "chats.csv")
    assert not (tmp_path / "chats.csv").exists()


def test_buckets_warn_about_side_rows_of_unknown_shops(tmp_path: Path) -> None:
    from chatsim.errors import ChatsimWarning

    log = tmp_path / "ghost"
    shutil.copytree(sample_log_path(), log)
    with (log / "blocked.csv").open("a") as f:
        f.write("ghost,b1,2025-08-02T00:00:00Z\n")
    with pytest.warns(ChatsimWarning, match=r"blocked.csv: 1 row\(s\) name shops with no"):
        compare_dataset(log, progress=False)
    with pytest.warns(ChatsimWarning, match=r"blocked.csv: 1 row\(s\)"):
        read_log(log)


# --------------------------------------------------------------------------------------
# The plan from Parquet footers, and buckets evaluated several at once
# --------------------------------------------------------------------------------------


def _without_statistics(src: Path, dst: Path) -> Path:
    """A copy of a log whose message files carry no column statistics (the plan scans)."""
    shutil.copytree(src, dst)
    for f in sorted((dst / "messages").glob("*.parquet")):
        pl.read_parquet(f).write_parquet(f, statistics=False)
    return dst


@pytest.mark.parametrize("budget_messages", [None, 20_000, 80_000])
def test_the_footer_plan_equals_the_scanned_plan(
    sim_log: Path, tmp_path: Path, budget_messages: int | None
) -> None:
    scanned_log = _without_statistics(sim_log, tmp_path / "nostats")
    gb = None if budget_messages is None else budget_messages * 700 / 1024**3
    fast = plan_dataset(sim_log, memory_budget_gb=gb)
    slow = plan_dataset(scanned_log, memory_budget_gb=gb)
    assert (fast.planned_from, slow.planned_from) == ("footers", "scan")
    for attr in ("n_messages", "data_end", "ids", "id_check", "n_buckets", "max_bucket_messages"):
        assert getattr(fast, attr) == getattr(slow, attr), attr
    assert [
        (b.messages, b.filter_messages, [f.name for f in b.files]) for b in fast.bucket_list
    ] == [(b.messages, b.filter_messages, [f.name for f in b.files]) for b in slow.bucket_list]
    # a file split by shop: the footer plan scans that file for its shops
    for a, b in zip(fast.bucket_list, slow.bucket_list, strict=True):
        if b.filter_messages:
            assert a.shops is not None and a.shops.sort().equals(b.shops.sort())


def test_a_log_without_statistics_gives_the_same_result(
    sim_log: Path, reference: Evaluation, tmp_path: Path
) -> None:
    ev = compare_dataset(_without_statistics(sim_log, tmp_path / "nostats"), progress=False)
    assert ev.planned_from == "scan"
    _same(ev, reference)


def test_an_implausible_time_in_a_parquet_file_is_not_the_cutoff(
    sim_log: Path, tmp_path: Path
) -> None:
    log = tmp_path / "far"
    shutil.copytree(sim_log, log)
    f = sorted((log / "messages").glob("*.parquet"))[1]
    df = pl.read_parquet(f)
    far = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    df.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(far).otherwise(pl.col("sent_at")).alias("sent_at")
    ).write_parquet(f)
    assert plan_dataset(log).planned_from == "scan"  # the footer's maximum is implausible
    with pytest.raises(SchemaError, match="outside the plausible range"):
        compare_dataset(log, progress=False)
    ref = compare(read_log(log, lenient=True))
    ev = compare_dataset(log, progress=False, lenient=True)
    assert ev.as_of == ref.as_of < far
    _same(ev, ref)


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_any_number_of_workers_gives_the_same_tables(
    sim_log: Path, reference: Evaluation, workers: int
) -> None:
    small = 30_000 * 700 / 1024**3  # several buckets, some of them cut from one file
    ev = compare_dataset(sim_log, progress=False, workers=workers, memory_budget_gb=small)
    assert ev.workers == min(workers, ev.buckets) and ev.buckets > 3
    # each bucket gets the budget's share
    assert max(ev.bucket_messages) <= 30_000 // workers + 10_000
    _same(ev, reference)


def test_the_first_failing_bucket_is_the_error_whatever_the_timing(
    sim_log: Path, tmp_path: Path
) -> None:
    log = tmp_path / "nulls"
    shutil.copytree(sim_log, log)
    files = sorted((log / "messages").glob("*.parquet"))
    for f in (files[0], files[-1]):  # a null buyer in the first and in the last bucket
        df = pl.read_parquet(f)
        df.with_columns(
            pl.when(pl.int_range(pl.len()) == 1)
            .then(None)
            .otherwise(pl.col("buyer_id"))
            .alias("buyer_id")
        ).write_parquet(f)
    small = 30_000 * 700 / 1024**3
    for workers in (1, 2):
        with pytest.raises(SchemaError, match=r"\[bucket 0\].*null values") as err:
            compare_dataset(log, progress=False, workers=workers, memory_budget_gb=small)
        assert "read with lenient=True" in str(err.value)
    # the wording asked by the caller holds in the worker threads too
    with lenient_wording("rerun with --lenient"), pytest.raises(SchemaError) as err:
        compare_dataset(log, progress=False, workers=2, memory_budget_gb=small)
    assert "rerun with --lenient" in str(err.value)


def test_workers_must_be_a_positive_whole_number(sim_log: Path) -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(EngineError, match="workers must be a whole number"):
            compare_dataset(sim_log, progress=False, workers=bad)  # type: ignore[arg-type]


IDS = st.one_of(
    st.integers(-(2**62), 2**62),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(IDS, min_size=1, max_size=30),
    groups=st.integers(1, 4),
    micros=st.lists(st.integers(0, 2**50), min_size=1, max_size=30),
)
def test_footer_bounds_are_the_columns_min_and_max(
    values: list, groups: int, micros: list[int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    kind = type(values[0])
    values = [v for v in values if type(v) is kind]
    n = min(len(values), len(micros))
    df = pl.DataFrame(
        {
            "shop_id": values[:n],
            "sent_at": pl.Series(micros[:n]).cast(pl.Datetime("us", "UTC")),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) % 3 == 2).then(None).otherwise("shop_id").alias("shop_id")
    )
    f = tmp_path_factory.mktemp("facts") / "m.parquet"
    df.write_parquet(f, row_group_size=max(1, n // groups))
    facts = file_facts([f], ["shop_id", "sent_at"])
    assert facts is not None
    row = facts.row(0, named=True)
    assert row["n"] == n
    assert row["shop_id_nulls"] == df["shop_id"].null_count()
    assert (row["shop_id_min"], row["shop_id_max"]) == (df["shop_id"].min(), df["shop_id"].max())
    assert (row["sent_at_min"], row["sent_at_max"]) == (min(micros[:n]), max(micros[:n]))


def test_footers_without_statistics_give_nothing(tmp_path: Path) -> None:
    f = tmp_path / "m.parquet"
    pl.DataFrame({"shop_id": ["a"]}).write_parquet(f, statistics=False)
    assert file_facts([f], ["shop_id"]) is None
    (tmp_path / "bad.parquet").write_text("not parquet")
    assert file_facts([tmp_path / "bad.parquet"], ["shop_id"]) is None


def test_buckets_are_about_equal_and_keep_every_worker_busy(
    sim_log: Path, reference: Evaluation, tmp_path: Path
) -> None:
    log = tmp_path / "by_shop"
    (log / "messages").mkdir(parents=True)
    for name in SIDE:
        shutil.copy(sim_log / name, log / name)
    msgs = pl.read_parquet(sim_log / "messages")
    for (shop,), part in msgs.group_by("shop_id"):
        part.write_parquet(log / "messages" / f"{shop}.parquet")
    per_file = msgs.group_by("shop_id").len()["len"]
    budget_messages = int(per_file.max()) * 12  # room for several files a bucket
    for workers in (1, 2, 3):
        plan = plan_dataset(log, memory_budget_gb=budget_messages * 700 / 1024**3, workers=workers)
        sizes = [b.messages for b in plan.bucket_list]
        assert plan.planned_from == "footers" and sum(sizes) == msgs.height
        assert max(sizes) <= plan.max_bucket_messages
        assert len(sizes) % workers == 0  # the last round keeps every worker busy
        # about equal: within one file of each other
        assert max(sizes) - min(sizes) <= 2 * int(per_file.max())
    ev = compare_dataset(
        log, progress=False, workers=2, memory_budget_gb=budget_messages * 700 / 1024**3
    )
    _same(ev, reference)
