"""The Matrix channel's end-to-end encryption keys: their store on disk and their upkeep.

The keys live in ``matrix.store_path``, one SQLite file per device, readable by the bot's
user only. Room keys are shared with every device of the rooms' members as first seen
(trust on first use): the device store pins each device's signing key, so a changed key
for a known device is refused, and nobody has to verify anybody for questions to flow.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from nio import AsyncClient, KeysQueryError
from nio.api import Api
from nio.store import SqliteStore

__all__ = [
    "STORE",
    "key_upkeep",
    "own_fingerprint",
    "prepare_store",
    "protect_store",
    "remove_store",
    "server_has_keys",
    "store_file",
]

log = logging.getLogger(__name__)

STORE = SqliteStore


def store_file(folder: Path, user_id: str, device_id: str) -> Path:
    """The key store file of one device (as matrix-nio names it)."""
    return folder / f"{user_id}_{device_id}.db"


def prepare_store(folder: Path) -> None:
    """Create the store folder, readable by the bot's user only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)


def protect_store(folder: Path) -> None:
    """Make every file of the store readable and writable by the bot's user only."""
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o600)


def own_fingerprint(client: AsyncClient) -> str:
    """The bot's device signing key (Ed25519), as people compare it when verifying."""
    if client.olm is None:
        return ""
    key = str(client.olm.account.identity_keys["ed25519"])
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


async def server_has_keys(client: AsyncClient, device_id: str) -> bool:
    """Whether the homeserver holds encryption keys of ``device_id`` of the bot's account.

    Asked directly, not through the key store: it tells a first start of a device (no keys
    anywhere yet) from a lost store (keys published, the private half gone).
    """
    method, path, _ = Api.keys_query(client.access_token, {client.user_id})
    body = json.dumps({"device_keys": {client.user_id: [device_id]}})
    response = await client.send(method, path, body)
    if response.status != 200:
        raise KeysQueryError(f"keys query answered {response.status}")
    found = (await response.json()).get("device_keys", {}).get(client.user_id, {})
    return device_id in found


async def key_upkeep(client: AsyncClient) -> None:
    """What a sync leaves to do for encryption: keys to send, upload, query and claim."""
    if client.olm is None:
        return
    await client.send_to_device_messages()
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())


def remove_store(folder: Path, user_id: str, device_id: str) -> None:
    """Delete the store file of a device given up (it holds no keys anybody can use)."""
    path = store_file(folder, user_id, device_id)
    for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if extra.exists():
            os.remove(extra)
