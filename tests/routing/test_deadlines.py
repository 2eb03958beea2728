"""Working-hour arithmetic: weekends, holidays, time zones, daylight saving; the policy's steps."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import pytest

from ground.calendar import CalendarError, parse_calendar
from ground.config import load_config
from routing.deadlines import plan_steps, targets_for
from tests.bot.test_config import MINIMAL, error_of, write

BUCHAREST = zoneinfo.ZoneInfo("Europe/Bucharest")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEEK = ("mon", "tue", "wed", "thu", "fri")


def local(zone: zoneinfo.ZoneInfo, *args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_friday_evening_in_bucharest_falls_due_after_the_weekend() -> None:
    # Long days (08:00-20:00, 12 h): Friday 17:00 + 24 working hours is 3 h on Friday, 12 on
    # Monday and 9 on Tuesday: Tuesday 17:00 local, never Saturday.
    calendar = parse_calendar("Europe/Bucharest", WEEK, "08:00-20:00", ())
    due = calendar.add(local(BUCHAREST, 2026, 3, 6, 17, 0), 24)
    assert due == local(BUCHAREST, 2026, 3, 10, 17, 0)
    assert due.tzinfo == dt.UTC
    # With 8-hour days the same target is three full working days: Wednesday at closing.
    office = parse_calendar("Europe/Bucharest", WEEK, "09:00-17:00", ())
    assert office.add(local(BUCHAREST, 2026, 3, 6, 17, 0), 24) == local(
        BUCHAREST, 2026, 3, 11, 17, 0
    )


def test_time_outside_working_hours_does_not_count() -> None:
    calendar = parse_calendar("Europe/Paris", WEEK, "09:00-17:00", ())
    # Asked at night: the clock starts at the next opening.
    assert calendar.add(local(PARIS, 2026, 3, 3, 23, 30), 2) == local(PARIS, 2026, 3, 4, 11, 0)
    # Ending exactly at closing time stays on that day.
    assert calendar.add(local(PARIS, 2026, 3, 3, 9, 0), 8) == local(PARIS, 2026, 3, 3, 17, 0)
    assert calendar.add(local(PARIS, 2026, 3, 3, 16, 0), 2) == local(PARIS, 2026, 3, 4, 10, 0)
    # Zero hours is the start itself, even after closing (an escalation "at the deadline").
    late = local(PARIS, 2026, 3, 3, 17, 0)
    assert calendar.add(late, 0) == late


def test_holidays_are_skipped() -> None:
    calendar = parse_calendar("Europe/Paris", WEEK, "09:00-17:00", ("2026-04-06", "2026-05-01"))
    # Good Friday is worked in France; Easter Monday is not: Friday 16:00 + 2 h → Tuesday 10:00.
    assert calendar.add(local(PARIS, 2026, 4, 3, 16, 0), 2) == local(PARIS, 2026, 4, 7, 10, 0)
    # 1 May 2026 is a Friday: Thursday 16:00 + 2 h → Monday 10:00.
    assert calendar.add(local(PARIS, 2026, 4, 30, 16, 0), 2) == local(PARIS, 2026, 5, 4, 10, 0)


def test_a_different_zone_gives_a_different_instant() -> None:
    start = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)  # Monday
    paris = parse_calendar("Europe/Paris", WEEK, "09:00-17:00", ())
    athens = parse_calendar("Europe/Athens", WEEK, "09:00-17:00", ())
    # 08:00 in Paris (clock starts 09:00 = 08:00 UTC); 09:00 in Athens (= 07:00 UTC).
    assert paris.add(start, 1) == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    assert athens.add(start, 1) == dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_daylight_saving_changes_keep_local_office_hours() -> None:
    calendar = parse_calendar("Europe/Paris", WEEK, "09:00-17:00", ())
    # Clocks go forward on Sunday 29 March 2026: Friday 16:00 CET + 2 h → Monday 10:00 CEST,
    # which is 08:00 UTC (it was 09:00 UTC on the Friday before).
    due = calendar.add(local(PARIS, 2026, 3, 27, 16, 0), 2)
    assert due == local(PARIS, 2026, 3, 30, 10, 0)
    assert due == dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
    # And back on 25 October: Friday 16:00 CEST + 2 h → Monday 10:00 CET = 09:00 UTC.
    back = calendar.add(local(PARIS, 2026, 10, 23, 16, 0), 2)
    assert back == dt.datetime(2026, 10, 26, 9, 0, tzinfo=dt.UTC)
    # Working time across the change: one full week is still 40 hours.
    week = calendar.working_time(local(PARIS, 2026, 3, 23, 0, 0), local(PARIS, 2026, 3, 30, 0, 0))
    assert week == dt.timedelta(hours=40)


def test_a_calendar_working_round_the_clock_on_weekends() -> None:
    calendar = parse_calendar("UTC", ("sat", "sun"), "00:00-24:00", ())
    friday = dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC)
    assert calendar.add(friday, 30) == dt.datetime(2026, 3, 8, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("days", "hours", "holidays", "field"),
    [
        (("mon", "funday"), "09:00-17:00", (), "working_days[1]"),
        ((), "09:00-17:00", (), "working_days"),
        (WEEK, "9 to 5", (), "working_hours"),
        (WEEK, "17:00-09:00", (), "working_hours"),
        (WEEK, "09:00-25:00", (), "working_hours"),
        (WEEK, "09:00-17:00", ("2026-02-30",), "holidays[0]"),
    ],
)
def test_malformed_calendars_name_the_field(
    days: tuple[str, ...], hours: str, holidays: tuple[str, ...], field: str
) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_calendar("Europe/Rome", days, hours, holidays)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('working_days = ["mon", "someday"]', "partners[0].working_days[1]"),
        ('working_hours = "18:00-08:00"', "partners[0].working_hours"),
        ('holidays = ["25/12/2026"]', "partners[0].holidays[0]"),
        ('lead_expert = "nobody"', "partners[0].lead_expert"),
    ],
)
def test_config_refuses_malformed_partner_calendars(tmp_path: Path, extra: str, key: str) -> None:
    text = MINIMAL.replace('timezone = "Europe/Rome"', f'timezone = "Europe/Rome"\n{extra}')
    assert f"config.toml: {key}: " in error_of(tmp_path, text)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("[deadlines]\nfirst_response_hours = 0", "deadlines.first_response_hours"),
        ("[deadlines]\nreminders = [0.5, 1.5]", "deadlines.reminders[1]"),
        ("[deadlines]\nreminders = [0.9, 0.5]", "deadlines.reminders"),
        (
            "[deadlines]\nby_priority.asap = { first_response_hours = 1 }",
            "deadlines.by_priority.asap",
        ),
        (
            "[deadlines]\nby_topic.cooking = { first_response_hours = 1 }",
            "deadlines.by_topic.cooking",
        ),
        ('[[deadlines.escalation]]\nto = "boss"', "deadlines.escalation[0].to"),
        (
            '[[deadlines.escalation]]\nto = "experts"\nafter_hours = 4\n'
            '[[deadlines.escalation]]\nto = "coordinators"\nafter_hours = 2',
            "deadlines.escalation[1].after_hours",
        ),
    ],
)
def test_config_refuses_a_bad_deadline_policy(tmp_path: Path, section: str, key: str) -> None:
    assert f"config.toml: {key}: " in error_of(tmp_path, MINIMAL + "\n" + section + "\n")


def test_policy_overrides_and_planned_steps(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            MINIMAL
            + "\n[deadlines]\nby_topic.eu-funding = { first_response_hours = 16 }\n"
            + "by_priority.urgent = { first_response_hours = 2, resolution_hours = 8 }\n",
        ),
        environ={},
    )
    policy = config.deadlines
    by_priority = {
        k: (v.first_response_hours, v.resolution_hours) for k, v in policy.by_priority.items()
    }
    by_topic = {k: (v.first_response_hours, v.resolution_hours) for k, v in policy.by_topic.items()}
    default = (policy.first_response_hours, policy.resolution_hours)
    assert targets_for(default, by_priority, by_topic, "normal", "eu-funding") == (16, 72)
    assert targets_for(default, by_priority, by_topic, "urgent", "eu-funding") == (2, 8)
    assert targets_for(default, by_priority, by_topic, "normal", None) == (24, 72)

    calendar = parse_calendar("Europe/Rome", WEEK, "09:00-17:00", ())
    start = local(zoneinfo.ZoneInfo("Europe/Rome"), 2026, 3, 2, 9, 0)
    due, steps = plan_steps(
        calendar,
        start,
        (16, 72),
        policy.reminders,
        [(s.to, s.after_hours) for s in policy.escalation],
    )
    rome = zoneinfo.ZoneInfo("Europe/Rome")
    assert due.first_response == local(rome, 2026, 3, 3, 17, 0)
    assert [
        (s.kind, s.step, s.due_at.astimezone(rome).strftime("%a %H:%M"), s.to) for s in steps
    ] == [
        ("reminder", 0, "Mon 17:00", "primary"),
        ("reminder", 1, "Tue 15:24", "primary"),
        ("escalation", 0, "Tue 17:00", "primary"),
        ("escalation", 1, "Wed 13:00", "experts"),
        ("escalation", 2, "Wed 17:00", "lead"),
        ("escalation", 3, "Thu 17:00", "coordinators"),
        ("escalation", 0, "Thu 17:00", "coordinators"),  # a week later
    ]
    assert steps[-1].clock == "resolution"


def test_the_example_config_has_calendars() -> None:
    from tests.conftest import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG, environ={})
    iasi = config.partner("cjrae-iasi")
    assert iasi is not None and "2026-12-01" in iasi.holidays
    assert [s.to for s in config.deadlines.escalation] == [
        "primary",
        "experts",
        "lead",
        "coordinators",
    ]
