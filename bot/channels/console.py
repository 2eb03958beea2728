"""The local console channel: one terminal plays askers, experts and coordinators in turn."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from bot.channels.base import Deliver
from handlers.events import Delivery, Inbound, Sent

__all__ = ["SPACE", "ConsoleChannel", "file_lines", "read_sent_log", "stdin_lines"]

SPACE = "experts"
HELP = """Console commands:
  /as NAME        speak as NAME: an expert or coordinator from the config (for example
                  /as claire), or any other name to be an asker
  #N text         as an expert: write in the thread of question N
  1, 2, 3 …       press a button under the last message you received
  /quit           leave
Everything else is sent to the bot as a chat message."""


class ConsoleChannel:
    """Reads lines, turns them into inbound events, and prints what the bot sends.

    ``staff`` maps console names of experts and coordinators to their display names; any
    other name speaks as an asker.

    A replayed script (``script_id``) gives each line the event id ``script_id:line number``,
    so running the same script again after a crash takes in only the lines not yet handled.
    ``sent_log`` is an append-only file with one JSON line per message sent, holding its
    outbox id; a message already in it is not printed again, which makes a retried send
    idempotent as Telegram's and Matrix's transaction ids do.
    """

    name = "console"
    replies_in_background = False

    def __init__(
        self,
        lines: AsyncIterator[str],
        out: TextIO,
        staff: Mapping[str, str],
        *,
        speaker: str = "you",
        script_id: str | None = None,
        sent_log: Path | None = None,
    ) -> None:
        self._lines = lines
        self._out = out
        self._staff = dict(staff)
        self.speaker = speaker
        self._buttons: dict[str, list[tuple[str, str]]] = {}
        self._script_id = script_id
        self._line_numbers = itertools.count(1)
        self._sent_log = sent_log
        self._logged = read_sent_log(sent_log) if sent_log else {}
        self._message_ids = itertools.count(len(self._logged) + 1)
        self._task: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()

    async def start(self, deliver: Deliver) -> None:
        """Begin reading lines in the background."""
        self._print(
            f"RRM console. You are {self._who()}. Type /help for the console's commands "
            "and the bot's."
        )
        self._task = asyncio.create_task(self._read(deliver), name="console-reader")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def send(self, delivery: Delivery) -> Sent:
        """Print a message: to a person, or as a block in the experts' space."""
        if delivery.outbox_id in self._logged:
            return self._logged[delivery.outbox_id]  # sent before a crash: not again
        sent = self._print_delivery(delivery)
        if self._sent_log is not None and delivery.outbox_id > 0:
            self._log_sent(delivery, sent)
        return sent

    def _print_delivery(self, delivery: Delivery) -> Sent:
        message_id = f"c{next(self._message_ids)}"
        if delivery.chat_id is None:
            thread = delivery.thread_id or str(delivery.question_id)
            title = delivery.thread_title or f"#{thread}"
            mentions = " ".join(f"@{handle}" for handle, _ in delivery.mentions)
            heading = (
                f"experts' space · thread {title}"
                if delivery.opens_thread
                else f"experts' space · thread #{thread}"
            )
            self._block(heading + (f" · {mentions}" if mentions else ""), delivery.text)
            return Sent(message_id, thread_id=thread, chat_id=SPACE)
        text = delivery.text
        if delivery.attachments:
            # A terminal shows no files: it names them under the text.
            text += "\n" + "\n".join(a.label() for a in delivery.attachments)
        self._block(f"to {delivery.chat_id}", text)
        if delivery.buttons:
            self._buttons[delivery.chat_id] = [(b.label, b.action) for b in delivery.buttons]
            self._print(
                "  " + "   ".join(f"[{i}] {b.label}" for i, b in enumerate(delivery.buttons, 1))
            )
        return Sent(message_id)

    def _log_sent(self, delivery: Delivery, sent: Sent) -> None:
        assert self._sent_log is not None
        record = {
            "outbox_id": delivery.outbox_id,
            "message_id": sent.message_id,
            "thread_id": sent.thread_id,
            "space": sent.chat_id,
            "to": delivery.chat_id,
            "question_id": delivery.question_id,
            "text": delivery.text,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        # One write on an O_APPEND descriptor: a killed process leaves whole lines only.
        descriptor = os.open(self._sent_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
        self._logged[delivery.outbox_id] = sent

    async def _read(self, deliver: Deliver) -> None:
        try:
            async for raw in self._lines:
                line = raw.rstrip("\r\n")
                if line.strip() in ("/quit", "/exit"):
                    break
                event = self._event(line)
                if event is not None:
                    await deliver(event)
        finally:
            self.finished.set()

    def _event(self, line: str) -> Inbound | None:
        line_number = next(self._line_numbers)
        stripped = line.strip()
        if stripped.startswith("/as"):
            name = stripped[3:].strip()
            if name:
                self.speaker = name
            self._print(f"You are {self._who()}.")
            return None
        if stripped == "/help":
            self._print(HELP)
        if self._script_id is not None:
            event_id = f"{self._script_id}:{line_number}"
            message_id = f"in-{line_number}"
        else:
            event_id = uuid.uuid4().hex
            message_id = f"in-{event_id[:12]}"
        base: dict[str, Any] = {
            "channel": self.name,
            "event_id": event_id,
            "sender_id": self.speaker,
            "sender_name": self._staff.get(self.speaker, self.speaker),
            "message_id": message_id,
        }
        if stripped.isdigit() and self._buttons.get(self.speaker):
            choices = self._buttons[self.speaker]
            index = int(stripped) - 1
            if 0 <= index < len(choices):
                return Inbound(**base, chat_id=self.speaker, action=choices[index][1])
        if stripped.startswith("#") and self.speaker in self._staff:
            number, _, text = stripped[1:].partition(" ")
            if number.isdigit():
                return Inbound(
                    **base,
                    chat_id=SPACE,
                    space=True,
                    thread_id=number,
                    text=text,
                    names_question=True,
                )
        return Inbound(**base, chat_id=self.speaker, text=line)

    def _who(self) -> str:
        if self.speaker in self._staff:
            return f"{self._staff[self.speaker]} ({self.speaker}, expert side)"
        return f"{self.speaker} (asker)"

    def _block(self, heading: str, text: str) -> None:
        self._print(f"── {heading} ──\n{text}\n")

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


async def stdin_lines() -> AsyncIterator[str]:
    """Lines typed on standard input, read without blocking the event loop or the exit."""
    import codecs
    import sys

    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError):  # replaced by an in-memory stream (tests): read it as is
        while line := await asyncio.to_thread(sys.stdin.readline):
            yield line
        return
    loop = asyncio.get_running_loop()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    while True:
        chunk = await _read_chunk(loop, fd)
        if not chunk:
            if pending:
                yield pending
            return
        pending += decoder.decode(chunk)
        while "\n" in pending:
            line, pending = pending.split("\n", 1)
            yield line + "\n"


async def _read_chunk(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
    """One read of ``fd`` in a daemon thread.

    Not the default executor: asyncio.run waits for its threads at exit, so a pending read
    would hold Ctrl-C until Enter. A raw read holds no lock of sys.stdin's either, which a
    daemon thread must not hold when the interpreter exits.
    """
    import threading

    future: asyncio.Future[bytes] = loop.create_future()

    def read() -> None:
        data, failure = b"", None
        try:
            data = os.read(fd, 65536)
        except OSError as error:
            failure = error
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(_settle, future, data, failure)

    threading.Thread(target=read, name="rrm-stdin", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[bytes], data: bytes, failure: OSError | None) -> None:
    if future.done():
        return
    if failure is not None:
        future.set_exception(failure)
    else:
        future.set_result(data)


def read_sent_log(path: Path) -> dict[int, Sent]:
    """The messages a sent log records, by outbox id (an unfinished last line is ignored)."""
    sent: dict[int, Sent] = {}
    if not path.exists():
        return sent
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        sent[int(record["outbox_id"])] = Sent(
            record["message_id"], thread_id=record.get("thread_id"), chat_id=record.get("space")
        )
    return sent


async def file_lines(path: Path) -> AsyncIterator[str]:
    """The lines of a script file, read without blocking the event loop."""
    with path.open(encoding="utf-8") as handle:
        while True:
            line = await asyncio.to_thread(handle.readline)
            if not line:
                return
            yield line
