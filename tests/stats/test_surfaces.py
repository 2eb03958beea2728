"""Chat, command line, CSV and dashboard show the same figures as the statistics module."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.assembly import open_database
from bot.cli import main
from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config, DashboardConfig
from ground.storage.dashboard_accounts import add_account
from ground.storage.database import Database
from ground.storage.models import OutboxMessage, Person
from handlers.context import Services
from handlers.conversation import Conversation
from handlers.events import Inbound
from handlers.i18n import Translator
from tests.conftest import example_config_text
from tests.stats import dataset
from tests.stats.test_figures import BY_PARTNER, OVERALL

pytestmark = pytest.mark.db

SECRET = "a-test-secret-of-some-length"
PERIOD = {"from": dataset.FROM, "to": dataset.TO}


@pytest.fixture
def stats_config(config: Config) -> Config:
    return dataclasses.replace(config, dashboard=DashboardConfig(secret=SECRET))


@pytest.fixture
def database(stats_config: Config) -> Iterator[Database]:
    database = open_database(stats_config)
    with database.sessions.begin() as session:
        dataset.load(session, stats_config)
        add_account(session, "anna", "correct horse battery", dataset.NOW)
    yield database
    database.dispose()


class Chat:
    """The real conversation on the console channel, read from the outbox."""

    def __init__(self, config: Config, database: Database) -> None:
        self.database = database
        self.clock = FixedClock(dataset.NOW)
        services = Services(
            config=config,
            sessions=database.sessions,
            triage=None,  # type: ignore[arg-type]  # no command here reads questions' text
            clock=self.clock,
            texts=Translator(config.languages.supported),
        )
        self.conversation = Conversation(services)
        self.count = 0

    def say(self, sender: str, text: str, *, space: bool = False) -> str:
        self.count += 1
        self.conversation.handle(
            Inbound(
                "console",
                f"e{self.count}",
                sender,
                "experts" if space else sender,
                text,
                space=space,
            )
        )
        with self.database.sessions() as session:
            last = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
            return last.first().text  # type: ignore[union-attr]


@pytest.fixture
def chat(stats_config: Config, database: Database) -> Chat:
    return Chat(stats_config, database)


@pytest.fixture
def client(stats_config: Config, database: Database) -> TestClient:
    return TestClient(create_app(stats_config, database, FixedClock(dataset.NOW)))


def with_csrf(client: TestClient, data: dict[str, str]) -> dict[str, str]:
    """``data`` with the CSRF token of the client's login form, as a browser would send it."""
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, page
    return {**data, "csrf": token.group(1)}


def login(client: TestClient) -> None:
    response = client.post(
        "/login", data=with_csrf(client, {"name": "anna", "password": "correct horse battery"})
    )
    assert response.status_code == 200 and "8" in response.text


def around_the_clock_config(folder: Path) -> Path:
    """The example configuration with every partner working all day (as the fixture's)."""
    text = example_config_text()
    text = re.sub(r"(?m)^(working_days|working_hours|holidays) = .*\n", "", text)
    every_day = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
    text = text.replace(
        "[[partners]]\n",
        f'[[partners]]\nworking_days = {every_day}\nworking_hours = "00:00-24:00"\n',
    )
    path = folder / "config.toml"
    path.write_text(text, "utf-8")
    return path


def cli(argv: list[str], capsys: Any, monkeypatch: Any, database_url: str) -> str:
    monkeypatch.setenv("RRM_DATABASE_URL", database_url)
    monkeypatch.setattr("bot.cli_stats.CLOCK", FixedClock(dataset.NOW))
    folder = Path(tempfile.mkdtemp())
    try:
        config = around_the_clock_config(folder)
        assert main(["--config", str(config), *argv]) == 0
    finally:
        shutil.rmtree(folder)
    return str(capsys.readouterr().out)


