"""Readable figures: names for ids, times in the dashboard's zone and locale, units, charts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.dashboard import create_app
from bot.dashboard.charts import WIDEST_BAR, Week, nice_ceiling, weekly_chart
from bot.dashboard.formats import Formats
from ground.clock import FixedClock
from ground.config import Config, ConfigError, load_config
from ground.storage.dashboard_accounts import add_account
from ground.storage.database import Database
from ground.storage.models import Event, Person, Question
from handlers.stats.figures import DIMENSIONS
from handlers.stats.tables import FIGURE_FIELDS
from tests.conftest import example_config_text
from tests.stats import dataset
from tests.stats.test_surfaces import PERIOD, database, login, stats_config, with_csrf

pytestmark = pytest.mark.db
__all__ = ["database", "stats_config"]  # the fixtures, used by name
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def client(stats_config: Config, database: Database) -> TestClient:
    client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
    login(client)
    return client


def _cells(page: str, table: str) -> list[list[str]]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in rows
    ]


def test_a_breakdown_names_groups_and_writes_units(client: TestClient) -> None:
    page = client.get("/by/partner", params=PERIOD).text
    rows = _cells(page, "breakdown")
    header, by_name = rows[0], {row[0]: row for row in rows[1:]}
    assert header[:5] == [
        "Partner",
        "Questions asked",
        "Answered by a fiche (asker confirmed)",
        "Fiches shown, no reply (not counted)",
        "Sent to experts",
    ]
    assert not any("_" in heading for heading in header)
    assert sorted(by_name) == sorted(
        [
            "All questions",
            "(none)",
            "Cámara de Comercio de Asturias",
            "KEDIVIM Crete",
            "Università di Torino, VET unit",
            "WUP Kraków",
        ]
    )
    every = by_name["All questions"]  # as Anna reads them: English as written in Germany
    assert every[1:5] == ["8", "1 (12\u00a0%)", "1", "6"]
    assert every[header.index("First response, median")] == "7\u00a0h"
    assert every[header.index("First responses on time")] == "3 of 5 (60\u00a0%)"
    assert every[header.index("Said it helped")] == "2 of 3 (67\u00a0%)"
    assert by_name["KEDIVIM Crete"][header.index("First response, 90th percentile")] == "9,2\u00a0h"
    # The table scrolls inside its card rather than pushing the page sideways.
    assert '<div class="wide">\n<table id="breakdown">' in page


@pytest.mark.parametrize("by", DIMENSIONS)
def test_every_breakdown_has_a_chart_and_names(client: TestClient, by: str) -> None:
    page = client.get(f"/by/{by}", params=PERIOD).text
    chart = page.split('<div id="chart">', 1)[1].split("</div>", 1)[0]
    svg = ET.fromstring(chart)
    assert svg.get("viewBox") and not svg.get("width")  # it scales to its card
    texts = " ".join("".join(t.itertext()) for t in svg.iter(f"{SVG}text"))
    expected = {
        "partner": "KEDIVIM Crete",
        "expert": "Eleni Papadaki",
        "topic": "EU funding",
        "language": "French",
        "channel": "Telegram",
        "week": "2 Mar",  # Anna reads English as written in Germany
    }[by]
    assert expected in texts, (by, texts)
    assert expected in page
    names = [row[0] for row in _cells(page, "breakdown")[1:]]
    assert "eleni" not in names and "kedivim" not in names and "eu-funding" not in names


def test_csv_downloads_keep_ids_and_numbers(client: TestClient) -> None:
    for by in DIMENSIONS:
        lines = client.get("/csv/figures.csv", params={**PERIOD, "by": by}).text.splitlines()
        assert lines[0].split(",") == [by, *FIGURE_FIELDS[1:]]
        assert lines[1].startswith("all,8,1,1,6,0.125,7.0,24.0,")
    partner = client.get("/csv/figures.csv", params={**PERIOD, "by": "partner"}).text
    assert "\nkedivim,2,0,0,2,0.0,6.0,9.2," in partner
    backlog = client.get("/csv/open.csv").text.splitlines()
    assert backlog[0] == (
        "id,status,topic,language,partner,assignee,asked_at,first_response_due,"
        "resolution_due,overdue"
    )
    assert any(",eleni," in line and "Z," in line for line in backlog[1:])


def test_times_in_the_dashboards_zone_and_locale(
    stats_config: Config, database: Database, tmp_path: Path
) -> None:
    athens = dataclasses.replace(
        stats_config,
        dashboard=dataclasses.replace(
            stats_config.dashboard, timezone="Europe/Athens", locale="fr"
        ),
    )
    client = TestClient(create_app(athens, database, FixedClock(dataset.NOW)))
    login(client)
    with database.sessions() as session:
        q6 = session.query(Question).filter(Question.text == "question q6").one()
    page = client.get(f"/questions/{q6.id}").text
    # Asked 2026-03-19 10:00 UTC: noon in Athens, written the French way.
    assert "19 mars 2026, 12:00" in page and "Times in Europe/Athens." in page
    overview = client.get("/", params=PERIOD).text
    assert 'id="card-deflection"><b>12\u00a0%</b>' in overview
    fr = Formats.of(athens)
    assert fr.hours(1234.56) == "1\u202f234,6\u00a0h" or fr.hours(1234.56) == "1\u00a0234,6\u00a0h"
    assert fr.percent(None) == "—" and fr.when(None) == "—"


def test_times_in_each_coordinators_own_zone(stats_config: Config, database: Database) -> None:
    """With no ``dashboard.timezone``, each reader sees times in their own zone, as in chat."""
    assert stats_config.dashboard.timezone == ""
    with database.sessions.begin() as session:
        # Eleni (KEDIVIM, Athens) and a login for nobody of the config (made with --force).
        add_account(session, "eleni", "eleni's long passphrase", dataset.NOW)
        add_account(session, "guest", "the guest's passphrase", dataset.NOW)
        q6 = session.query(Question).filter(Question.text == "question q6").one().id
    seen = {}
    for name, password in [
        ("anna", "correct horse battery"),
        ("eleni", "eleni's long passphrase"),
        ("guest", "the guest's passphrase"),
    ]:
        client = TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))
        form = with_csrf(client, {"name": name, "password": password})
        assert client.post("/login", data=form).status_code == 200
        page = client.get(f"/questions/{q6}").text
        seen[name] = (re.findall(r"Asked (.*?) on telegram", page), page.count("Europe/"))
        seen[name] += (re.search(r"Times in (\S+)\.", page).group(1),)  # type: ignore[union-attr]
        partners = client.get("/by/partner", params=PERIOD).text
        seen[name] += (next(r for r in _cells(partners, "breakdown") if r[0] == "KEDIVIM Crete"),)
    # Asked 2026-03-19 10:00 UTC: 11:00 in Berlin (Anna's partner), noon in Athens (Eleni's).
    assert seen["anna"][0] == ["19 Mar 2026, 11:00"] and seen["anna"][2] == "Europe/Berlin"
    assert seen["eleni"][0] == ["19 Mar 2026, 12:00"] and seen["eleni"][2] == "Europe/Athens"
    assert seen["guest"][2] == "Europe/Brussels"  # the network's default
    # Numbers as written in the partner's country: German for Anna; English for Europe for
    # Eleni (Babel has no English of Greece) and for a login of nobody in the config.
    assert "9,2\u00a0h" in seen["anna"][3] and "9.2\u00a0h" not in seen["anna"][3]
    assert "9.2\u00a0h" in seen["eleni"][3] and "9.2\u00a0h" in seen["guest"][3]


def test_a_locale_in_the_config_is_everyones(stats_config: Config, database: Database) -> None:
    """``dashboard.locale`` set, even to plain ``en``, writes everyone's figures its way."""
    american = dataclasses.replace(
        stats_config, dashboard=dataclasses.replace(stats_config.dashboard, locale="en")
    )
    client = TestClient(create_app(american, database, FixedClock(dataset.NOW)))
    login(client)  # Anna, whose partner is in Germany
    with database.sessions() as session:
        q6 = session.query(Question).filter(Question.text == "question q6").one().id
    page = client.get(f"/questions/{q6}").text
    assert "Mar 19, 2026, 11:00\u202fAM" in page and "Times in Europe/Berlin." in page


