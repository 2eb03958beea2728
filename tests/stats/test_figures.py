"""Every figure on the hand-made dataset, with its value worked out by hand, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from bot.assembly import open_database
from ground.config import Config
from handlers.stats import DIMENSIONS, Figures, compute, parse_period
from handlers.stats.warnings import render_warning, top_warnings
from tests.stats import dataset

pytestmark = pytest.mark.db


@pytest.fixture
def session(config: Config) -> Iterator[Session]:
    database = open_database(config)
    with database.sessions.begin() as session:
        dataset.load(session, config)
        yield session
    database.dispose()


def period():  # type: ignore[no-untyped-def]
    return parse_period(dataset.NOW, start=dataset.FROM, end=dataset.TO)


# Routed questions q2..q7; first responses after 2, 10, 30, 4 hours; resolutions after
# 30, 80, 20 hours. Median of [2, 4, 10, 30] is 7; its 90th percentile is at rank 2.7:
# 10 + 0.7 × 20 = 24. Resolutions [20, 30, 80]: median 30, p90 at rank 1.8: 30 + 0.8 × 50.
OVERALL = Figures(
    key="",
    asked=8,
    fiche_confirmed=1,  # q1: the asker said "This answers it"
    fiche_unconfirmed=1,  # q8: shown, no reply
    routed=6,  # q5 among them, though a fiche was shown first
    deflection_rate=0.125,
    first_response_median_hours=7.0,
    first_response_p90_hours=24.0,
    first_response_median_work_hours=7.0,
    first_response_p90_work_hours=24.0,
    resolution_median_hours=30.0,
    resolution_p90_hours=70.0,
    resolution_median_work_hours=30.0,
    resolution_p90_work_hours=70.0,
    # Known outcomes: q2 q3 q5 on time; q4 answered late; q6 past due unanswered; q7 not due.
    first_response_on_time=3,
    first_response_due=5,
    first_response_on_time_rate=0.6,
    # q2 q5 in time; q3 resolved late; q4 past due unresolved; q6 q7 not due yet.
    resolution_on_time=2,
    resolution_due=4,
    resolution_on_time_rate=0.5,
    reminders=2,  # q6 and q7; q9's is before the period
    escalations=1,
    open_now=4,  # q4 q6 q7, and q9 asked before the period
    overdue_now=3,  # q4 and q9 past resolution, q6 past first response
    rated=3,
    helped=2,
    satisfaction=0.6667,
)

BY_PARTNER = {
    "": Figures(
        key="",
        asked=2,
        fiche_confirmed=1,
        fiche_unconfirmed=1,
        routed=0,
        deflection_rate=0.5,
        rated=1,
        helped=1,
        satisfaction=1.0,
    ),
    "cc-asturias": Figures(
        key="cc-asturias",
        asked=2,
        routed=2,
        deflection_rate=0.0,
        first_response_median_hours=30.0,
        first_response_p90_hours=30.0,
        first_response_median_work_hours=30.0,
        first_response_p90_work_hours=30.0,
        first_response_on_time=0,
        first_response_due=2,
        first_response_on_time_rate=0.0,
        resolution_due=1,
        resolution_on_time_rate=0.0,
        reminders=1,
        escalations=1,
        open_now=2,
        overdue_now=2,
    ),
    "kedivim": Figures(
        key="kedivim",
        asked=2,
        routed=2,
        deflection_rate=0.0,
        first_response_median_hours=6.0,
        first_response_p90_hours=9.2,  # 2 + 0.9 × 8
        first_response_median_work_hours=6.0,
        first_response_p90_work_hours=9.2,
        resolution_median_hours=55.0,
        resolution_p90_hours=75.0,
        resolution_median_work_hours=55.0,
        resolution_p90_work_hours=75.0,
        first_response_on_time=2,
        first_response_due=2,
        first_response_on_time_rate=1.0,
        resolution_on_time=1,
        resolution_due=2,
        resolution_on_time_rate=0.5,
        open_now=1,  # q9
        overdue_now=1,
        rated=2,
        helped=1,
        satisfaction=0.5,
    ),
    "ue-torino": Figures(
        key="ue-torino",
        asked=1,
        routed=1,
        deflection_rate=0.0,
        first_response_median_hours=4.0,
        first_response_p90_hours=4.0,
        first_response_median_work_hours=4.0,
        first_response_p90_work_hours=4.0,
        resolution_median_hours=20.0,
        resolution_p90_hours=20.0,
        resolution_median_work_hours=20.0,
        resolution_p90_work_hours=20.0,
        first_response_on_time=1,
        first_response_due=1,
        first_response_on_time_rate=1.0,
        resolution_on_time=1,
        resolution_due=1,
        resolution_on_time_rate=1.0,
    ),
    "wup-krakow": Figures(
        key="wup-krakow", asked=1, routed=1, deflection_rate=0.0, reminders=1, open_now=1
    ),
}


def test_overall_figures(session: Session, config: Config) -> None:
    report = compute(session, config, period(), dataset.NOW)
    assert report.overall == OVERALL
    assert report.period.label == "2026-03-01 – 2026-03-20"


def test_by_partner(session: Session, config: Config) -> None:
    report = compute(session, config, period(), dataset.NOW, by="partner")
    assert {row.key: row for row in report.rows} == BY_PARTNER
    assert [row.key for row in report.rows][-1] == ""  # "no partner" comes last


def test_working_hours_come_from_the_calendar(session: Session, config: Config) -> None:
    def half(start, end, partner):  # type: ignore[no-untyped-def]
        return (end - start).total_seconds() / 7200

    overall = compute(session, config, period(), dataset.NOW, working_hours=half).overall
    assert overall.first_response_median_hours == 7.0
    assert overall.first_response_median_work_hours == 3.5
    assert overall.first_response_p90_work_hours == 12.0
    assert overall.resolution_median_work_hours == 15.0
    assert overall.resolution_p90_work_hours == 35.0


def test_by_expert_counts_every_primary_holder(session: Session, config: Config) -> None:
    rows = {r.key: r for r in compute(session, config, period(), dataset.NOW, "expert").rows}
    assert sorted(rows) == ["claire", "eleni", "lucia", "marco", "piotr"]
    # claire held q5 before passing it to marco: both count it; only marco holds it now.
    assert (rows["claire"].asked, rows["marco"].asked) == (1, 1)
    assert rows["eleni"].asked == 2 and rows["eleni"].first_response_median_hours == 6.0
    assert (rows["eleni"].open_now, rows["eleni"].overdue_now) == (1, 1)  # q9
    assert (rows["lucia"].asked, rows["lucia"].open_now, rows["lucia"].overdue_now) == (2, 2, 2)
    assert (rows["piotr"].reminders, rows["piotr"].open_now) == (1, 1)


def test_by_topic_language_channel_and_week(session: Session, config: Config) -> None:
    def by(dimension: str) -> dict[str, Figures]:
        report = compute(session, config, period(), dataset.NOW, dimension)
        return {r.key: r for r in report.rows}

    topics = by("topic")
    assert {k: r.asked for k, r in topics.items()} == {
        "eu-funding": 4,
        "policy-monitoring": 1,
        "skills-anticipation": 1,
        "work-based-learning": 1,
        "": 1,
    }
    eu = topics["eu-funding"]
    assert (eu.first_response_median_hours, eu.first_response_p90_hours) == (10.0, 26.0)
    assert (eu.resolution_median_hours, eu.resolution_p90_hours) == (55.0, 75.0)
    assert (eu.first_response_on_time_rate, eu.resolution_on_time_rate) == (0.5, 0.3333)
    assert (eu.open_now, eu.overdue_now, eu.reminders, eu.escalations) == (3, 3, 1, 1)
    languages = by("language")
    assert {
        k: (r.asked, r.fiche_confirmed, r.fiche_unconfirmed, r.routed) for k, r in languages.items()
    } == {
        "el": (1, 0, 0, 1),
        "en": (3, 0, 1, 2),
        "fr": (3, 1, 0, 2),
        "it": (1, 0, 0, 1),
    }
    channels = by("channel")
    assert {k: (r.asked, r.open_now) for k, r in channels.items()} == {
        "console": (4, 1),
        "matrix": (1, 1),
        "telegram": (3, 2),  # q6, and q9 from before the period
    }
    weeks = by("week")
    assert {k: r.asked for k, r in weeks.items() if r.asked} == {
        "2026-03-02": 6,
        "2026-03-16": 2,
    }
    assert weeks["2026-03-02"].first_response_median_hours == 7.0


def test_loads_coverage_and_warnings(session: Session, config: Config) -> None:
    report = compute(session, config, period(), dataset.NOW)
    loads = {row.expert: (row.load, row.capacity) for row in report.loads}
    assert loads["lucia"] == (2, 4)  # q4 and q6
    assert loads["eleni"] == (1, 4)  # q9
    assert loads["piotr"] == (1, 4)
    assert loads["marco"] == (0, 5)
    assert report.loads[0].expert == "lucia"  # the most loaded first
    assert report.coverage is not None
    assert report.coverage.experts[("eu-funding", "en")] == 3  # lucia, eleni, mila
    assert report.coverage.experts[("eu-funding", "el")] == 1
    assert ("eu-funding", "fr") not in report.coverage.experts
    # q4 and q6 asked in French about EU funding: the gap most asked about comes first.
    assert report.coverage.gaps()[0] == ("eu-funding", "fr", 2)
    texts = [render_warning(w) for w in top_warnings(report)]
    assert texts == [
        "Questions overdue now: 3",
        "Only 60% of first responses were on time",
        "No French-speaking expert for eu-funding",
    ]


def test_an_empty_period_has_zero_figures(session: Session, config: Config) -> None:
    empty = parse_period(dataset.NOW, start="2025-01-01", end="2025-01-31")
    overall = compute(session, config, empty, dataset.NOW).overall
    assert (overall.asked, overall.deflection_rate, overall.first_response_median_hours) == (
        0,
        None,
        None,
    )
    assert (overall.open_now, overall.overdue_now) == (4, 3)  # now does not depend on the period


def test_durations_follow_later_answers_and_resolutions(session: Session, config: Config) -> None:
    from ground.storage.models import Question

    compute(session, config, period(), dataset.NOW)
    q4 = session.get(Question, 4)
    assert q4 is not None and q4.routed_at is not None
    q4.resolved_at, q4.status = q4.routed_at + 40 * dataset.H, "resolved"  # in time: due at 72
    q7 = session.get(Question, 7)
    assert q7 is not None and q7.routed_at is not None
    q7.first_response_at, q7.status = q7.routed_at + 1 * dataset.H, "answered"
    session.flush()
    overall = compute(session, config, period(), dataset.NOW).overall
    # First responses [1, 2, 4, 10, 30]; resolutions [20, 30, 40, 80].
    assert (overall.first_response_median_hours, overall.first_response_p90_hours) == (4.0, 22.0)
    assert (overall.resolution_median_hours, overall.resolution_p90_hours) == (35.0, 68.0)
    assert (overall.resolution_on_time, overall.resolution_due) == (3, 4)


def test_every_breakdown_reports_the_same_overall(session: Session, config: Config) -> None:
    # Partitions sum their groups' counts into the overall figures; expert (not a partition,
    # a question may have had two holders) computes it separately. Both must agree.
    for dimension in DIMENSIONS:
        assert compute(session, config, period(), dataset.NOW, dimension).overall == OVERALL


def test_working_hours_follow_the_partner_calendar() -> None:
    """The example's Paris partner works 09:00–17:00 on weekdays, with 6 April a holiday."""
    from ground.config import load_config
    from handlers.stats import partner_working_hours
    from tests.conftest import EXAMPLE_CONFIG

    hours = partner_working_hours(load_config(EXAMPLE_CONFIG, environ={}))
    paris = dt.timezone(dt.timedelta(hours=2))  # CEST
    friday_evening = dt.datetime(2026, 4, 3, 16, 0, tzinfo=paris)
    # Fri 16:00–17:00, Easter Monday off, Tue 09:00–10:30.
    assert hours(friday_evening, dt.datetime(2026, 4, 7, 10, 30, tzinfo=paris), "cm-lot") == 2.5
    # No partner (routed to the coordinators): around the clock.
    assert hours(friday_evening, friday_evening + dt.timedelta(hours=30), None) == 30.0