def test_chat_summary_for_a_coordinator(chat: Chat) -> None:
    # 19 days back from 20 March noon: the same questions as 1 to 20 March.
    text = chat.say("anna", "/stats 19d")
    assert text.splitlines()[:9] == [
        "Questions asked 2026-03-01 – 2026-03-20: 8",
        "Answered by a fiche, as the asker confirmed: 1 (12%)",
        "Fiches shown, no reply from the asker (not counted as answered): 1; sent to experts: 6",
        "First response: median 7 h, 90% within 24 h (working hours: median 7 h)",
        "Resolution: median 30 h, 90% within 70 h",
        "On time: 60% of first responses, 50% of resolutions",
        "Reminders: 2; escalations: 1",
        "Open now: 4; overdue: 3",
        "Said it helped: 67% of 3 ratings",
    ]
    assert text.splitlines()[-3:] == [
        "• Questions overdue now: 3",
        "• Only 60% of first responses were on time",
        "• No French-speaking expert for EU funding",
    ]


def test_chat_summary_in_the_coordinators_language(chat: Chat, database: Database) -> None:
    with database.sessions.begin() as session:
        anna = session.scalars(select(Person).where(Person.config_id == "anna")).one()
        anna.language = "de"
    text = chat.say("anna", "/stats 19d")
    assert "Jetzt offen: 4; überfällig: 3" in text
    assert "• Keine Fachperson für EU-Förderung, die Französisch spricht" in text
    assert chat.say("anna", "/stats soon").startswith("Verwendung: /stats")


def test_others_learn_nothing_of_stats(chat: Chat) -> None:
    # An asker and an expert (French) get exactly what any unknown command gets.
    for person in ["a-policy-maker", "claire"]:
        unknown = chat.say(person, "/nosuchthing")
        for command in ["stats", "dashboard"]:
            assert chat.say(person, f"/{command}") == unknown.replace("nosuchthing", command)
    assert chat.say("a-policy-maker", "/stats").startswith("I do not know the command /stats.")


def test_one_time_link_from_chat(chat: Chat, client: TestClient) -> None:
    assert client.get("/").status_code == 401
    text = chat.say("anna", "/dashboard")
    assert text.startswith(
        "Your dashboard link, valid once for 15 minutes: http://127.0.0.1:8088/link/"
    )
    path = text.split("8088", 1)[1]
    assert client.get(path).status_code == 200  # redirected to the overview, logged in
    assert client.get("/").status_code == 200
    client.cookies.clear()
    assert client.get(path).status_code == 403  # used once already
    assert client.get("/link/forged-token").status_code == 403
    assert chat.say("anna", "/dashboard", space=True).startswith("Send /dashboard to me")


def test_an_expired_link_is_refused(chat: Chat, database: Database) -> None:
    path = chat.say("anna", "/dashboard").split("8088", 1)[1]
    later = FixedClock(dataset.NOW + dt.timedelta(minutes=16))  # links last 15 minutes
    config = chat.conversation.services.config
    assert TestClient(create_app(config, database, later)).get(path).status_code == 403


def test_dashboard_refuses_without_login(client: TestClient) -> None:
    for path in ["/", "/by/partner", "/csv/figures.csv", "/csv/open.csv"]:
        assert client.get(path).status_code == 401, path
    response = client.post(
        "/login", data=with_csrf(client, {"name": "anna", "password": "wrong password"})
    )
    assert response.status_code == 401
    assert client.get("/").status_code == 401


def test_cli_json_and_csv_match_the_dashboard(
    client: TestClient, capsys: Any, monkeypatch: Any, database_url: str
) -> None:
    args = ["stats", "--from", dataset.FROM, "--to", dataset.TO]
    document = json.loads(
        cli([*args, "--json", "--by", "partner"], capsys, monkeypatch, database_url)
    )
    assert document["overall"] == dataclasses.asdict(OVERALL)
    assert {r["key"]: r for r in document["rows"]} == {
        k: dataclasses.asdict(v) for k, v in BY_PARTNER.items()
    }
    cli_csv = cli([*args, "--csv", "--by", "partner"], capsys, monkeypatch, database_url)
    login(client)
    web_csv = client.get("/csv/figures.csv", params={**PERIOD, "by": "partner"})
    assert web_csv.headers["content-type"].startswith("text/csv")
    assert web_csv.text == cli_csv
    rows = {row["partner"]: row for row in csv.DictReader(io.StringIO(cli_csv))}
    assert rows["all"]["first_response_p90_hours"] == "24.0"
    assert rows["kedivim"]["first_response_p90_hours"] == "9.2"
    text = cli(args, capsys, monkeypatch, database_url)
    assert "first response: median 7 h, p90 24 h" in text
    assert (
        "answered by a fiche as the asker confirmed 1, fiches shown without a reply 1, "
        "sent to experts 6" in text
    )
    assert "deflection rate 12 % (confirmed fiche answers only)" in text
    assert "satisfaction 67 %" in text
    assert "on time: first response 3 of 5 (60 %)" in text
    assert "open now 4, overdue now 3" in text
    assert "! No French-speaking expert for EU funding" in text  # the topic by its name


