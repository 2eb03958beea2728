"""The question page says why each expert holds the question: routing's reasons, then commands."""

from __future__ import annotations

import dataclasses
import re

import pytest
from starlette.testclient import TestClient

from bot.dashboard import create_app
from ground.clock import FixedClock
from ground.config import Config, DashboardConfig
from ground.storage.dashboard_accounts import add_account
from tests.fakes.app import START, console_bot
from tests.fakes.embedder import MemoEmbedder
from tests.handlers.test_console_loop import ROUTE_QUESTION
from tests.stats.test_surfaces import with_csrf

pytestmark = pytest.mark.db
LOGIN = {"name": "anna", "password": "correct horse battery"}


def _section(page: str, name: str) -> str:
    return page.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]


async def test_the_question_page_says_why_each_expert_holds_it(
    config: Config, embedder: MemoEmbedder
) -> None:
    config = dataclasses.replace(config, dashboard=DashboardConfig(secret="why-page-secret-0123"))
    async with console_bot(config, embedder) as bot:
        await bot.say(ROUTE_QUESTION)
        await bot.app.flush()
        database = bot.app.database
        with database.sessions.begin() as session:
            add_account(session, "anna", LOGIN["password"], START)
        client = TestClient(create_app(config, database, FixedClock(START)))
        assert client.post("/login", data=with_csrf(client, LOGIN)).status_code == 200
        routed = client.get("/questions/1").text
        await bot.say("/as anna")
        assert "now assigned to Jonas Weber" in await bot.say("/reassign 1 jonas")
        reassigned = _section(client.get("/questions/1").text, "route")
    # Routing's reasons, as the experts' thread gives them, in English, on every expert's line.
    experts = re.findall(r"<li>(.*?)</li>", _section(routed, "route"))
    assert experts and all("why: routed: reads English · " in line for line in experts), experts
    assert all(re.search(r"· \d+ open questions?</span>$", line) for line in experts), experts
    # The topic's confidence, and the next topics the classifier weighed.
    assert "also weighed: " in _section(routed, "question")
    jonas = next(line for line in re.findall(r"<li>(.*?)</li>", reassigned) if "Jonas" in line)
    assert "Jonas Weber — primary" in jonas and "why: reassigned by Anna Schmidt" in jonas
    # The reasons stay out of the timeline's details.
    assert "reasons" not in routed.split('id="timeline"', 1)[1]
