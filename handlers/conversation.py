"""The conversation's one entry point: take in an event once, find who sent it, dispatch it."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ground.storage import conversation_repo, repo
from ground.storage.models import Person
from ground.vocabulary import Role
from handlers.access import admit
from handlers.asker_commands import ASKER_COMMANDS, press
from handlers.asking import handle_question_text
from handlers.clean_text import clean_text, cleaned
from handlers.commands import show_help
from handlers.context import Services, Turn
from handlers.deadlines import clocks_changed
from handlers.drafts import DRAFT_COMMANDS, TOFICHE_COMMANDS
from handlers.events import Inbound
from handlers.expert_commands import COORDINATOR_COMMANDS, EXPERT_COMMANDS, unknown_thread
from handlers.notes import addressed_colleague, keep_note
from handlers.relay import relay_to_asker, relay_withdrawal
from handlers.thread_answers import THREAD_ANSWER_COMMANDS
from handlers.verdicts import VERDICT_COMMANDS

__all__ = ["MAX_MESSAGE_CHARS", "Conversation", "Handled", "clean_text"]

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
LETTER_OR_DIGIT = re.compile(r"[^\W_]", re.UNICODE)
UNREADABLE = (
    "I could not decrypt your last message: your app did not share its key with me. Please "
    "send it again. If this keeps happening, let your app send encrypted messages to "
    "unverified sessions too, or verify my session (the coordinators can tell you how)."
)


@dataclass(frozen=True)
class Handled:
    """What handling one event did, as far as the caller needs to know."""

    # The question the event's messages were about (the lowest, if several).
    question_id: int | None = None
    # Deadline steps were planned or moved: the next due instant may have changed.
    clocks_changed: bool = False


class Conversation:
    """Handles inbound events; every effect, replies included, is written in one transaction."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def handle(self, event: Inbound) -> Handled:
        """Take in one event; a redelivered event changes nothing."""
        # The one place events come in: nothing below sees invisible format characters.
        event = cleaned(event)
        services = self.services
        with services.sessions.begin() as session:
            now = services.clock.now()
            if not repo.claim_receipt(session, event.channel, event.event_id, now):
                log.info("duplicate event %s/%s ignored", event.channel, event.event_id)
                return Handled()
            person = self._identify(session, event, now)
            if person is None:
                return Handled()
            turn = Turn(services, session, event, person, now)
            if event.space:
                self._in_space(turn)
            else:
                self._in_private(turn)
            changed = clocks_changed(session)
        for task in turn.after_commit:
            try:
                task()
            except Exception:
                # The change is committed; what failed here the next knowledge reload catches.
                log.exception("work after event %s/%s failed", event.channel, event.event_id)
        return Handled(min(turn.question_ids, default=None), changed)

    def _identify(self, session: Session, event: Inbound, now: dt.datetime) -> Person | None:
        account = repo.find_account(session, event.channel, event.sender_id)
        if account is not None:
            identity, person = account
            if person is not None and not event.space and identity.chat_id != event.chat_id:
                identity.chat_id = event.chat_id
            if (
                person is not None
                and event.space
                and (person.role not in (Role.EXPERT, Role.COORDINATOR) or not person.active)
            ):
                return None
            return person
        if event.space:
            # A stranger in the experts' space gets nothing from the bot.
            return None
        person = conversation_repo.add_asker(session, clean_text(event.sender_name)[:200], now)
        repo.add_identity(
            session,
            person.id,
            event.channel,
            event.sender_id,
            event.chat_id,
            clean_text(event.sender_name)[:200],
        )
        return person

    def _in_space(self, turn: Turn) -> None:
        event = turn.event
        if event.unreadable:
            turn.reply(turn.t(UNREADABLE))
            return
        text = clean_text(event.text)
        command = COMMAND.match(text)
        if command:
            name, args = command.group(1).lower(), (command.group(2) or "").split()
            if name == "note":
                self._note(turn, (command.group(2) or "").strip())
                return
            table = {
                "help": show_help,
                **EXPERT_COMMANDS,
                **THREAD_ANSWER_COMMANDS,
                **TOFICHE_COMMANDS,
                **VERDICT_COMMANDS,
            }
            if turn.person.role == Role.COORDINATOR:
                table.update({**COORDINATOR_COMMANDS, **DRAFT_COMMANDS})
            handler = table.get(name)
            if handler is not None:
                handler(turn, args)
            return
        if event.redacts:
            relay_withdrawal(turn, event.redacts)
            return
        if event.thread_id is None or not (text or event.attachments):
            return  # chatter outside question threads is not for the bot
        thread = repo.find_thread(turn.session, event.channel, event.chat_id, event.thread_id)
        if thread is None and event.names_question:
            unknown_thread(turn)
        elif thread is not None and addressed_colleague(turn, text) is not None:
            # A hand-over to a colleague ("Marco, can you take this one?") is for experts only.
            keep_note(turn, thread, text, "addressed")
        elif thread is not None:
            # Formatting is kept only where cleaning left the text as it was (same indices).
            formatting = event.formatting if text == event.text else ()
            relay_to_asker(turn, thread, text, event.attachments, formatting)

    def _note(self, turn: Turn, text: str) -> None:
        event = turn.event
        thread = (
            repo.find_thread(turn.session, event.channel, event.chat_id, event.thread_id)
            if event.thread_id is not None
            else None
        )
        if thread is None and event.names_question:
            unknown_thread(turn)
            return
        if thread is None:
            turn.reply(turn.t("Use /note inside a question's thread."))
            return
        keep_note(turn, thread, text, "note")

    def _in_private(self, turn: Turn) -> None:
        event = turn.event
        command = COMMAND.match(clean_text(event.text)) if not event.action else None
        name = command.group(1).lower() if command else None
        if not admit(turn, name, (command.group(2) or "").split() if command else []):
            return
        if event.unreadable:
            turn.reply(turn.t(UNREADABLE))
            return
        if event.action:
            press(turn, event.action)
            return
        if event.redacts:
            return  # a withdrawn private message: what it said was already handled
        if event.edited:
            # An edit is not a new question, nor a command given twice.
            turn.reply(
                turn.t(
                    "I do not read changes to messages already sent. To add to or correct "
                    "your question, send a new message."
                )
            )
            return
        text = clean_text(event.text)
        if not text:
            if event.attachment:
                turn.reply(
                    turn.t("I can only read text messages. Please write your question in words.")
                )
            else:
                turn.reply(
                    turn.t("Your message was empty. Please write your question in a few words.")
                )
            return
        if len(text) > MAX_MESSAGE_CHARS:
            turn.reply(
                turn.tn(
                    "Your message is too long ({length} character; the limit is "
                    "{limit}). Please shorten it or send it in parts.",
                    "Your message is too long ({length} characters; the limit is "
                    "{limit}). Please shorten it or send it in parts.",
                    len(text),
                    length=len(text),
                    limit=MAX_MESSAGE_CHARS,
                )
            )
            return
        command = COMMAND.match(text)
        if command:
            self._command(turn, command.group(1).lower(), (command.group(2) or "").split())
            return
        if not LETTER_OR_DIGIT.search(text):
            turn.reply(
                turn.t("I could not find a question in your message. Please write it in words.")
            )
            return
        handle_question_text(turn, text)

    def _command(self, turn: Turn, name: str, args: list[str]) -> None:
        table = dict(ASKER_COMMANDS)
        if turn.person.role in (Role.EXPERT, Role.COORDINATOR):
            table["away"] = EXPERT_COMMANDS["away"]
        if turn.person.role == Role.COORDINATOR:
            table.update({**COORDINATOR_COMMANDS, **DRAFT_COMMANDS})
        if name == "note" and turn.person.role in (Role.EXPERT, Role.COORDINATOR):
            self._note(turn, "")
            return
        handler = table.get(name)
        if handler is None:
            # Other roles' commands get the same answer as unknown ones: no hint they exist.
            turn.reply(
                turn.t(
                    "I do not know the command /{name}. Send /help to see what I can do.", name=name
                )
            )
            return
        handler(turn, args)
