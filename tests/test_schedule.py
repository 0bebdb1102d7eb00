"""The weekly schedule: spellings, one set of error messages, round trips, UTC conversion."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsim.errors import ChatsimError, RuleError, ScenarioError
from chatsim.schedule import WEEKDAYS, WeeklySchedule, local_to_utc


def test_both_spellings_and_day_names() -> None:
    short = WeeklySchedule.parse({"mon": ["9:00-12:00"], "Tue": "8:05-24:00"})
    padded = WeeklySchedule.parse({"Monday": ["09:00-12:00"], "TUESDAY": ["08:05-24:00"]})
    assert short == padded and hash(short) == hash(padded)
    assert short["mon"] == ("09:00-12:00",) and short["tue"] == ("08:05-24:00",)
    assert short.minutes(1) == short.minutes("tue") == ((485, 1440),)
    assert short["wed"] == () and list(short) == list(WEEKDAYS) and len(short) == 7


def test_ranges_are_sorted_and_may_touch() -> None:
    s = WeeklySchedule.parse({"fri": ["13:00-18:00", "09:00-13:00"], "sat": None, "sun": []})
    assert s["fri"] == ("09:00-13:00", "13:00-18:00")
    assert s.working_days() == (4,)
    assert s.week_minutes() == [(4 * 1440 + 540, 4 * 1440 + 780), (4 * 1440 + 780, 4 * 1440 + 1080)]


def test_base_keeps_the_days_not_given() -> None:
    office = WeeklySchedule.on(WEEKDAYS[:5], "09:00-18:00")
    s = WeeklySchedule.parse({"sat": ["10:00-14:00"], "mon": []}, base=office)
    assert s["sat"] == ("10:00-14:00",) and s["mon"] == () and s["tue"] == ("09:00-18:00",)
    assert WeeklySchedule.parse({}, base=office) == office


@pytest.mark.parametrize(
    ("raw", "expect"),
    [
        (["09:00-17:00"], "hours: expected a mapping of weekday"),
        ({"mond": ["09:00-17:00"]}, "hours.mond: unknown weekday. Did you mean 'mon'?"),
        ({"funday": []}, "hours.funday: unknown weekday"),
        ({"mon": "9 to 5"}, "hours.mon[0]: expected a time range 'HH:MM-HH:MM'"),
        ({"mon": [900]}, "hours.mon[0]: expected a time range 'HH:MM-HH:MM'"),
        ({"mon": 9}, "hours.mon: expected a list of 'HH:MM-HH:MM' ranges"),
        ({"mon": ["25:00-26:00"]}, "hours.mon[0]: '25:00-26:00' is not a valid time range"),
        ({"mon": ["09:60-10:00"]}, "is not a valid time range"),
        ({"mon": ["24:00-24:00"]}, "is not a valid time range"),
        ({"mon": ["20:00-24:30"]}, "is not a valid time range"),
        ({"mon": ["18:00-09:00"]}, "hours.mon[0]: '18:00-09:00' ends before it starts; split"),
        ({"mon": ["09:00-9:00"]}, "hours.mon[0]: '09:00-9:00' is empty"),
        ({"mon": ["09:00-13:00", "12:00-18:00"]}, "hours.mon: ranges '09:00-13:00' and"),
        ({"mon": ["09:00-12:00"], "Monday": []}, "hours.Monday: mon is already given as 'mon'"),
    ],
)
def test_bad_schedules_name_the_key(raw: object, expect: str) -> None:
    with pytest.raises(ChatsimError) as err:
        WeeklySchedule.parse(raw, where="hours")
    assert expect in str(err.value)


def test_the_error_type_is_the_callers() -> None:
    with pytest.raises(RuleError, match=r"^rule 'x': business_schedule\.sat\[0\]: "):
        WeeklySchedule.parse({"sat": ["1-2"]}, where="rule 'x': business_schedule", error=RuleError)
    with pytest.raises(ScenarioError, match=r"^s\.yaml: archetypes\.a\.schedule\.sun: "):
        WeeklySchedule.parse({"sun": 1}, where="s.yaml: archetypes.a.schedule", error=ScenarioError)


def test_immutable_and_a_value() -> None:
    s = WeeklySchedule.on(["sat", "sun"], "10:00-14:00")
    with pytest.raises(AttributeError):
        s._days = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(s)) == s
    assert copy.deepcopy(s) is s
    assert s == {d: ("10:00-14:00",) if d in ("sat", "sun") else () for d in WEEKDAYS}
    assert s != WeeklySchedule.on(["sat"], "10:00-14:00") and s != "sat"
    assert eval(repr(s), {"WeeklySchedule": WeeklySchedule}) == s
    assert WeeklySchedule.parse(s) is s


def test_yaml_round_trip() -> None:
    s = WeeklySchedule.parse({"mon": ["9:00-12:00", "13:30-18:00"], "sun": "00:00-24:00"})
    text = yaml.safe_dump(s.to_dict(), sort_keys=False)
    assert text.splitlines()[0] == "mon:"
    assert WeeklySchedule.parse(yaml.safe_load(text)) == s


def test_local_to_utc_and_a_dst_change() -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7, no DST
    day = dt.date(2025, 8, 18)  # a Monday
    s = WeeklySchedule.parse({"mon": ["09:00-24:00"]})
    start = dt.datetime(2025, 8, 18, 2, tzinfo=dt.UTC).timestamp()
    end = dt.datetime(2025, 8, 18, 17, tzinfo=dt.UTC).timestamp()
    assert s.utc_intervals(day, hcm) == [(start, end)]
    assert s.utc_intervals(day + dt.timedelta(days=1), hcm) == []  # Tuesday is off
    # 30 Mar 2025: London springs forward at 01:00 UTC; 00:00-03:00 local is 2 hours long
    london = ZoneInfo("Europe/London")
    a, b = (
        local_to_utc(dt.date(2025, 3, 30), 0, london),
        local_to_utc(dt.date(2025, 3, 30), 180, london),
    )
    assert b - a == 2 * 3600


_RANGES = st.lists(st.integers(0, 24 * 60), min_size=0, max_size=8, unique=True).map(sorted)


def _spell(minute: int, pad: bool) -> str:
    h, m = divmod(minute, 60)
    return f"{h:02d}:{m:02d}" if pad else f"{h}:{m:02d}"


@settings(max_examples=200, deadline=None)
@given(
    days=st.dictionaries(st.sampled_from(WEEKDAYS), _RANGES, max_size=7),
    pad=st.booleans(),
    full_names=st.booleans(),
)
def test_serialise_parse_property(days: dict[str, list[int]], pad: bool, full_names: bool) -> None:
    # cut sorted distinct minutes into consecutive (start, end) pairs: non-overlapping ranges
    names = dict(zip(WEEKDAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                                "saturday", "sunday"), strict=True))  # fmt: skip
    raw = {
        (names[d] if full_names else d): [
            f"{_spell(a, pad)}-{_spell(b, pad)}" for a, b in zip(ms[::2], ms[1::2], strict=False)
        ]
        for d, ms in days.items()
    }
    s = WeeklySchedule.parse(raw)
    for d, ms in days.items():
        assert s.minutes(d) == tuple(zip(ms[::2], ms[1::2], strict=False))
    assert WeeklySchedule.parse(s.to_dict()) == s
    assert WeeklySchedule.parse(yaml.safe_load(yaml.safe_dump(s.to_dict()))) == s
    assert pickle.loads(pickle.dumps(s)) == s
    week = s.week_minutes()
    assert week == sorted(week) and all(a < b for a, b in week)
    assert sum(b - a for a, b in week) == sum(
        b - a for ms in days.values() for a, b in zip(ms[::2], ms[1::2], strict=False)
    )
