"""Why shops flip: the chats that pass the old rule and miss the new one, classified by when
they opened (shop-local time, public holidays of the shop's country) and how late they were
answered; late and unanswered chats by hour of week, and captions written from the data."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from chatsim.errors import RuleError
from chatsim.explain.causes import (
    flip_causes,
    hour_of_week_caption,
    lateness_bands,
    missed_by_hour_of_week,
    with_open_time,
)
from chatsim.metrics import compare
from chatsim.schema import ChatLog
from tests.logbuilder import log_of, msgs

ZONES = {"vn": "Asia/Ho_Chi_Minh", "my": "Asia/Kuala_Lumpur", "th": "Asia/Bangkok"}
ZONES["gb"] = "Europe/London"
COUNTRY = {"vn": "VN", "my": "MY", "th": "TH", "gb": "GB"}


def local(shop: str, day: int, hour: int) -> dt.datetime:
    """September 2025, shop-local wall-clock time, as UTC."""
    return dt.datetime(2025, 9, day, hour, tzinfo=ZoneInfo(ZONES[shop])).astimezone(dt.UTC)


def causes_log() -> ChatLog:
    """Three shops lose status (answers after 14 h pass 24 h, miss 12 h), one passes both:

    * ``vn``: chats on National Day (Tue 2 Sep, 10:00), at night (Wed 23:00), on Saturday
      (10:00) and two on working-day mornings: 3 of 5 off hours;
    * ``my`` (chatbot on): Saturday and Sunday 10:00, answered Monday 11:00 and 10:00 (the
      legacy rule's Monday-noon deadline): 2 of 2 off hours, 49 h and 24 h late;
    * ``th``: three working-day mornings: 0 of 3 off hours;
    * ``gb``: 10 chats answered in 1 h and one unanswered (Sunday 15:00): passes both.
    """
    rows = []

    def chat(shop, key, opened, answered):
        rows.append((key, opened, "buyer", "text", {"shop": shop}))
        if answered is not None:
            rows.append((key, answered, "seller", "text", {"shop": shop}))

    for i, (day, hour) in enumerate([(2, 10), (3, 23), (6, 10), (4, 10), (5, 10)]):
        t = local("vn", day, hour)
        chat("vn", f"vn{i}", t, t + dt.timedelta(hours=14))
    chat("my", "my0", local("my", 6, 10), local("my", 8, 11))
    chat("my", "my1", local("my", 7, 10), local("my", 8, 10))
    for i, day in enumerate((8, 9, 10)):
        t = local("th", day, 10)
        chat("th", f"th{i}", t, t + dt.timedelta(hours=14))
    for i in range(10):
        t = local("gb", 8 + i, 9)
        chat("gb", f"gb{i}", t, t + dt.timedelta(hours=1))
    chat("gb", "gb-missed", local("gb", 7, 15), None)
    rows.append(
        ("end", dt.datetime(2025, 9, 25, tzinfo=dt.UTC), "seller", "system", {"shop": "gb"})
    )
    shops = [
        {
            "shop_id": s,
            "timezone": ZONES[s],
            "chatbot_enabled": s == "my",
            "archetype": "solo_weekdays",
            "country": COUNTRY[s],
        }
        for s in ZONES
    ]
    return log_of(msgs(*rows), shops)


@pytest.fixture(scope="module")
def ev():
    return compare(causes_log())


def test_lost_chats_by_when_they_opened_and_how_late(ev):
    c = flip_causes(ev)
    assert (c.old, c.new, c.lost_shops, c.shops_with_chats, c.chats) == (
        "legacy-24h",
        "new-12h",
        3,
        3,
        10,
    )
    t = c.by_time.filter(pl.col("chats") > 0)
    got = {(o, late): n for o, late, n in t.select("open_time", "lateness", "chats").iter_rows()}
    assert got == {
        ("holiday", "12–24 h"): 1,
        ("weekend", "12–24 h"): 1,
        ("weekend", "24–48 h"): 1,
        ("weekend", "over 48 h"): 1,
        ("night", "12–24 h"): 1,
        ("daytime", "12–24 h"): 5,
    }
    assert c.by_time["share"].sum() == pytest.approx(1.0)
    # every class and band is present (the band under 12 h only when it holds chats)
    assert c.by_time.height == 4 * 4
    assert c.by_time["open_time_label"].unique(maintain_order=True).to_list() == [
        "Public holiday",
        "Weekend",
        "Night",
        "Working-day daytime",
    ]
    assert (
        c.holidays_checked and c.note == "Public holidays checked for MY, TH, VN."
    )  # the lost chats' shops


def test_share_of_lost_shops_mostly_off_hours(ev):
    c = flip_causes(ev)
    shops = {r["shop_id"]: r for r in c.shops.iter_rows(named=True)}
    assert set(shops) == {"vn", "my", "th"}
    assert (shops["vn"]["chats"], shops["vn"]["off_hours_chats"]) == (5, 3)
    assert [shops[s]["mostly_off_hours"] for s in ("vn", "my", "th")] == [True, True, False]
    assert "archetype" in c.shops.columns
    assert (c.mostly_off_hours, c.share_mostly_off_hours) == (2, pytest.approx(2 / 3))
    assert c.reading == (
        "Of the 10 chats that pass legacy-24h but miss new-12h in the 3 shops that lose status, "
        "50.0 % opened at night, on weekends or on public holidays; 80.0 % were answered "
        "12–24 h after opening."
    )


def test_without_a_country_column_holidays_are_skipped_and_said(ev):
    bare = replace(ev, shops=ev.shops.drop("country"))
    c = flip_causes(bare)
    assert not c.holidays_checked
    assert c.note == "Public holidays not checked: the shops table has no country column."
    assert "holiday" not in c.by_time["open_time"].to_list()
    daytime = c.by_time.filter(pl.col("open_time") == "daytime")["chats"].sum()
    assert daytime == 6  # National Day reads as a Tuesday morning
    assert "opened at night or on weekends" in c.reading


def test_open_time_classes_and_unknown_countries():
    t = dt.datetime(2025, 9, 2, 3, tzinfo=dt.UTC)
    chats = pl.DataFrame({"shop_id": ["a", "b", "c"], "open_at": [t, t, t]})
    shops = pl.DataFrame(
        {
            "shop_id": ["a", "b", "c"],
            "timezone": ["Asia/Ho_Chi_Minh", "Asia/Ho_Chi_Minh", "Pacific/Kiritimati"],
            "country": ["VN", "ZZ", None],
        }
    )
    out, note = with_open_time(chats, shops)
    # 10:00 in Ho Chi Minh City on National Day; 17:00 Tuesday on Kiritimati (UTC+14)
    assert out.sort("shop_id")["open_time"].to_list() == ["holiday", "daytime", "daytime"]
    assert note == "Public holidays checked for VN; not for ZZ (unknown to the holidays package)."
    night, _ = with_open_time(chats, shops, night=(16, 18))
    assert night.sort("shop_id")["open_time"].to_list() == ["holiday", "daytime", "night"]


def test_lateness_bands_follow_the_windows():
    assert [b for _, b in lateness_bands(12, 24)] == [
        "under 12 h",
        "12–24 h",
        "24–48 h",
        "over 48 h",
    ]
    assert [b for _, b in lateness_bands(6.5, 6)] == [
        "under 6.5 h",
        "6.5–13 h",
        "13–26 h",
        "over 26 h",
    ]


def test_no_lost_shop_and_needing_the_chat_tables(ev):
    c = flip_causes(ev, "new-12h", "new-12h")
    assert c.lost_shops == 0 and c.chats == 0 and c.share_mostly_off_hours is None
    assert c.reading == "No shop loses status under new-12h, so no chat explains a loss."
    with pytest.raises(RuleError, match=r"compare\(\.\.\., chats=False\)"):
        flip_causes(compare(causes_log(), chats=False))


def test_hour_of_week_counts_late_and_unanswered_chats(ev):
    f = missed_by_hour_of_week(ev)
    assert f.height == 168 and f.columns == [
        "weekday_no",
        "weekday",
        "hour",
        "late",
        "unanswered",
        "missed",
    ]
    assert (f["late"].sum(), f["unanswered"].sum()) == (10, 1)
    sun15 = f.filter((pl.col("weekday") == "Sun") & (pl.col("hour") == 15)).row(0, named=True)
    assert (sun15["late"], sun15["unanswered"]) == (0, 1)
    tue10 = f.filter((pl.col("weekday") == "Tue") & (pl.col("hour") == 10))
    assert tue10["late"][0] == 2  # vn on National Day, th on Tuesday 9 Sep
    only = missed_by_hour_of_week(ev, shops=["gb"])
    assert (only["late"].sum(), only["unanswered"].sum()) == (0, 1)
    assert missed_by_hour_of_week(ev, "legacy-24h")["missed"].sum() == 1


def test_the_caption_describes_the_data(ev):
    f = missed_by_hour_of_week(ev)
    caption = hour_of_week_caption(f, "new-12h")
    assert caption.startswith(
        "Under new-12h, 11 chats were answered late or not at all (10 late, 1 unanswered)."
    )
    assert "The busiest hour is Tue 10:00–11:00 (2 chats)" in caption
    assert "36.4 % opened on weekends" in caption and "9.1 % at night (22:00–07:00)" in caption
    other = hour_of_week_caption(missed_by_hour_of_week(ev, shops=["gb"]), "new-12h")
    assert other != caption and "Sun 15:00–16:00 (1 chat)" in other
    empty = f.with_columns(pl.lit(0).alias("late"), pl.lit(0).alias("unanswered"), missed=0)
    assert (
        hour_of_week_caption(empty, "x") == "Under x, no chat was answered late or left unanswered."
    )
