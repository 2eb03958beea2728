"""An HTTP proxy on loopback in front of a real server that lets a test act on a response.

The bot talks to the homeserver through it; ``on_response`` sees each answer before the bot
does, so a test can kill the bot the moment a ``/sync`` carrying certain events comes back.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web

# Hop-by-hop headers and those aiohttp sets itself.
SKIPPED = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


class HttpProxy:
    """Forwards every request to ``target``; ``on_response(path, body)`` runs before replying."""

    def __init__(self, target: str, on_response: Callable[[str, bytes], None]) -> None:
        self.target = target.rstrip("/")
        self.on_response = on_response
        self.port = 0
        # The path of every request, in order of arrival.
        self.paths: list[str] = []
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The address to give the bot instead of the server's."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HttpProxy:
        self._client = aiohttp.ClientSession(auto_decompress=True)
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        self.paths.append(request.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIPPED}
        async with self._client.request(
            request.method,
            f"{self.target}{request.rel_url}",
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=None),
        ) as upstream:
            body = await upstream.read()
            self.on_response(request.path, body)
            answer = {k: v for k, v in upstream.headers.items() if k.lower() not in SKIPPED}
            return web.Response(status=upstream.status, body=body, headers=answer)
