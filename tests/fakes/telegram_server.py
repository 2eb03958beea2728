"""A small Bot API server on loopback for the real python-telegram-bot stack to talk to.

It answers the methods the bot uses with realistic JSON, records every call, long-polls
getUpdates with updates the test injects, can fail a method the next N times (429 with
retry_after, 5xx, 403) or hold one unanswered (a send in flight at a crash), and answers any
other method with 404 while recording it in ``unexpected``, so the test fails loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["BOT_ID", "Call", "FakeBotApi", "TelegramUser"]

BOT_ID = 7000001
BOT_USERNAME = "rrm_test_bot"
# Sent as JSON strings in form bodies; decoded so tests can read them.
JSON_FIELDS = {
    "allowed_updates",
    "commands",
    "entities",
    "link_preview_options",
    "reply_markup",
    "reply_parameters",
    "scope",
}
# The methods that post something, and so count towards Telegram's flood limits.
SENDING = {"sendMessage", "sendPhoto", "sendDocument", "createForumTopic", "copyMessage"}
# Refusals caused by what people did in the chat, not by a wrong call: the bot must cope.
STATE_REFUSALS = ("TOPIC_CLOSED",)
INT_FIELDS = {"chat_id", "message_id", "message_thread_id", "offset", "timeout", "limit"}


@dataclass(frozen=True)
class TelegramUser:
    """A person on Telegram."""

    id: int
    first_name: str
    last_name: str = ""
    language_code: str | None = "en"

    def json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def private_chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


@dataclass
class Call:
    """One request the bot made: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None

    @property
    def text(self) -> str:
        """The message text sent."""
        return str(self.params.get("text", ""))

    @property
    def message_id(self) -> int:
        """The id of the message the call created."""
        return int(self.result["message_id"])


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: int | None = None
    description: str = ""
    after: int = 0  # calls answered normally first


@dataclass
class _Hold:
    method: str
    delivered: bool
    after: int  # matching calls answered before the one held
    chat_id: int | None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        return method == self.method and self.chat_id in (None, params.get("chat_id"))


@dataclass
class _Pending:
    update: dict[str, Any]
    redelivery: bool = False


