"""Every chat command declared once: who may use it, where, its arguments and its help text.

``/help`` for each role, Telegram's command menus and docs/experts.md's table come from here;
tests/handlers/test_commands.py checks the dispatch tables and the docs against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ground.vocabulary import Role
from handlers.context import Turn

__all__ = ["REGISTRY", "Command", "experts_menu", "help_text", "menu", "show_help"]

ASKER, EXPERT, COORDINATOR = Role.ASKER, Role.EXPERT, Role.COORDINATOR
STAFF = frozenset({EXPERT, COORDINATOR})
EVERYONE = frozenset({ASKER, EXPERT, COORDINATOR})


PRIVATE, SPACE, THREAD = "private", "space", "thread"
ANYWHERE = frozenset({PRIVATE, SPACE})


@dataclass(frozen=True)
class Command:
    """One command, who may use it and where.

    Places: "private" (a chat with the bot), "space" (anywhere in the experts' group or room),
    "thread" (a question's thread there).
    """

    name: str
    roles: frozenset[str]
    places: frozenset[str]
    arguments: str
    help: str
    # Listed in /help and the menus (/start is the chat's opening, not something to look up).
    listed: bool = True

    def usage(self) -> str:
        """How it is written: "/resolve N"."""
        return f"/{self.name} {self.arguments}".rstrip()


_ASK = frozenset({PRIVATE})
_COORD = frozenset({COORDINATOR})
_IN_THREAD = frozenset({THREAD})

REGISTRY: tuple[Command, ...] = (
    Command("start", EVERYONE, _ASK, "", "this list", listed=False),
    Command("help", EVERYONE, ANYWHERE, "", "this list"),
    Command("status", EVERYONE, _ASK, "", "your questions and where they stand"),
    Command("resolve", EVERYONE, _ASK, "N", "mark question N as settled"),
    Command("urgent", EVERYONE, _ASK, "N", "mark question N as urgent: a shorter deadline"),
    Command("new", EVERYONE, _ASK, "", "start a new question instead of adding to the current one"),
    Command("language", EVERYONE, _ASK, "xx", "choose the language I write to you in"),
    Command("away", STAFF, ANYWHERE, "[off]", "no new questions for now (/away off when back)"),
    Command("claim", STAFF, _IN_THREAD, "", "take this question"),
    Command("pass", STAFF, _IN_THREAD, "", "hand this question on to the next expert"),
    Command("resolve", STAFF, _IN_THREAD, "", "close this question"),
    Command("note", STAFF, _IN_THREAD, "TEXT", "an internal note: kept, never sent to the asker"),
    Command("fiche", STAFF, _IN_THREAD, "ID", "answer the asker with a fiche, in their language"),
    Command(
        "verdict",
        STAFF,
        _IN_THREAD,
        "right/wrong [FICHE]",
        "say whether the fiche the asker was shown was right",
    ),
    Command("similar", STAFF, _IN_THREAD, "N", "send the asker the answer question N got"),
    Command("tofiche", STAFF, _IN_THREAD, "[TITLE]", "draft a fiche from this resolved question"),
    Command("open", _COORD, ANYWHERE, "", "the routed questions still waiting"),
    Command("reassign", _COORD, ANYWHERE, "N EXPERT", "give question N to an expert"),
    Command("topic", _COORD, ANYWHERE, "N TOPIC", "set question N's topic and route it again"),
    Command("priority", _COORD, ANYWHERE, "N LEVEL", "set question N's priority"),
    Command("overdue", _COORD, ANYWHERE, "", "the questions past a deadline"),
    Command("stats", _COORD, ANYWHERE, "[7d]", "figures for a period"),
    Command("dashboard", _COORD, ANYWHERE, "", "a one-time link to the dashboard"),
    Command("drafts", _COORD, ANYWHERE, "", "the draft fiches waiting for review"),
    Command("draft", _COORD, ANYWHERE, "N [FIELD TEXT]", "show draft fiche N, or change a field"),
    Command("approve", _COORD, ANYWHERE, "N", "make draft fiche N a fiche the bot answers from"),
    Command("reject", _COORD, ANYWHERE, "N", "reject draft fiche N"),
)


def menu(role: str, place: str) -> list[Command]:
    """The listed commands ``role`` can use in ``place``, in the registry's order."""
    return [c for c in REGISTRY if c.listed and role in c.roles and place in c.places]


def experts_menu() -> list[Command]:
    """What every expert can use in the experts' group (its menu is shown to all members)."""
    seen: dict[str, Command] = {}
    for command in [*menu(EXPERT, THREAD), *menu(EXPERT, SPACE)]:
        seen.setdefault(command.name, command)
    return list(seen.values())


def help_text(turn: Turn) -> str:
    """The sender's commands in their language; staff also get the thread's commands."""
    role = turn.person.role
    lines = [turn.t("Just write your question. Commands:")] if role == ASKER else []
    if role != ASKER:
        lines.append(turn.t("In a chat with me:"))
    lines += [f"{c.usage()} — {turn.t(c.help)}" for c in menu(role, PRIVATE)]
    if role != ASKER:
        lines += [
            "",
            turn.t("In a question's thread (a message that is not a command goes to the asker):"),
        ]
        lines += [f"{c.usage()} — {turn.t(c.help)}" for c in menu(role, THREAD)]
    return "\n".join(lines)


def show_help(turn: Turn, _args: list[str]) -> None:
    """List the sender's commands."""
    turn.reply(help_text(turn))