def test_dashboard_pages_show_the_same_numbers(client: TestClient) -> None:
    login(client)
    page = client.get("/", params=PERIOD).text
    for card, value in [
        ("card-asked", "<b>8</b>"),
        (
            "card-deflection",
            "<b>12\u00a0%</b><span>answered by a fiche, as the asker confirmed (1)",
        ),
        ("card-unconfirmed", "<b>1</b><span>fiches shown, no reply from the asker: not counted"),
        ("card-routed", "<b>6</b>"),
        ("card-first", "<b>7\u00a0h</b>"),
        ("card-resolution", "<b>30\u00a0h</b>"),
        ("card-on-time", "<b>60\u00a0%</b>"),
        ("card-open", "<b>4</b><span>open now, 3 overdue"),
        ("card-satisfaction", "<b>67\u00a0%</b>"),
    ]:
        assert f'id="{card}">{value}' in page, card
    assert "<svg" in page and "Questions overdue now: 3" in page
    breakdown = client.get("/by/partner", params=PERIOD).text
    assert "<td>KEDIVIM Crete</td><td>2</td>" in breakdown
    loads = client.get("/csv/loads.csv").text.splitlines()
    assert loads[0] == "expert,name,partner,load,capacity,away"
    assert "lucia,Lucía Fernández,cc-asturias,2,4,False" in loads or loads[1].startswith("lucia,")
    coverage = list(csv.reader(io.StringIO(client.get("/csv/coverage.csv").text)))
    header = coverage[0]
    eu = next(row for row in coverage if row[0] == "eu-funding")
    assert (eu[header.index("en")], eu[header.index("el")], eu[header.index("fr")]) == (
        "3",
        "1",
        "0",
    )
    backlog = list(csv.DictReader(io.StringIO(client.get("/csv/open.csv").text)))
    assert [(row["overdue"], row["assignee"]) for row in backlog] == [
        ("True", "eleni"),
        ("True", "lucia"),
        ("True", "lucia"),
        ("False", "piotr"),
    ]
    assert client.get("/", params={"from": "yesterday"}).status_code == 400


def test_guessing_a_password_is_slowed_down(stats_config: Config, database: Database) -> None:
    clock = FixedClock(dataset.NOW)
    client = TestClient(create_app(stats_config, database, clock))
    right = {"name": "anna", "password": "correct horse battery"}
    wrong = {"name": "anna", "password": "tr0ub4dor"}
    for _ in range(5):
        assert client.post("/login", data=with_csrf(client, wrong)).status_code == 401
    refused = client.post("/login", data=with_csrf(client, right))
    assert refused.status_code == 429 and "Try again in 15 minute(s)" in refused.text
    # Spelling the name otherwise does not get round it; another account is not held up.
    assert (
        client.post("/login", data=with_csrf(client, {**wrong, "name": " Anna "})).status_code
        == 429
    )
    with database.sessions.begin() as session:
        add_account(session, "piotr", "another long passphrase", dataset.NOW)
    other = client.post(
        "/login", data=with_csrf(client, {"name": "piotr", "password": "another long passphrase"})
    )
    assert other.status_code == 200
    client.post("/logout", data=with_csrf(client, {}))
    clock.advance(dt.timedelta(minutes=15))
    assert client.post("/login", data=with_csrf(client, right)).status_code == 200
    # A success forgets the failures: one more wrong password is only a wrong password.
    client.post("/logout", data=with_csrf(client, {}))
    assert client.post("/login", data=with_csrf(client, wrong)).status_code == 401
    assert client.post("/login", data=with_csrf(client, right)).status_code == 200