@dataclass
class FakeBotApi:
    """The fake server. Use ``async with FakeBotApi(token, group_id) as server``."""

    token: str
    group_id: int
    forum: bool = True
    # False: the bot was not added to the experts' group, which Telegram says is not found.
    in_group: bool = True
    calls: list[Call] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._updates: list[_Pending] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._faults: dict[str, list[_Fault]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.topics: dict[int, str] = {}
        self.closed_topics: set[int] = set()
        self.webhook: dict[str, str] | None = None
        self._flood: tuple[int, int] | None = None
        self._sends = 0
        # Files people sent, by file id: the bot may send them again by that id.
        self.files: dict[str, Any] = {}
        self.injected: dict[int, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0
        # The next call to hold, and whether it is carried out (delivered) before holding.
        self._hold: _Hold | None = None
        self.holding = asyncio.Event()
        self._released = asyncio.Event()

    # Running -----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_post(f"/bot{self.token}/{{method}}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._wrong_path)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        # End pending long polls and held calls now rather than at their timeout.
        self._closing = True
        self._released.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The address to give PTB's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # What the test does ------------------------------------------------------------------

    def fail(
        self,
        method: str,
        times: int = 1,
        status: int = 429,
        retry_after: int | None = None,
        *,
        after: int = 0,
    ) -> None:
        """Answer ``method`` with an error the next ``times`` calls (after ``after`` good ones)."""
        descriptions = {
            403: "Forbidden: bot was blocked by the user",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        fault = _Fault(status, times, retry_after, descriptions.get(status, "Error"), after)
        self._faults.setdefault(method, []).append(fault)

    def hold(
        self, method: str, *, delivered: bool, after: int = 0, chat_id: int | None = None
    ) -> None:
        """Hold the next call to ``method`` unanswered until ``release``: a send in flight.

        ``delivered``: Telegram carried it out (the message is in the chat) and only the
        answer is late; otherwise it was not carried out, and a released call is refused.
        ``after``: that many such calls are answered first; ``chat_id``: only calls to it.
        """
        self._hold = _Hold(method, delivered, after, chat_id)
        self.holding.clear()
        self._released.clear()

    def release(self) -> None:
        """Let the held call end (the bot that made it may be gone by then)."""
        self._released.set()

    def flood_every(self, calls: int, retry_after: int = 1) -> None:
        """Answer every ``calls``-th sending call 429 with ``retry_after``, as a busy bot sees."""
        self._flood = (calls, retry_after)

    async def inject(self, update: dict[str, Any], *, redelivery: bool = False) -> int:
        """Queue an update for getUpdates (a redelivery ignores the offset); return its id."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self.injected[int(update["update_id"])] = update
        self._updates.append(_Pending(update, redelivery))
        async with self._changed:
            self._changed.notify_all()
        return int(update["update_id"])

    async def redeliver(self, update_id: int) -> None:
        """Deliver an update again, as Telegram does after a restart before confirmation."""
        await self.inject(self.injected[update_id], redelivery=True)

    async def private_text(
        self, user: TelegramUser, text: str, *, reply_to: int | None = None
    ) -> int:
        """The user writes to the bot in their private chat."""
        message = self._incoming(user, user.private_chat(), text=text)
        if reply_to is not None:
            message["reply_to_message"] = self._messages[(user.id, reply_to)]
        return await self.inject({"message": message})

    def private_update(self, user: TelegramUser, text: str) -> dict[str, Any]:
        """An update with a private message, numbered but not queued (for webhook mode)."""
        message = self._incoming(user, user.private_chat(), text=text)
        return {"update_id": next(self._update_ids), "message": message}

    async def post_to_webhook(self, address: str, update: dict[str, Any], secret: str) -> int:
        """POST an update to the bot's webhook as Telegram does; return the HTTP status."""
        return await self.post_raw(address, json.dumps(update).encode(), secret)

    async def post_raw(self, address: str, body: bytes, secret: str) -> int:
        """POST any body to the bot's webhook; return the HTTP status."""
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(address, data=body, headers=headers) as response,
        ):
            return response.status

    async def private_photo(self, user: TelegramUser) -> int:
        """The user sends a photo with no caption."""
        photo = self._photo("ph0t0")
        return await self.inject(
            {"message": self._incoming(user, user.private_chat(), photo=photo)}
        )

    async def group_file(
        self, user: TelegramUser, topic: int, kind: str, caption: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """Someone posts a photo or a document (with an optional caption) in a forum topic."""
        media: Any
        if kind == "photo":
            media = self._photo(f"p{len(self.files)}")
        else:
            file_id = f"BQACd0c{len(self.files)}"
            media = {
                "file_id": file_id,
                "file_unique_id": f"d0c{len(self.files)}",
                "file_name": "apprenticeship-contract.pdf",
                "mime_type": "application/pdf",
            }
            self.files[file_id] = media
        content: dict[str, Any] = {kind: media}
        if caption:
            content["caption"] = caption
        message = self._incoming(user, self._group_chat(), **content)
        message["message_thread_id"] = topic
        message["is_topic_message"] = True
        return await self.inject({"message": message}), message

    def _photo(self, unique: str) -> list[dict[str, Any]]:
        sizes = [
            {"file_id": f"AgAC{unique}s", "file_unique_id": unique, "width": 90, "height": 90},
            {"file_id": f"AgAC{unique}m", "file_unique_id": unique, "width": 800, "height": 800},
        ]
        for size in sizes:
            self.files[size["file_id"]] = sizes
        return sizes

    async def press(self, user: TelegramUser, message_id: int, data: str) -> int:
        """The user presses a button under the bot's message."""
        query = {
            "id": f"cq{message_id}{len(self.calls)}",
            "from": user.json(),
            "chat_instance": "42",
            "message": self._messages[(user.id, message_id)],
            "data": data,
        }
        return await self.inject({"callback_query": query})

    async def group_text(
        self,
        user: TelegramUser,
        text: str,
        *,
        topic: int | None = None,
        reply_to: int | None = None,
        edit_of: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Someone writes in the experts' group: in a forum topic, or replying to a message."""
        if edit_of is not None:
            message = {**edit_of, "text": text, "edit_date": int(time.time())}
            return await self.inject({"edited_message": message}), message
        message = self._incoming(user, self._group_chat(), text=text)
        if entities:
            message["entities"] = entities
        if topic is not None:
            message["message_thread_id"] = topic
            message["is_topic_message"] = True
            message["reply_to_message"] = self._messages.get(
                (self.group_id, topic), {"message_id": topic, "date": 0, "chat": self._group_chat()}
            )
        if reply_to is not None:
            replied = self._messages[(self.group_id, reply_to)]
            message["reply_to_message"] = replied
            message["message_thread_id"] = replied.get("message_thread_id", reply_to)
        return await self.inject({"message": message}), message

    def sent(self, method: str = "sendMessage", **match: Any) -> list[Call]:
        """Successful calls to ``method`` whose parameters include ``match``."""
        return [
            c
            for c in self.calls
            if c.method == method
            and c.status == 200
            and all(c.params.get(k) == v for k, v in match.items())
        ]

    def attempts(self, method: str) -> list[Call]:
        """Every call to ``method``, failed or not."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self, check: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Wait until ``check()`` is truthy (re-checked after each call); return its value."""

        async def poll() -> Any:
            async with self._changed:
                while not (value := check()):
                    await self._changed.wait()
                return value

        try:
            return await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            recent = [(c.method, c.params.get("text", "")[:60]) for c in self.calls[-8:]]
            raise AssertionError(f"timed out waiting for {what}; last calls: {recent}") from None

    async def wait_sent(
        self, count: int = 1, method: str = "sendMessage", **match: Any
    ) -> list[Call]:
        """Wait until ``count`` matching calls succeeded; return them all."""
        return await self.wait_for(  # type: ignore[no-any-return]
            lambda: (found := self.sent(method, **match)) and len(found) >= count and found,
            what=f"{count} × {method} {match}",
        )

    async def wait_text(self, fragment: str, **match: Any) -> Call:
        """Wait for a message containing ``fragment`` (and matching ``match``); return it."""
        found = await self.wait_for(
            lambda: [c for c in self.sent("sendMessage", **match) if fragment in c.text],
            what=f"a message with {fragment!r} {match}",
        )
        return found[0]  # type: ignore[no-any-return]

    # The Bot API -------------------------------------------------------------------------

    async def _wrong_path(self, request: web.Request) -> web.Response:
        self.unexpected.append(f"{request.method} {request.path.replace(self.token, '<token>')}")
        return _error(404, "Not Found")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = _decode(dict(await request.post()))
        call = Call(method, params)
        self.calls.append(call)
        hold = self._hold
        held = hold is not None and hold.matches(method, params)
        if held and hold is not None and hold.after > 0:
            hold.after -= 1
            held = False
        elif held:
            self._hold = None
        try:
            if held and hold is not None and not hold.delivered:
                call.status = 0  # not carried out while held
                self.holding.set()
                await self._released.wait()
                call.status = 503
                return _error(503, "Service Unavailable")
            response = await self._answer(method, params, call)
            if held:
                self.holding.set()
                await self._released.wait()
        finally:
            async with self._changed:
                self._changed.notify_all()
        return response

    async def _answer(self, method: str, params: dict[str, Any], call: Call) -> web.Response:
        if self._flood is not None and method in SENDING:
            self._sends += 1
            every, retry_after = self._flood
            if self._sends % every == 0:
                call.status = 429
                text = f"Too Many Requests: retry after {retry_after}"
                return _error(429, text, {"retry_after": retry_after})
        faults = self._faults.get(method)
        if faults and faults[0].after > 0:
            faults[0].after -= 1
        elif faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            call.status = fault.status
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _error(fault.status, fault.description, extra)
        if not self.in_group and params.get("scope", {}).get("chat_id") == self.group_id:
            # An answer the bot must cope with, as a fault is: not counted as unexpected.
            call.status = 400
            return _error(400, "Bad Request: chat not found")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            call.status = 404
            self.unexpected.append(method)
            return _error(404, "Not Found")
        outcome = await handler(params)
        if isinstance(outcome, web.Response):
            call.status = outcome.status
            if not any(answer in (outcome.text or "") for answer in STATE_REFUSALS):
                self.unexpected.append(f"{method} refused: {outcome.text}")
            return outcome
        call.result = outcome
        return web.json_response({"ok": True, "result": outcome})

    async def _api_getMe(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "RRM",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, _params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url, secret = params.get("url", ""), params.get("secret_token", "")
        if not url.startswith("https://"):
            return _error(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret or "x"):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": url, "secret_token": secret}
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        return await self._get_updates(params)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            return _error(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            if not (1 <= len(command["command"]) <= 32 and 1 <= len(command["description"]) <= 256):
                return _error(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset") or 0
        timeout = float(params.get("timeout") or 0)
        # An offset confirms every update before it: Telegram forgets them.
        self._updates = [
            p for p in self._updates if p.redelivery or p.update["update_id"] >= offset
        ]
        if not self._updates and timeout:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates) or self._closing),
                        timeout,
                    )
        ready = list(self._updates)
        for pending in ready:
            pending.redelivery = False
        return [p.update for p in ready]

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        text = params.get("text", "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message is too long")
        if "parse_mode" in params:
            return _error(400, "Bad Request: this fake expects plain text")
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "RRM", "username": BOT_USERNAME},
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        for entity in params.get("entities") or []:
            if entity["offset"] + entity["length"] > len(text.encode("utf-16-le")) // 2:
                return _error(400, "Bad Request: can't parse entities")
        if params.get("entities"):
            message["entities"] = params["entities"]
        thread = params.get("message_thread_id")
        if (closed := self._closed(chat, params)) is not None:
            return closed
        if thread is not None:
            if chat["type"] != "supergroup" or thread not in self.topics:
                return _error(400, "Bad Request: message thread not found")
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        reply = params.get("reply_parameters")
        if reply is not None:
            replied = self._messages.get((chat["id"], reply["message_id"]))
            if replied is None and not reply.get("allow_sending_without_reply"):
                return _error(400, "Bad Request: message to be replied not found")
            if replied is not None:
                message["reply_to_message"] = replied
                message["message_thread_id"] = replied.get(
                    "message_thread_id", replied["message_id"]
                )
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    async def _send_media(self, params: dict[str, Any], kind: str) -> Any:
        ref = params.get(kind)
        if not isinstance(ref, str) or not ref:
            return _error(400, f"Bad Request: there is no {kind} in the request")
        if ref not in self.files:
            return _error(400, "Bad Request: wrong file identifier/HTTP URL specified")
        chat = self._chat(params.get("chat_id"))
        if chat is None:
            return _error(400, "Bad Request: chat not found")
        if (closed := self._closed(chat, params)) is not None:
            return closed
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "RRM", "username": BOT_USERNAME},
            "chat": chat,
            "date": int(time.time()),
            kind: self.files[ref],
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = params["message_thread_id"]
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        return await self._send_media(params, "photo")

    async def _api_sendDocument(self, params: dict[str, Any]) -> Any:
        return await self._send_media(params, "document")

    async def _api_reopenForumTopic(self, params: dict[str, Any]) -> Any:
        topic = params.get("message_thread_id")
        if params.get("chat_id") != self.group_id or topic not in self.topics:
            return _error(400, "Bad Request: message thread not found")
        if topic not in self.closed_topics:
            return _error(400, "Bad Request: TOPIC_NOT_MODIFIED")
        self.closed_topics.discard(topic)
        return True

    def _closed(self, chat: dict[str, Any], params: dict[str, Any]) -> web.Response | None:
        if chat["id"] == self.group_id and params.get("message_thread_id") in self.closed_topics:
            return _error(400, "Bad Request: TOPIC_CLOSED")
        return None

    async def _api_createForumTopic(self, params: dict[str, Any]) -> Any:
        name = params.get("name", "")
        if params.get("chat_id") != self.group_id or not self.forum:
            return _error(400, "Bad Request: the chat is not a forum")
        if not 1 <= len(name) <= 128:
            return _error(400, "Bad Request: TOPIC_NAME_INVALID")
        # As on Telegram, the topic's id is the id of its opening service message.
        topic_id = next(self._message_ids)
        self.topics[topic_id] = name
        self._messages[(self.group_id, topic_id)] = {
            "message_id": topic_id,
            "date": int(time.time()),
            "chat": self._group_chat(),
            "message_thread_id": topic_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": 7322096},
        }
        return {"message_thread_id": topic_id, "name": name, "icon_color": 7322096}

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query id is empty")
        return True

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        key = (params.get("chat_id"), params.get("message_id"))
        message = self._messages.get(key)  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        key = (params.get("chat_id"), params.get("message_id"))
        message = self._messages.get(key)  # type: ignore[arg-type]
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        message["text"] = params.get("text", "")
        message["edit_date"] = int(time.time())
        return message

    # Helpers -----------------------------------------------------------------------------

    def _group_chat(self) -> dict[str, Any]:
        return {
            "id": self.group_id,
            "type": "supergroup",
            "title": "RRM experts",
            "is_forum": self.forum,
        }

    def _chat(self, chat_id: Any) -> dict[str, Any] | None:
        if chat_id == self.group_id:
            return self._group_chat()
        if isinstance(chat_id, int) and chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "someone"}
        return None

    def _incoming(self, user: TelegramUser, chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "from": user.json(),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat["id"], message["message_id"])] = message
        return message


def _decode(form: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in form.items():
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS and isinstance(value, str) and value.lstrip("-").isdigit():
            params[key] = int(value)
        else:
            params[key] = value
    return params


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
