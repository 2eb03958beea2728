"""`rrm run` with [dashboard] enabled serves the dashboard in the bot's own event loop."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import urllib.error
import urllib.request

from ground.config import Config, DashboardConfig
from tests.fakes.app import console_bot
from tests.fakes.embedder import MemoEmbedder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


async def test_the_bot_serves_the_dashboard_until_it_stops(
    config: Config, embedder: MemoEmbedder
) -> None:
    port = _free_port()
    dashboard = DashboardConfig(enabled=True, port=port, secret="run-test-secret-16+")
    # No fiches: the knowledge base plays no part here, and importing it takes time.
    knowledge = dataclasses.replace(config.knowledge, import_on_start=False)
    config = dataclasses.replace(config, dashboard=dashboard, knowledge=knowledge)
    url = f"http://127.0.0.1:{port}/"
    async with console_bot(config, embedder) as bot:
        for _ in range(100):  # uvicorn binds shortly after start
            if bot.app.dashboard.started:
                break
            await asyncio.sleep(0.05)
        assert await asyncio.to_thread(_status, url) == 401
        assert "coordinator add" in await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"{url}login", timeout=5).read().decode()
        )
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # stopped with the bot
