"""Telegram's webhook, served by the bot: an update is answered 200 only once it is stored.

Telegram retries a webhook request until it gets a 2xx answer, so the answer waits for the
inbox commit: a crash before it loses nothing (Telegram sends the update again), and a failed
commit answers 500 for the same reason. A request without the secret token is refused (403)
and a body that is not an update is refused (400), both without storing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, Update

__all__ = ["SECRET_HEADER", "WebhookServer"]

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_SECONDS = 10.0


class WebhookServer:
    """Listens on ``host:port`` at ``path`` and hands each update to ``take`` (which stores it)."""

    def __init__(
        self,
        bot: Bot,
        take: Callable[[Update], Awaitable[None]],
        *,
        host: str,
        port: int,
        path: str,
        secret: str,
    ) -> None:
        self._bot = bot
        self._take = take
        self._secret = secret.encode()
        self._address = (host, port)
        app = Starlette(routes=[Route(path, self._receive, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off")
        )
        # The application owns SIGTERM and SIGINT: the server must not take them.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen; raise if the address cannot be taken."""
        # Bound here: uvicorn would end the whole process (SystemExit) on a taken port.
        host, port = self._address
        try:
            listening = socket.create_server((host, port))
        except OSError as error:
            raise OSError(
                f"telegram.webhook_listen/webhook_port: cannot listen on {host}:{port}: "
                f"{error.strerror}"
            ) from None
        self._task = asyncio.create_task(self._server.serve([listening]), name="tg-webhook")
        for _ in range(int(START_SECONDS / 0.02)):
            if self._server.started:
                return
            if self._task.done():
                break
            await asyncio.sleep(0.02)
        await self.stop()
        raise OSError("telegram.webhook_listen/webhook_port: cannot listen there")

    async def stop(self) -> None:
        """Take no new request; let those being stored finish."""
        task, self._task = self._task, None
        if task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception, SystemExit):
            await task

    async def _receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return Response("wrong or missing secret token", status_code=403)
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, self._bot) if _is_update(data) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            return Response("not a Telegram update", status_code=400)
        try:
            await self._take(update)
        except Exception:
            # Not stored: a non-2xx answer makes Telegram send the update again.
            log.exception("telegram: storing webhook update %s failed", update.update_id)
            return Response("not stored; send it again", status_code=500)
        return Response(status_code=200)


def _is_update(data: object) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("update_id"), int)
        and not isinstance(data.get("update_id"), bool)
    )
