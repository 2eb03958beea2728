"""The Matrix channel: askers in direct rooms, experts in one room with a thread per question.

The sync token and the device id are kept in the database (the ``channel_state`` table),
so a restart continues where the last run stopped: nothing replayed, nothing missed, no new
device. What the channel keeps in memory only, and so forgets on restart: the choices
(buttons) of the last message with choices in each room, the thread of recent experts' room
messages (to place edits and plain replies in their thread) and the latest message of each
thread (to reply to it as a fallback for clients without threads). A redaction is handed on
as a withdrawal. End-to-end encrypted rooms work like plain ones: the keys are kept in
``matrix.store_path`` (bot/channels/matrix_keys.py), decrypted events are stored in the inbox
as read, and an event that cannot be decrypted is counted and its sender told once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    Event,
    JoinError,
    LocalProtocolError,
    LoginError,
    LogoutError,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomCreateError,
    RoomEncryptedMedia,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomMessageMedia,
    RoomMessageNotice,
    RoomMessageText,
    RoomPreset,
    RoomResolveAliasError,
    RoomSendResponse,
    RoomUpgradeEvent,
    SyncError,
    SyncResponse,
    UnknownEncryptedEvent,
    WhoamiError,
)

from bot.channels.base import Deliver, PermanentSendError, StateStore
from bot.channels.common import Backoff, Recent, Transient, name_files, retry
from bot.channels.inbox import Inbox, NewEvent
from bot.channels.matrix_content import (
    KEYCAPS,
    Relation,
    button_number,
    message_content,
    read_relation,
    strip_reply_fallback,
    thread_relation,
)
from bot.channels.matrix_files import file_content, read_files
from bot.channels.matrix_html import HTML_FORMAT, read_html
from bot.channels.matrix_keys import (
    STORE,
    key_upkeep,
    own_fingerprint,
    prepare_store,
    protect_store,
    remove_store,
    server_has_keys,
    store_file,
)
from ground.config import MatrixConfig
from handlers.events import Attachment, Button, Delivery, Inbound, Sent, Span, keeps_choices
from handlers.notices import NewDevice

__all__ = ["MatrixChannel", "MatrixError"]

log = logging.getLogger(__name__)

# Errors for which sending again can never succeed: the bot is not (or no longer) allowed in
# the room, or the room is gone.
PERMANENT_ERRORS = {"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_ROOM"}
MEMORY = 10_000  # events remembered per map; old ones are dropped first
# Kept across restarts in the channel state, the newest first: undecryptable events (with
# their encrypted source, a few KB each) waiting for a key, and the senders already told.
AWAITING_KEPT = 200
TOLD_KEPT = 2_000
STOP_WAIT_SECONDS = 10  # how long stopping waits for the sync being handled
MAX_UPGRADES = 10  # tombstones followed at start before giving up on a chain of upgrades
# Up to this many events per room and sync: more arrive only in a burst while the bot is busy.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}}, "presence": {"not_types": ["*"]}}
# A room the bot creates (a direct room with an expert, or with an asker who left theirs).
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class MatrixError(Exception):
    """The homeserver refused a request (login, join, send) with this error."""


class MatrixChannel:
    """A matrix-nio client that turns room events into inbound events and sends deliveries."""

    name = "matrix"
    replies_in_background = False

    def __init__(
        self,
        config: MatrixConfig,
        *,
        sync_timeout_ms: int = 30_000,
        rate_limit_retries: int = 3,
        max_retry_wait: float = 30.0,
    ) -> None:
        self.config = config
        self._sync_timeout_ms = sync_timeout_ms
        self._backoff = Backoff(rate_limit_retries + 1, delay=1.0, max_wait=max_retry_wait)
        self.client: AsyncClient | None = None
        self.user_id = config.user_id
        self.experts_room_id = ""
        # The room the experts' room was upgraded to, while the bot waits for an invitation.
        self._successor = ""
        # Unique to this process (the first sync's filter must be new at each start).
        self._instance = uuid.uuid4().hex[:8]
        # The transaction ids' prefix, kept in the database: a message resent after a crash
        # reuses its transaction id, so the homeserver drops the copy (exactly once); a new
        # database, whose outbox ids restart from 1, gets a new prefix, so no new message is
        # taken for an old one's retry.
        self._tx_prefix = self._instance
        self._buttons: dict[str, tuple[str, tuple[Button, ...]]] = {}
        self._thread_of: Recent[str, str] = Recent(MEMORY)
        self._latest_in_thread: Recent[str, str] = Recent(MEMORY)
        # Senders told that a message of theirs could not be decrypted: (room, sender).
        self._told_unreadable: Recent[tuple[str, str], None] = Recent(TOLD_KEPT)
        # Events that could not be decrypted, to try again when keys come: id → (room, event).
        self._awaiting_key: Recent[str, tuple[str, dict[str, Any]]] = Recent(AWAITING_KEPT)
        # Events seen that could not be decrypted, since start (for /metrics).
        self.undecryptable = 0
        # The device given up at start because its keys were lost, if any.
        self.replaced_device = ""
        self._direct_rooms: dict[str, str] = {}
        # Direct rooms the other person left: room → that person.
        self._left_by: dict[str, str] = {}
        self._joined_now: set[str] = set()
        self._deliver: Deliver | None = None
        self._task: asyncio.Task[None] | None = None
        self._state: StateStore | None = None
        self._inbox: Inbox | None = None
        self._writes: set[asyncio.Future[None]] = set()
        # Held while a sync's events are handled, so stopping never cuts one in half.
        self._handling = asyncio.Lock()

    @property
    def account(self) -> str:
        """The bot's Matrix user id."""
        return self.config.user_id

    def use_inbox(self, inbox: Inbox) -> None:
        """Store each sync's events with its token in one transaction; handle them from there."""
        self._inbox = inbox

    async def stop_receiving(self) -> None:
        """Stop syncing once the sync in hand is handled; what is stored stays in the inbox."""
        await self._stop_sync()

    def use_state(self, state: StateStore) -> None:
        """Keep the sync token and device id in ``state`` (the database) across restarts."""
        self._state = state

    async def start(self, deliver: Deliver) -> None:
        """Log in, join the experts' room, skip the backlog, and start syncing.

        With several processes on PostgreSQL, one per Matrix account does (and so handles
        and sends); the others stand by, not even logged in (the device and its keys are
        one process's), and the first to find it gone starts in its place.
        """
        self._deliver = deliver
        if self._inbox is None:
            await self._start()
            return
        standby = await self._inbox.when_leading(self._start, retry_every=STOP_WAIT_SECONDS)
        if standby is not None:
            self._task = standby

    async def _start(self) -> None:
        config = self.config
        if not config.store_path:
            raise MatrixError("matrix.store_path: no folder for the encryption keys")
        store = Path(config.store_path)
        try:
            prepare_store(store)
        except OSError as error:
            raise MatrixError(f"matrix.store_path: cannot use {store}: {error}") from None
        # The device in use is the one remembered: after a loss of keys it is no longer
        # the configured one.
        device_id = await self._recall("device_id") or config.device_id
        self.client = self._new_client(store, device_id)
        try:
            had_keys = await self._login()
            if not had_keys and await server_has_keys(self.client, self.client.device_id):
                await self._replace_lost_device(store)
            protect_store(store)
            await self._remember("device_id", self.client.device_id)
            await key_upkeep(self.client)
            log.info(
                "matrix: device %s, fingerprint %s",
                self.client.device_id,
                own_fingerprint(self.client),
            )
            await self._recall_undecryptable()
            self._tx_prefix = await self._recall("tx_prefix") or self._instance
            await self._remember("tx_prefix", self._tx_prefix)
            self.experts_room_id = await self._join_experts_room()
            since = await self._recall("next_batch")
            missed = await self._catch_up(since) if since else None
            if not since:
                await self._skip_backlog()
        except BaseException:
            await self.client.close()
            self.client = None
            raise
        # What came in while the bot was down is handled by the sync task, not here: the
        # application takes events in only once every channel has started.
        self._task = asyncio.create_task(self._sync_forever(missed), name="matrix-sync")
        self._task.add_done_callback(self._sync_done)

    async def stop(self) -> None:
        """Stop syncing (after the sync being handled, if any) and close the connection."""
        await self._stop_sync()
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def _stop_sync(self) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(self._handling.acquire(), timeout=STOP_WAIT_SECONDS)
            except TimeoutError:
                log.warning("matrix: stopping in the middle of handling a sync")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            if self._handling.locked():
                self._handling.release()

    def _new_client(self, store: Path, device_id: str | None) -> AsyncClient:
        config = self.config
        return AsyncClient(
            config.homeserver,
            config.user_id,
            device_id=device_id or None,
            store_path=str(store),
            # 429s come back to us (see _send_event) and network errors raise after two
            # retries, so the outbox keeps the message and retries it later. The sync
            # token is kept in the database, not in the key store.
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=2,
                request_timeout=30,
                store=STORE,
                encryption_enabled=True,
                store_sync_tokens=False,
            ),
        )

    async def _login(self) -> bool:
        """Log in and open the device's key store; True if the store held its keys already."""
        client, config = self._require_client(), self.config
        store = Path(config.store_path)
        if config.access_token:
            client.user_id = config.user_id
            client.access_token = config.access_token
            whoami = await client.whoami()
            if isinstance(whoami, WhoamiError):
                raise MatrixError(f"the access token was refused: {whoami.status_code}")
            if whoami.user_id != config.user_id:
                raise MatrixError(
                    f"the access token belongs to {whoami.user_id}, not {config.user_id}"
                )
            device_id = whoami.device_id or config.device_id
            if not device_id:
                raise MatrixError("matrix.device_id: the access token names no device; set it")
            had_keys = store_file(store, config.user_id, device_id).exists()
            client.restore_login(config.user_id, device_id, config.access_token)
        else:
            known = client.device_id
            had_keys = bool(known) and store_file(store, config.user_id, known).exists()
            response = await client.login(config.password, device_name="RRM bot")
            if isinstance(response, LoginError):
                raise MatrixError(f"login as {config.user_id} failed: {response.status_code}")
        self.user_id = client.user_id
        log.info("matrix: logged in as %s (device %s)", client.user_id, client.device_id)
        return had_keys

    async def _replace_lost_device(self, store: Path) -> None:
        """The device's keys are published but not in the store: move to a new device.

        The old device is logged out, which deletes it and its keys on the homeserver, so
        people's apps stop encrypting for keys nobody holds.
        """
        client, config = self._require_client(), self.config
        old = client.device_id
        if config.access_token:
            raise MatrixError(
                f"matrix.store_path: the encryption keys of device {old} are not in {store} "
                "(lost or moved): restore them from a backup, or log in with a password "
                "(matrix.password, without access_token) so that the bot takes a new device"
            )
        logout = await client.logout()
        if isinstance(logout, LogoutError):
            raise MatrixError(f"cannot log out the device {old} whose keys were lost: {logout}")
        await client.close()
        remove_store(store, config.user_id, old)
        self.client = self._new_client(store, None)
        await self._login()
        self.replaced_device = old
        log.warning(
            "matrix: the encryption keys of device %s were not in %s (lost or moved); "
            "logged in as the new device %s. Messages encrypted for the old device cannot "
            "be read; people who verified the old device must verify the new one.",
            old,
            store,
            self.client.device_id,
        )

    def new_device(self) -> NewDevice | None:
        """The session taken at this start because the old one's keys were lost, if any."""
        if not self.replaced_device or self.client is None:
            return None
        return NewDevice(self.client.device_id, own_fingerprint(self.client), self.replaced_device)

    async def _join_experts_room(self) -> str:
        """Resolve and join the configured room: the homeserver, not its shape, decides."""
        client, room = self._require_client(), self.config.experts_room
        if room.startswith("#"):
            resolved = await client.room_resolve_alias(room)
            if isinstance(resolved, RoomResolveAliasError):
                raise MatrixError(
                    f"matrix.experts_room: the alias {room} is unknown to the homeserver: "
                    f"{resolved.message}"
                )
            room = resolved.room_id
        joined = await client.join(room)
        if isinstance(joined, JoinError):
            raise MatrixError(
                f"matrix.experts_room: cannot join {room} (check the id and invite the bot "
                f"there): {joined.message}"
            )
        room = joined.room_id
        # The config may still name a room upgraded since: follow its tombstones.
        for _ in range(MAX_UPGRADES):
            tombstone = await client.room_get_state_event(room, "m.room.tombstone")
            successor = ""
            if isinstance(tombstone, RoomGetStateEventResponse):
                successor = str(tombstone.content.get("replacement_room", ""))
            if not successor or not await self._move_experts_room(room, successor):
                break
            room = successor
        log.info("matrix: in the experts room %s", room)
        return room

    async def _move_experts_room(self, old: str, new: str) -> bool:
        """Follow an upgrade of the experts' room to ``new``; False if it cannot be joined."""
        joined = await self._require_client().join(new)
        if isinstance(joined, JoinError):
            self._successor = new
            log.warning(
                "matrix: the experts room %s was upgraded to %s, which the bot cannot join "
                "(%s): invite it there; until then it stays in %s",
                old,
                new,
                joined.message,
                old,
            )
            return False
        self._successor = ""
        self.experts_room_id = joined.room_id
        log.info("matrix: the experts room %s was upgraded; now in %s", old, new)
        return True

    async def _skip_backlog(self) -> None:
        """Sync once and act on nothing but pending invitations: old messages are history."""
        client = self._require_client()
        # Synapse answers a repeated identical first sync from a cache for two minutes: a
        # stale answer would make the next sync replay everything since. A field unique to
        # this start (servers ignore unknown filter fields) makes the request new.
        first = {"room": {"timeline": {"limit": 1}}, "org.rrm.start": self._instance}
        response = await client.sync(timeout=0, full_state=True, sync_filter=first)
        if isinstance(response, SyncError):
            raise MatrixError(f"first sync failed: {response.message}")
        await self._accept_invites(response)
        await self._key_upkeep()
        await self._remember("next_batch", response.next_batch)

    async def _recall_undecryptable(self) -> None:
        """What an earlier run kept of undecryptable events: waiting ones, senders told."""
        for event_id, room_id, source in json.loads(await self._recall("awaiting_keys") or "[]"):
            self._awaiting_key.remember(event_id, (room_id, source))
        for room_id, sender in json.loads(await self._recall("told_unreadable") or "[]"):
            self._told_unreadable.remember((room_id, sender), None)

    async def _keep_undecryptable(self) -> None:
        """Keep the events waiting for a key and the senders told, for the next run."""
        waiting = [[e, room, source] for e, (room, source) in self._awaiting_key.items()]
        await self._remember("awaiting_keys", json.dumps(waiting))
        await self._remember("told_unreadable", json.dumps(list(self._told_unreadable)))

    async def _recall(self, key: str) -> str | None:
        return await self._state.get(key) if self._state is not None else None

    async def _remember(self, key: str, value: str | None) -> None:
        if self._state is None or not value:
            return
        # The write runs in a thread that cancelling cannot stop: ``stop`` waits for it, so
        # the database is never closed under it.
        write = asyncio.ensure_future(self._state.put(key, value))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        await asyncio.shield(write)

    async def _catch_up(self, since: str) -> SyncResponse:
        """Sync from where the last run stopped: what was sent meanwhile, to be handled."""
        client = self._require_client()
        # Full state, so the rooms' members and names are known again, and the timeline
        # since the stored token only.
        response = await client.sync(
            timeout=0, since=since, full_state=True, sync_filter=SYNC_FILTER
        )
        if isinstance(response, SyncError):
            raise MatrixError(f"first sync failed: {response.message}")
        return response

    async def _sync_forever(self, missed: SyncResponse | None) -> None:
        client = self._require_client()
        if missed is not None:
            try:
                await self._handle_sync(missed)
            except Exception:
                log.exception("matrix: handling what came in while down failed")
        failures = 0
        while True:
            try:
                response = await client.sync(timeout=self._sync_timeout_ms, sync_filter=SYNC_FILTER)
            except Exception as error:  # network trouble: nio raises aiohttp's errors
                response = SyncError(repr(error))
            if isinstance(response, SyncError):
                failures += 1
                delay = min(2**failures, 60)
                log.warning("matrix sync failed (%s); retrying in %s s", response.message, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            try:
                await self._handle_sync(response)
            except Exception:
                log.exception("matrix: handling a sync failed")

    def _sync_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("matrix sync stopped", exc_info=task.exception())

    async def _handle_sync(self, response: SyncResponse) -> None:
        async with self._handling:
            await self._accept_invites(response)
            # Keys before events: replies into encrypted rooms need the members' devices.
            await self._key_upkeep()
            self._note_gaps(response)
            late = (
                self._decrypted_late() if response.to_device_events and self._awaiting_key else []
            )
            if self._inbox is not None:
                # The events and the token that confirms them, all or nothing: a crash after
                # this handles them from the inbox; before it, the next sync brings them again.
                stored = _stored(response) + late
                await self._inbox.store(stored, ("next_batch", response.next_batch))
                if late:
                    await self._keep_undecryptable()
                self._note_departures(response)
                await self._handle_stored()
                return
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    await self._on_event_logged(room_id, event)
            for found in late:
                await self._handle_payload(found.payload)
            self._note_departures(response)
            # Without an inbox the token is stored once the events are handled: a crash
            # before this replays them, and the core's receipts make the replay change nothing.
            await self._remember("next_batch", response.next_batch)

    async def _handle_stored(self) -> None:
        """Hand the inbox's unhandled events to the core, oldest first, each once."""
        assert self._inbox is not None
        await self._inbox.drain(self._handle_payload)

    async def _handle_payload(self, payload: dict[str, Any]) -> None:
        source = payload["event"]
        event = (
            Event.parse_decrypted_event(source)
            if payload.get("decrypted")
            else Event.parse_event(source)
        )
        if isinstance(event, MegolmEvent):
            # Stored undecrypted: its key may have come since.
            event = self._decrypt(payload["room_id"], event)
        if isinstance(event, Event):
            await self._on_event(payload["room_id"], event)

    def _decrypt(self, room_id: str, event: MegolmEvent) -> Event:
        client = self._require_client()
        event.room_id = room_id
        try:
            decrypted = client.decrypt_event(event)
        except Exception:  # nio raises EncryptionError and LocalProtocolError alike
            return event
        return decrypted if isinstance(decrypted, Event) else event

    def _decrypted_late(self) -> list[NewEvent]:
        """Events that could not be decrypted and can now: their key came since."""
        found = []
        for event_id, (room_id, source) in list(self._awaiting_key.items()):
            event = Event.parse_event(source)
            if not isinstance(event, MegolmEvent):
                continue
            decrypted = self._decrypt(room_id, event)
            if isinstance(decrypted, MegolmEvent):
                continue
            del self._awaiting_key[event_id]
            log.info("matrix: event %s in %s decrypted once its key came", event_id, room_id)
            payload = {"room_id": room_id, "event": decrypted.source, "decrypted": True}
            # Another id in the inbox than the undecryptable event's, already stored.
            found.append(NewEvent(f"{event_id}#decrypted", room_id, payload))
        return found

    async def _key_upkeep(self) -> None:
        try:
            await key_upkeep(self._require_client())
        except Exception as error:  # retried after the next sync
            log.warning("matrix: encryption key upkeep failed: %s", error)

    def _note_gaps(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            if info.timeline.limited and room_id not in self._joined_now:
                log.warning("matrix: gap in %s: older events of this sync were skipped", room_id)
            self._joined_now.discard(room_id)

    async def _on_event_logged(self, room_id: str, event: Event) -> None:
        try:
            await self._on_event(room_id, event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("matrix event %s in %s failed", event.event_id, room_id)

    async def _accept_invites(self, response: SyncResponse) -> None:
        client = self._require_client()
        for room_id in response.rooms.invite:
            joined = await client.join(room_id)
            if isinstance(joined, JoinError):
                log.warning("matrix: cannot join %s: %s", room_id, joined.message)
            else:
                self._joined_now.add(room_id)
                log.info("matrix: joined %s on invitation", room_id)
                if room_id == self._successor:
                    await self._move_experts_room(self.experts_room_id, room_id)

    def _note_departures(self, response: SyncResponse) -> None:
        if self.experts_room_id in response.rooms.leave:
            log.error(
                "matrix: the bot is no longer in the experts room %s (removed, banned or it "
                "left): questions cannot reach the experts until it is invited back",
                self.experts_room_id,
            )

    async def _on_event(self, room_id: str, event: Event) -> None:
        in_space = room_id == self.experts_room_id
        if in_space and isinstance(event, RoomUpgradeEvent) and event.replacement_room:
            await self._move_experts_room(room_id, event.replacement_room)
            return
        content = event.source.get("content", {})
        relation = read_relation(content)
        if in_space:
            self._note_thread(event.event_id, relation)
        if event.sender == self.user_id:
            return
        if isinstance(event, (MegolmEvent, UnknownEncryptedEvent)):
            await self._undecryptable(room_id, event, relation, in_space)
            return
        if isinstance(event, RedactionEvent):
            # The core tells the asker when an expert takes back a relayed answer.
            await self._hand_over(
                self._event(room_id, event, space=in_space, redacts=event.redacts)
            )
            return
        if isinstance(event, ReactionEvent):
            if not in_space:
                await self._react(room_id, event)
            return
        if isinstance(event, RoomMessageNotice) or not isinstance(
            event, (RoomMessageText, RoomMessageMedia, RoomEncryptedMedia)
        ):
            return  # notices are other bots talking; state events are not messages
        await self._hand_over(await self._inbound(room_id, event, content, relation, in_space))

    async def _inbound(
        self,
        room_id: str,
        event: RoomMessageText | RoomMessageMedia | RoomEncryptedMedia,
        content: dict[str, Any],
        relation: Relation,
        in_space: bool,
    ) -> Inbound:
        edited = relation.replaces is not None
        files: tuple[Attachment, ...] = ()
        formatting: tuple[Span, ...] = ()
        if isinstance(event, (RoomMessageMedia, RoomEncryptedMedia)):
            text, attachment = "", content.get("msgtype", "m.file")
            files = read_files(content, self.name)
        elif edited:
            new = content.get("m.new_content")
            new = new if isinstance(new, dict) else {}
            body = new.get("body")
            text, attachment = (body if isinstance(body, str) else event.body), None
            text, formatting = _formatted(new, text)
        else:
            text, attachment = event.body, None
            if relation.reply_to is not None:
                text = strip_reply_fallback(text)
            text, formatting = _formatted(content, text)
        thread_id = None
        if in_space:
            thread_id = await self._thread_for(room_id, relation)
        elif not edited and (number := button_number(text)) is not None:
            action = self._take_button(room_id, None, number)
            if action is not None:
                return self._event(room_id, event, action=action)
        return self._event(
            room_id,
            event,
            text=text,
            space=in_space,
            thread_id=thread_id,
            reply_to=relation.reply_to,
            edited=edited,
            attachment=attachment,
            attachments=files,
            formatting=formatting,
        )

    def _event(self, room_id: str, event: Event, **fields: Any) -> Inbound:
        client = self._require_client()
        room = client.rooms.get(room_id)
        name = room.user_name(event.sender) if room is not None else None
        return Inbound(
            channel=self.name,
            event_id=event.event_id,
            sender_id=event.sender,
            chat_id=room_id,
            sender_name=name or event.sender.split(":", 1)[0].lstrip("@"),
            message_id=event.event_id,
            **fields,
        )

    async def _react(self, room_id: str, event: ReactionEvent) -> None:
        number = button_number(event.key)
        action = self._take_button(room_id, event.reacts_to, number) if number else None
        if action is not None:
            await self._hand_over(self._event(room_id, event, action=action))

    def _take_button(self, room_id: str, target: str | None, number: int) -> str | None:
        """The action of choice ``number`` under the room's last message with choices.

        A choice is taken once: a later "2" is a message again, not a second press (unless
        the core says the button keeps the choices, as opening a fiche does).
        """
        event_id, buttons = self._buttons.get(room_id, ("", ()))
        if not buttons or (target is not None and target != event_id):
            return None
        if not 1 <= number <= len(buttons):
            return None
        action = buttons[number - 1].action
        if not keeps_choices(action):
            del self._buttons[room_id]
        return action

    async def _thread_for(self, room_id: str, relation: Relation) -> str | None:
        """The thread root of a message in the experts' room, or None outside threads."""
        if relation.thread_root:
            return str(relation.thread_root)
        target = relation.replaces or relation.reply_to
        if target is None:
            return None
        if target in self._thread_of:
            return self._thread_of[target]
        if relation.replaces:
            # An edit names the message it corrects, not its thread: ask the homeserver.
            found = await self._require_client().room_get_event(room_id, target)
            if isinstance(found, RoomGetEventResponse):
                root = read_relation(found.event.source.get("content", {})).thread_root
                if root:
                    return root
            return None
        # A plain reply from a client without threads: to a thread's root, or into it.
        return target

    def _note_thread(self, event_id: str, relation: Relation) -> None:
        root = relation.thread_root
        if root is None and relation.reply_to is not None:
            root = self._thread_of.get(relation.reply_to)
        if root is not None and relation.replaces is None:
            self._thread_of.remember(event_id, root)
            self._latest_in_thread.remember(root, event_id)

    def _encrypted(self, room_id: str) -> bool:
        room = self._require_client().rooms.get(room_id)
        return bool(room is not None and room.encrypted)

    async def _undecryptable(
        self, room_id: str, event: Event, relation: Relation, in_space: bool
    ) -> None:
        """Count it, ask the sender's devices for its key, and tell the sender once."""
        self.undecryptable += 1
        log.warning(
            "matrix: cannot decrypt event %s from %s in %s", event.event_id, event.sender, room_id
        )
        if isinstance(event, MegolmEvent):
            # Read as soon as its key comes (the sender's app may share it late).
            self._awaiting_key.remember(event.event_id, (room_id, event.source))
            with contextlib.suppress(Exception):  # already asked, or no session to ask about
                await self._require_client().request_room_key(event)
        told = (room_id, event.sender) in self._told_unreadable
        self._told_unreadable.remember((room_id, event.sender), None)
        await self._keep_undecryptable()
        if told:
            return
        thread_id = await self._thread_for(room_id, relation) if in_space else None
        notice = self._event(room_id, event, space=in_space, thread_id=thread_id, unreadable=True)
        # Its own id: the event itself is handed over again if it is decrypted later.
        await self._hand_over(dataclasses.replace(notice, event_id=f"{event.event_id}#unreadable"))

    async def _hand_over(self, inbound: Inbound) -> None:
        assert self._deliver is not None
        await self._deliver(inbound)

    async def send(self, delivery: Delivery) -> Sent:
        """Send to a direct room, or open or continue a question's thread in the experts room."""
        room_id = await self._room_for(delivery.chat_id) if delivery.chat_id else ""
        room_id = room_id or self.experts_room_id
        text, spans, files = name_files(
            delivery.text,
            delivery.formatting,
            delivery.attachments,
            lambda a: a.channel == self.name,
        )
        content = message_content(
            text,
            title=delivery.thread_title if delivery.opens_thread else None,
            mentions=delivery.mentions,
            buttons=delivery.buttons,
            formatting=spans,
        )
        # A question's thread, or in the experts' room the thread a command came from.
        root = delivery.thread_id
        if root and not delivery.opens_thread:
            content["m.relates_to"] = thread_relation(root, self._latest_in_thread.get(root, root))
        tx_id = f"rrm-{self._tx_prefix}-{delivery.outbox_id}"
        event_id = await self._send_event(room_id, "m.room.message", content, tx_id)
        encrypted = self._encrypted(room_id)
        for index, file in enumerate(files):
            # The same transaction ids on a retry: a file already sent is not sent twice.
            carried = await file_content(self._require_client(), file, encrypted)
            if root and not delivery.opens_thread:
                carried["m.relates_to"] = thread_relation(root, event_id)
            await self._send_event(room_id, "m.room.message", carried, f"{tx_id}-f{index}")
        if delivery.opens_thread:
            self._thread_of.remember(event_id, event_id)
            return Sent(event_id, thread_id=event_id, chat_id=room_id)
        if root and not delivery.opens_thread:
            self._thread_of.remember(event_id, root)
            self._latest_in_thread.remember(root, event_id)
        if delivery.buttons:
            self._buttons[room_id] = (event_id, delivery.buttons)
            await self._offer_reactions(room_id, event_id, len(delivery.buttons), tx_id)
        return Sent(event_id)

    async def _room_for(self, chat_id: str) -> str:
        """A room id: ``chat_id`` itself, or a direct room with the person it names.

        The directory knows experts and coordinators by user id only, until they write to
        the bot; a message to one of them goes to a direct room, found or created. A direct
        room the other person left stands for them: the message goes to another room with
        them (one they opened since, or a new one the bot invites them to).
        """
        if not chat_id.startswith("@"):
            person = await self._departed(chat_id)
            if not person:
                return chat_id
            chat_id = person
        if self._direct_rooms.get(chat_id) in self._require_client().rooms:
            return self._direct_rooms[chat_id]
        client = self._require_client()
        pair = {self.user_id, chat_id}
        for room in client.rooms.values():
            if (
                room.room_id != self.experts_room_id
                and set(room.users) | set(room.invited_users) == pair
            ):
                self._direct_rooms[chat_id] = room.room_id
                return room.room_id
        created = await client.room_create(
            is_direct=True,
            invite=[chat_id],
            preset=RoomPreset.trusted_private_chat,
            initial_state=[ENCRYPTION],
        )
        if isinstance(created, RoomCreateError):
            raise MatrixError(f"cannot open a direct room with {chat_id}: {created.message}")
        room_id = str(created.room_id)
        # Known before the next sync brings it, so that the first message can be encrypted
        # for the invited person's devices.
        room = MatrixRoom(room_id, self.user_id, encrypted=True)
        room.add_member(self.user_id, None, None)
        room.add_member(chat_id, None, None, invited=True)
        room.members_synced = True
        client.rooms[room_id] = room
        client.encrypted_rooms.add(room_id)
        if client.olm is not None:
            client.olm.users_for_key_query.add(chat_id)
            await key_upkeep(client)
        self._direct_rooms[chat_id] = room_id
        log.info("matrix: opened the direct room %s with %s", room_id, chat_id)
        return room_id

    async def _departed(self, room_id: str) -> str:
        """The person who left the direct room ``room_id``, leaving the bot alone; or ""."""
        room = self._require_client().rooms.get(room_id)
        if room is None or room_id == self.experts_room_id or set(room.users) != {self.user_id}:
            return ""
        if room_id in self._left_by:
            return self._left_by[room_id]
        state = await self._require_client().room_get_state(room_id)
        if not isinstance(state, RoomGetStateResponse):
            return ""
        gone = [
            str(event.get("state_key"))
            for event in state.events
            if event.get("type") == "m.room.member"
            and event.get("state_key") != self.user_id
            and event.get("content", {}).get("membership") == "leave"
        ]
        if len(gone) != 1:
            return ""  # not a direct room with one person
        self._left_by[room_id] = gone[0]
        log.info("matrix: %s left %s; writing to them in another room", gone[0], room_id)
        return gone[0]

    async def _offer_reactions(self, room_id: str, event_id: str, count: int, tx_id: str) -> None:
        """React with 1️⃣ 2️⃣ … so a choice is one tap; the numbered list stays the fallback."""
        for index, key in enumerate(KEYCAPS[:count]):
            relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
            try:
                await self._send_event(
                    room_id, "m.reaction", {"m.relates_to": relates}, f"{tx_id}-r{index}"
                )
            except Exception as error:
                log.warning("matrix: reaction under %s not sent: %s", event_id, error)
                return

    async def _send_event(
        self, room_id: str, event_type: str, content: dict[str, Any], tx_id: str
    ) -> str:
        """Send one event; wait out rate limits a few times, then raise for the outbox."""
        client = self._require_client()
        if room_id not in client.rooms:
            await self._know_room(room_id)

        async def once() -> str:
            try:
                # Room keys go to every device of the room's members (docs/matrix.md).
                response = await client.room_send(
                    room_id, event_type, content, tx_id=tx_id, ignore_unverified_devices=True
                )
            except LocalProtocolError as refused:
                raise MatrixError(f"{room_id}: {refused}") from None
            if isinstance(response, RoomSendResponse):
                return str(response.event_id)
            assert isinstance(response, ErrorResponse)
            code = str(response.status_code or "")
            if code in PERMANENT_ERRORS:
                raise PermanentSendError(f"{room_id}: {code} {response.message}")
            error = MatrixError(f"{room_id}: {code} {response.message}")
            if code in ("M_LIMIT_EXCEEDED", "429"):
                raise Transient(error, (response.retry_after_ms or 1000) / 1000)
            raise error

        return await retry(once, self._backoff, channel=self.name)

    async def _know_room(self, room_id: str) -> None:
        """Learn a room joined since the last sync: whether it is encrypted, and its members.

        Encrypting needs both, and the sync that would bring them may be a while away.
        """
        client = self._require_client()
        encryption = await client.room_get_state_event(room_id, "m.room.encryption")
        if isinstance(encryption, ErrorResponse) and encryption.status_code != "M_NOT_FOUND":
            code = str(encryption.status_code or "")
            error = f"{room_id}: {code} {encryption.message}"
            raise PermanentSendError(error) if code == "M_FORBIDDEN" else MatrixError(error)
        encrypted = isinstance(encryption, RoomGetStateEventResponse)
        client.rooms.setdefault(room_id, MatrixRoom(room_id, self.user_id, encrypted=encrypted))
        if encrypted:
            client.encrypted_rooms.add(room_id)
        await client.joined_members(room_id)

    def _require_client(self) -> AsyncClient:
        if self.client is None:
            raise RuntimeError("the Matrix channel is not started")
        return self.client


def _formatted(content: dict[str, Any], plain: str) -> tuple[str, tuple[Span, ...]]:
    """The text and formatting of a message's HTML, when it has some; else ``plain``."""
    formatted = content.get("formatted_body")
    if content.get("format") != HTML_FORMAT or not isinstance(formatted, str):
        return plain, ()
    text, spans = read_html(formatted)
    return (text, spans) if text else (plain, ())


def _stored(response: SyncResponse) -> list[NewEvent]:
    """A sync's timeline events as the inbox keeps them: the room and the event as read.

    An encrypted event is kept decrypted when it could be (what was read stays readable
    after a restart), and as it came when it could not (its key may come later).
    """
    return [
        NewEvent(
            event.event_id,
            room_id,
            {"room_id": room_id, "event": event.source}
            | ({"decrypted": True} if getattr(event, "decrypted", False) else {}),
        )
        for room_id, info in response.rooms.join.items()
        for event in info.timeline.events
    ]