@pytest.mark.parametrize(
    ("line", "bad", "message"),
    [
        ('timezone = ""', 'timezone = "Mars/Olympus"', "dashboard.timezone"),
        ('locale = ""', 'locale = "xx_YY_ZZ"', "dashboard.locale"),
    ],
)
def test_a_bad_zone_or_locale_is_refused(tmp_path: Path, line: str, bad: str, message: str) -> None:
    text = example_config_text()
    assert f"\n{line}\n" in text
    text = text.replace(f"\n{line}\n", f"\n{bad}\n", 1)
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path, environ={})


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def test_one_week_is_not_one_huge_bar_and_its_median_shows() -> None:
    chart = _svg(weekly_chart([Week("Mar 2", 3, 7.0, "7 h")], "one week"))
    (bar,) = [r for r in chart.iter(f"{SVG}rect")]
    assert float(bar.get("width", "0")) <= WIDEST_BAR
    (dot,) = list(chart.iter(f"{SVG}circle"))
    assert float(dot.get("r", "0")) >= 4 and dot.get("stroke") == "#fff"
    assert "7 h" in [t.text for t in chart.iter(f"{SVG}text")]
    # The scale is rounded up, so the single bar does not fill the whole height.
    assert nice_ceiling(3) == 5 and nice_ceiling(0) == 1 and nice_ceiling(120) == 200


def test_a_year_of_weeks_stays_readable() -> None:
    weeks = [Week(f"w{n}", n % 7, float(n % 5) if n % 3 else None) for n in range(52)]
    chart = _svg(weekly_chart(weeks, "a year"))
    labels = [t.text for t in chart.iter(f"{SVG}text") if (t.text or "").startswith("w")]
    assert 4 <= len(labels) <= 8
    assert len(list(chart.iter(f"{SVG}circle"))) == sum(1 for w in weeks if w.hours is not None)
    # No value labels above 52 dots: the hover titles carry them.
    assert not [
        t
        for t in chart.iter(f"{SVG}text")
        if (t.text or "").endswith(" h") and t.get("fill") and t.get("font-size") == "10"
    ]


def test_internal_notes_show_on_the_question_page(client: TestClient, database: Database) -> None:
    with database.sessions.begin() as session:
        q6 = session.query(Question).filter(Question.text == "question q6").one()
        lucia = session.query(Person).filter(Person.config_id == "lucia").one()
        session.add(
            Event(
                question_id=q6.id,
                kind="note",
                actor_id=lucia.id,
                detail={"text": "Called the ministry, waiting.", "reason": "command"},
                created_at=dt.datetime(2026, 3, 19, 15, tzinfo=dt.UTC),
            )
        )
        number = q6.id
    page = client.get(f"/questions/{number}").text
    thread = page.split('id="thread"', 1)[1].split("</section>", 1)[0]
    assert '<li class="note">' in thread and "internal note" in thread
    assert "Called the ministry, waiting." in thread and "Lucía Fernández" in thread
    timeline = page.split('id="timeline"', 1)[1]
    assert "Called the ministry" not in timeline
