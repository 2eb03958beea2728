"""A person on the test homeserver: a matrix-nio client that writes and waits for messages.

Given a key store folder, the client encrypts as Element does: it reads and writes in
end-to-end encrypted rooms and shares its room keys with every device of the members.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import uuid
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    Event,
    JoinError,
    RoomCreateError,
    RoomLeaveResponse,
    RoomPreset,
    RoomRedactResponse,
    RoomSendResponse,
    RoomVisibility,
    SyncError,
    UploadResponse,
)
from nio.api import Api
from nio.crypto.attachments import decrypt_attachment
from nio.store import SqliteStore

from bot.channels.matrix_keys import key_upkeep

WAIT = 20.0  # seconds a test waits for the bot before failing


class MatrixUser:
    """Logs in, syncs in the background, and records every timeline event it sees."""

    def __init__(
        self, homeserver: str, user_id: str, password: str, store: Path | None = None
    ) -> None:
        self.user_id = user_id
        self._password = password
        settings = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2)
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
            settings = AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=2,
                store=SqliteStore,
                encryption_enabled=True,
                store_sync_tokens=False,
            )
        self.client = AsyncClient(homeserver, user_id, store_path=str(store or ""), config=settings)
        self.events: dict[str, list[Event]] = {}
        self.invites: list[str] = []
        # What the test has read, per room and event type.
        self._read: dict[tuple[str, str], int] = {}
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MatrixUser:
        response = await self.client.login(self._password, device_name="test")
        assert not isinstance(response, Exception) and self.client.access_token, response
        first = await self.client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 1}}})
        assert not isinstance(first, SyncError), first
        await key_upkeep(self.client)
        self._task = asyncio.create_task(self._sync(), name=f"sync {self.user_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _sync(self) -> None:
        while True:
            response = await self.client.sync(timeout=30_000)
            if isinstance(response, SyncError):
                await asyncio.sleep(0.2)
                continue
            with contextlib.suppress(Exception):  # retried after the next sync
                await key_upkeep(self.client)
            async with self._changed:
                self.invites.extend(response.rooms.invite)
                for room_id, info in response.rooms.join.items():
                    self.events.setdefault(room_id, []).extend(info.timeline.events)
                self._changed.notify_all()

    async def create_room(
        self,
        invite: list[str],
        *,
        direct: bool = False,
        encrypted: bool = False,
        name: str = "",
        room_version: str | None = None,
    ) -> str:
        """Create a private room inviting ``invite``; return its id."""
        state = []
        if encrypted:
            state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            visibility=RoomVisibility.private,
            name=name or None,
            is_direct=direct,
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.private_chat,
            invite=invite,
            initial_state=state,
            room_version=room_version,
        )
        assert not isinstance(response, RoomCreateError), response
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        """Join a room this user is invited to."""
        response = await self.client.join(room_id)
        assert not isinstance(response, JoinError), response

    async def wait_invited(self, timeout: float = WAIT) -> str:
        """The first room this user is invited to (after logging in)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.invites)), timeout)
            return self.invites[0]

    async def wait_member(self, room_id: str, user_id: str, timeout: float = WAIT) -> None:
        """Wait until ``user_id`` has joined ``room_id``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            members = await self.client.joined_members(room_id)
            if any(m.user_id == user_id for m in getattr(members, "members", [])):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{user_id} did not join {room_id}")

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        """Send raw content; return the event id."""
        response = await self.client.room_send(
            room_id, kind, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def say(
        self,
        room_id: str,
        text: str,
        *,
        thread: str | None = None,
        latest: str | None = None,
        html: str | None = None,
    ) -> str:
        """Write a message, in a thread when ``thread`` names its root, with ``html`` if given."""
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            content |= {"format": "org.matrix.custom.html", "formatted_body": html}
        if thread:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": latest or thread},
            }
        return await self.send(room_id, content)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        """Correct one of this user's messages (``m.replace``)."""
        return await self.send(
            room_id,
            {
                "msgtype": "m.text",
                "body": f"* {text}",
                "m.new_content": {"msgtype": "m.text", "body": text},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload a file to the homeserver's media repository; return its mxc:// URI."""
        response, _keys = await self.client.upload(
            lambda *_: io.BytesIO(data),
            content_type=content_type,
            filename=filename,
            filesize=len(data),
        )
        assert isinstance(response, UploadResponse), response
        return str(response.content_uri)

    async def upload_encrypted(
        self, data: bytes, content_type: str, filename: str
    ) -> dict[str, Any]:
        """Encrypt and upload a file; return the ``file`` object of an encrypted message."""
        response, keys = await self.client.upload(
            lambda *_: io.BytesIO(data),
            content_type=content_type,
            filename=filename,
            encrypt=True,
            filesize=len(data),
        )
        assert isinstance(response, UploadResponse) and keys, response
        return {**keys, "url": response.content_uri}

    async def download(self, file: dict[str, Any] | str) -> bytes:
        """A file's bytes: by its mxc:// URI, or decrypted by its ``file`` object."""
        url = file if isinstance(file, str) else file["url"]
        response = await self.client.download(mxc=url)
        assert isinstance(response, DownloadResponse), response
        if isinstance(file, str):
            return bytes(response.body)
        return bytes(
            decrypt_attachment(
                response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
            )
        )

    async def redact(self, room_id: str, event_id: str) -> str:
        """Take back one of this user's messages; return the redaction's event id."""
        response = await self.client.room_redact(room_id, event_id, reason="sent by mistake")
        assert isinstance(response, RoomRedactResponse), response
        return str(response.event_id)

    async def react(self, room_id: str, event_id: str, key: str, *, sealed: bool = False) -> str:
        """React to a message with ``key``; ``sealed``: encrypted, as Element does in such rooms."""
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        if not sealed:
            return await self.send(room_id, {"m.relates_to": relates}, "m.reaction")
        # matrix-nio sends reactions in the clear: encrypt by hand with the room's session.
        kind, content = self.client.encrypt(room_id, "m.reaction", {"m.relates_to": relates})
        return await self.send_as_is(room_id, content, kind)

    async def say_keeping_the_key(self, room_id: str, text: str) -> str:
        """Write in an encrypted room with a new room key not yet shared (``share_key`` does).

        As an app does that sends the key late: the message arrives before its key.
        """
        olm = self.client.olm
        assert olm is not None
        olm.create_outbound_group_session(room_id)
        session = olm.outbound_group_sessions[room_id]
        # The key as it is before this message: what ``share_key`` sends, so it reads it.
        session._session = _KeyFromStart(session._session)
        session.shared = True  # lets nio encrypt with it before sharing
        kind, content = self.client.encrypt(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        session.shared = False
        return await self.send_as_is(room_id, content, kind)

    async def share_key(self, room_id: str) -> None:
        """Share the room key kept back by ``say_keeping_the_key`` with the room's devices."""
        response = await self.client.share_group_session(room_id, ignore_unverified_devices=True)
        assert not isinstance(response, Exception), response

    async def send_as_is(self, room_id: str, content: dict[str, Any], kind: str) -> str:
        """Send an event exactly as given, never encrypted by the client; return its id."""
        method, path, data = Api.room_send(
            self.client.access_token, room_id, kind, content, uuid.uuid4().hex
        )
        response = await self.client.send(method, path, data)
        assert response.status == 200, await response.text()
        return str((await response.json())["event_id"])

    async def leave(self, room_id: str) -> None:
        """Leave a room."""
        response = await self.client.room_leave(room_id)
        assert isinstance(response, RoomLeaveResponse), response

    async def next_event(
        self, room_id: str, kind: str = "m.room.message", timeout: float = WAIT
    ) -> Event:
        """The next unread event of type ``kind`` from someone else in the room."""
        key = (room_id, kind)

        def find() -> Event | None:
            events = self.events.get(room_id, [])
            while self._read.get(key, 0) < len(events):
                event = events[self._read.get(key, 0)]
                self._read[key] = self._read.get(key, 0) + 1
                if event.sender != self.user_id and event.source.get("type") == kind:
                    return event
            return None

        async with self._changed:
            found: list[Event] = []

            def ready() -> bool:
                event = find()
                if event is not None:
                    found.append(event)
                return bool(found)

            try:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
            except TimeoutError:
                raise AssertionError(f"{self.user_id}: no {kind} in {room_id}") from None
            return found[0]

    async def next_text(self, room_id: str, timeout: float = WAIT) -> str:
        """The body of the next message from someone else in the room."""
        event = await self.next_event(room_id, timeout=timeout)
        return str(event.source["content"].get("body", ""))

    def messages_from(self, room_id: str, sender: str) -> list[Event]:
        """Every message ``sender`` sent in the room that this user has seen."""
        return [
            e
            for e in self.events.get(room_id, [])
            if e.sender == sender and e.source.get("type") == "m.room.message"
        ]


class _KeyFromStart:
    """A megolm session that shares its key as it was when made, not after its messages."""

    def __init__(self, session: Any) -> None:
        self._inner = session
        self.session_key = session.session_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
