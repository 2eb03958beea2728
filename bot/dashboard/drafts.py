"""The dashboard's drafts page: fiches drafted from answers, edited, approved or rejected.

Every change is a POST carrying the page's CSRF token. An approval embeds the draft (with the
bot's embedder inside ``rrm run``, else one loaded on first use) and, inside ``rrm run``,
tells the running search at once; after an approval on a separate ``rrm dashboard`` the bot
finds it before its next search (handlers/fiche_search.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ground.clock import Clock
from ground.config import Config
from ground.storage import repo
from ground.storage.database import Database
from ground.storage.drafts_repo import get_draft, recent_drafts
from ground.vocabulary import DraftStatus
from handlers.drafts import FIELDS, approval_problem, approve_draft, change_field, reject_draft
from knowledge.drafts import fiche_file_text
from knowledge.embedder import Embedder

__all__ = ["PageTools", "draft_routes"]


class _Refused(Exception):
    """A form that cannot be applied; its message says why (the transaction rolls back)."""


# The form's fields, in the order the page shows them (the body last, in a text area).
FORM_FIELDS = [f for f in FIELDS if f != "body"] + ["body"]


@dataclass(frozen=True)
class PageTools:
    """What the dashboard app lends a page: who is logged in, rendering, refusals, CSRF."""

    user_of: Callable[[Request], str | None]
    page: Callable[..., Response]
    refused: Callable[[Request, int, str], Response]
    csrf_valid: Callable[[Request, Any], bool]


def draft_routes(
    config: Config,
    database: Database,
    clock: Clock,
    tools: PageTools,
    *,
    embedder: Embedder | None = None,
    fiches_changed: Callable[[list[str]], None] | None = None,
) -> list[Route]:
    """``GET /drafts`` lists the drafts; ``POST /drafts/N`` saves, approves or rejects one."""
    loaded: list[Embedder] = [embedder] if embedder is not None else []

    def the_embedder() -> Embedder:
        if not loaded:
            from bot.assembly import embedder_for

            loaded.append(embedder_for(config))
        return loaded[0]

    def listing(request: Request, status: int = 200, **message: str) -> Response:
        user = tools.user_of(request)
        if not user:
            return tools.refused(request, 401, "Please log in to review the drafts.")
        with database.sessions() as session:
            drafts = recent_drafts(session)
            files = {d.id: fiche_file_text(d) for d in drafts}
            return tools.page(
                request,
                "drafts.html",
                status,
                user=user,
                drafts=drafts,
                files=files,
                fields=FORM_FIELDS,
                topics=[t.id for t in config.topics],
                **message,
            )

    def show(request: Request) -> Response:
        return listing(request)

    async def act(request: Request) -> Response:
        # Only reading the form needs the event loop; the rest is database work, kept off it.
        form = await request.form()
        return await run_in_threadpool(answer, request, form)

    def answer(request: Request, form: Any) -> Response:
        user = tools.user_of(request)
        if not user:
            return tools.refused(request, 401, "Please log in to review the drafts.")
        if not tools.csrf_valid(request, form):
            return tools.refused(request, 403, "The form had expired: please try again.")
        number = request.path_params["number"]
        action = str(form.get("action", ""))
        if action not in ("save", "approve", "reject"):
            return PlainTextResponse(f"unknown action {action!r}", status_code=400)
        values = {f: str(form.get(f, "")) for f in FORM_FIELDS if f in form}
        error, notice = review(number, action, values, user)
        if error:
            return listing(request, 400, error=error)
        return listing(request, notice=notice)

    def review(number: int, action: str, values: dict[str, str], user: str) -> tuple[str, str]:
        """Apply one form in one transaction: (error, notice), one of them empty."""
        try:
            with database.sessions.begin() as session:
                notice, approved = _apply(session, number, action, values, user)
        except _Refused as refused:
            return str(refused), ""  # the transaction rolled back: nothing changed
        if approved and fiches_changed is not None:
            fiches_changed([approved])
        return "", notice

    def _apply(
        session: Session, number: int, action: str, values: dict[str, str], user: str
    ) -> tuple[str, str]:
        draft = get_draft(session, number)
        if draft is None:
            raise _Refused(f"There is no draft fiche #{number}.")
        if draft.status != DraftStatus.DRAFT:
            raise _Refused(f"Draft fiche #{number} is already reviewed.")
        for field, value in values.items():
            text = value.replace("\r\n", "\n")
            current = getattr(draft, "fiche_id" if field == "id" else field)
            shown = ", ".join(current) if field == "topics" else str(current)
            if text.strip() == shown.strip():
                continue
            problem = change_field(session, config, draft, field, text)
            if problem is not None:
                message, details = problem
                raise _Refused(f"Draft fiche #{number} is unchanged: " + message.format(**details))
        now, approved = clock.now(), ""
        if action == "reject":
            reject_draft(draft, user, now)
            notice = f"Rejected draft fiche #{number}."
        elif action == "approve":
            refusal = approval_problem(session, config, draft)
            if refusal is not None:
                message, details = refusal
                raise _Refused(message.format(**details))
            approve_draft(session, config, the_embedder(), draft, user, now)
            approved = draft.fiche_id
            notice = f"Draft fiche #{number} is now the fiche {approved}."
        else:
            notice = f"Saved draft fiche #{number}."
        kind = {"save": "draft_edited", "approve": "draft_approved", "reject": "draft_rejected"}
        repo.log_event(
            session, kind[action], now, question_id=draft.question_id, draft=draft.id, by=user
        )
        return notice, approved

    return [
        Route("/drafts", show, methods=["GET"]),
        Route("/drafts/{number:int}", act, methods=["POST"]),
    ]
