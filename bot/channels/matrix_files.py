"""Files on Matrix, plain or end-to-end encrypted: how they are read and sent on.

A plain file is named by its ``mxc://`` URI. An encrypted one (``file`` in the content) is
named by that object as JSON: its URI with the key, IV and hash needed to read it. A file
sent into an encrypted room is encrypted and uploaded again; a plain file into a plain room
is sent by reference.
"""

from __future__ import annotations

import io
import json
from typing import Any

from nio import AsyncClient, DownloadResponse, EncryptionError, UploadResponse
from nio.crypto.attachments import decrypt_attachment

from handlers.events import Attachment

__all__ = ["FILE_KINDS", "FileError", "file_content", "read_files"]

# Matrix message types of files ↔ the core's attachment kinds.
FILE_KINDS = {"m.image": "photo", "m.file": "document", "m.video": "video", "m.audio": "audio"}
FILE_TYPES = {"photo": "m.image", "video": "m.video", "audio": "m.audio", "voice": "m.audio"}


class FileError(Exception):
    """A file could not be downloaded, decrypted or uploaded."""


def read_files(content: dict[str, Any], channel: str) -> tuple[Attachment, ...]:
    """The file of an ``m.image``/``m.file``/… message, plain or encrypted."""
    url = content.get("url")
    encrypted = content.get("file")
    if isinstance(encrypted, dict) and str(encrypted.get("url", "")).startswith("mxc://"):
        ref = json.dumps(encrypted, sort_keys=True)
    elif isinstance(url, str) and url.startswith("mxc://"):
        ref = url
    else:
        return ()  # malformed: nothing to relay
    kind = FILE_KINDS.get(str(content.get("msgtype")), "document")
    body = str(content.get("body") or "")
    filename = content.get("filename")
    # With a ``filename``, the body is a caption; without one, the body is the file's name.
    name, caption = (filename, body if body != filename else "") if filename else (body, "")
    info = content.get("info")
    mimetype = str(info.get("mimetype", "")) if isinstance(info, dict) else ""
    return (Attachment(kind, channel, ref, caption, str(name), mimetype),)


async def file_content(client: AsyncClient, file: Attachment, encrypted: bool) -> dict[str, Any]:
    """The content of a message carrying ``file`` into a room (``encrypted`` or not)."""
    content: dict[str, Any] = {
        "msgtype": FILE_TYPES.get(file.kind, "m.file"),
        "body": file.name or file.kind,
    }
    if file.name:
        content["filename"] = file.name
    if file.mimetype:
        content["info"] = {"mimetype": file.mimetype}
    sealed = file.ref.startswith("{")
    if not sealed and not encrypted:
        content["url"] = file.ref
        return content
    data = await _download(client, file.ref)
    response, keys = await client.upload(
        lambda *_: io.BytesIO(data),
        content_type=file.mimetype or "application/octet-stream",
        filename=file.name or None,
        encrypt=encrypted,
        filesize=len(data),
    )
    if not isinstance(response, UploadResponse):
        raise FileError(f"upload of {file.name or file.kind} failed: {response}")
    if encrypted:
        content["file"] = {**(keys or {}), "url": response.content_uri}
    else:
        content["url"] = response.content_uri
    return content


async def _download(client: AsyncClient, ref: str) -> bytes:
    """The file's bytes, decrypted when ``ref`` is an encrypted file's JSON."""
    sealed = json.loads(ref) if ref.startswith("{") else None
    url = sealed["url"] if sealed else ref
    response = await client.download(mxc=url)
    if not isinstance(response, DownloadResponse):
        raise FileError(f"download of {url} failed: {response}")
    body = response.body if isinstance(response.body, bytes) else b""
    if sealed is None:
        return body
    try:
        return bytes(
            decrypt_attachment(body, sealed["key"]["k"], sealed["hashes"]["sha256"], sealed["iv"])
        )
    except (EncryptionError, KeyError, TypeError, ValueError) as error:
        raise FileError(f"{url} cannot be decrypted: {error}") from None
