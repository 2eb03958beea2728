"""Who may ask and how fast: the allowlist, invitation codes and the per-asker question limit."""

from __future__ import annotations

import datetime as dt
import hmac

from ground.storage import privacy
from ground.vocabulary import Role
from handlers.context import Turn

__all__ = ["admit", "may_open_question"]

RATE_WINDOW = dt.timedelta(minutes=1)


def _admitted(turn: Turn) -> bool:
    access = turn.config.access
    if access.open or turn.person.role in (Role.EXPERT, Role.COORDINATOR):
        return True
    account = f"{turn.event.channel}:{turn.event.sender_id}"
    if account in access.allowlist:
        return True
    return privacy.access_granted(turn.session, turn.person.id)


def _valid_code(given: str, codes: tuple[str, ...]) -> bool:
    # Compare every code in constant time, so timing tells nothing about them.
    found = False
    for code in codes:
        found |= hmac.compare_digest(given.encode(), code.encode())
    return found


def admit(turn: Turn, command: str | None, args: list[str]) -> bool:
    """Whether the sender may go on; if not, answer them (and take an invitation code)."""
    if _admitted(turn):
        return True
    codes = turn.config.access.invitation_codes
    if command == "start" and args and codes:
        if _valid_code(args[0], codes):
            privacy.grant_access(turn.session, turn.person.id, turn.now)
            turn.reply(
                turn.t("Welcome! Your invitation code is accepted. You can now ask your questions.")
            )
        else:
            turn.reply(
                turn.t(
                    "This invitation code is not valid. Please check it, or ask the person "
                    "who invited you for a new one."
                )
            )
        return False
    if codes:
        turn.reply(
            turn.t(
                "This service is open to invited participants. If you have an invitation "
                "code, send /start followed by the code."
            )
        )
    else:
        turn.reply(
            turn.t(
                "This service is open to registered participants only. Please ask the "
                "network's coordinators to add you."
            )
        )
    return False


def may_open_question(turn: Turn, text: str) -> bool:
    """Whether the sender may open one more question now; if not, ask them to wait.

    The refusal is in the language the question is written in (as a question taken in would
    set it), and quotes the question back, so the asker knows exactly what to send again.
    """
    limit = turn.config.access.questions_per_minute
    if not limit or turn.person.role != Role.ASKER:
        return True
    if privacy.questions_since(turn.session, turn.person.id, turn.now - RATE_WINDOW) < limit:
        return True
    if not turn.person.language_explicit:
        turn.learn_language(
            turn.services.triage.detector.detect(
                text, preferred=turn.person.language, hint=turn.event.language_hint
            )
        )
    wait = turn.t(
        "You are sending questions faster than I can take them in (at most {limit} a "
        "minute). Please wait a minute and send this question again.",
        limit=limit,
    )
    turn.reply(f"{wait}\n\n{text}")
    return False
