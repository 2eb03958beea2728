"""The dashboard's web app: login, overview, breakdowns and CSV downloads, on Starlette."""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import ipaddress
import logging
import math
import secrets
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from jinja2 import pass_context
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bot.dashboard.charts import Bar, horizontal_bars, weekly_chart
from bot.dashboard.drafts import PageTools, draft_routes
from bot.dashboard.formats import Formats, Names
from bot.dashboard.gaps import over_time
from bot.dashboard.readable import breakdown_chart, figures_table, weeks
from bot.dashboard.throttle import LoginThrottle
from ground.clock import Clock
from ground.config import Config
from ground.storage.dashboard_accounts import (
    check_login,
    end_session,
    redeem_link,
    session_user,
    start_session,
)
from ground.storage.database import Database
from ground.storage.gaps_repo import knowledge_gaps, waiting_drafts_by_pair
from ground.storage.models import Question
from ground.storage.questions_repo import QuestionFilter, list_questions, question_story
from handlers.stats.backlog import open_questions
from handlers.stats.figures import DIMENSIONS, Report, compute, figures_by
from handlers.stats.period import Period, PeriodError, parse_period
from handlers.stats.tables import TABLES, as_csv, table
from handlers.stats.warnings import render_warning, top_warnings
from knowledge.embedder import Embedder

__all__ = ["client_address", "create_app", "make_server", "serve"]

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).with_name("templates")
SESSION_HOURS = 12


def create_app(
    config: Config,
    database: Database,
    clock: Clock,
    *,
    embedder: Embedder | None = None,
    fiches_changed: Callable[[list[str]], None] | None = None,
) -> Starlette:
    """The dashboard app over ``database``; sessions are signed with the configured secret.

    ``embedder`` and ``fiches_changed`` serve the drafts page (bot/dashboard/drafts.py).
    """
    if not config.dashboard.secret:
        raise ValueError("dashboard.secret is empty: set it or RRM_DASHBOARD_SECRET")
    templates = Jinja2Templates(directory=str(TEMPLATES))
    fmt = Formats.of(config)
    names = Names(config, fmt)

    def readers_way(write: Callable[..., str]) -> Callable[..., str]:
        """A filter writing as the page's reader does (``fmt`` of the page, see readers)."""

        @pass_context
        def written(context: Any, *values: Any) -> str:
            return write(context.get("fmt", fmt), *values)

        return written

    templates.env.filters.update(
        percent=readers_way(Formats.percent),
        hours=readers_way(Formats.hours),
        when=readers_way(Formats.when),
        number=readers_way(Formats.number),
        blank=_blank,
        period=readers_way(lambda f, p: f.period(p.start, p.end)),
    )
    templates.env.globals.update(names=names, zone=fmt.zone_name)
    secret = config.dashboard.secret
    throttle = LoginThrottle(database, clock)
    trusted = frozenset(config.dashboard.trusted_proxies)

    def user_of(request: Request) -> str | None:
        token = request.session.get("sid")
        if not isinstance(token, str):
            return None
        with database.sessions.begin() as session:
            return session_user(session, token, clock.now())

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    def csrf_valid(request: Request, form: Any) -> bool:
        sent, expected = str(form.get("csrf", "")), request.session.get("csrf")
        return isinstance(expected, str) and hmac.compare_digest(sent, expected)

    def log_in(request: Request, name: str) -> Response:
        with database.sessions.begin() as session:
            request.session["sid"] = start_session(session, name, clock.now(), SESSION_HOURS)
        return RedirectResponse("/", status_code=303)

    readers = _readers(config, fmt)

    def reader(user: str | None) -> Formats:
        """How ``user`` reads times, dates and numbers.

        In ``dashboard.timezone`` and ``dashboard.locale`` where they are set. Else, for a
        coordinator or expert of the config, in their partner's zone (or their first
        language's), as the bot writes to them, and in English as written in their partner's
        country; for anyone else in the network's default zone and English for Europe.
        """
        return readers.get(user, fmt) if user else fmt

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        if "user" not in context:
            context["user"] = user_of(request)
        context["fmt"] = reader(context["user"])
        context["zone"] = context["fmt"].zone_name
        context["csrf"] = csrf_token(request)
        return templates.TemplateResponse(request, name, context, status_code=status)

    def refused(request: Request, status: int, reason: str) -> Response:
        if request.url.path.endswith(".csv"):
            return PlainTextResponse(reason, status_code=status)
        return page(request, "login.html", status, error=reason, user=None)

    def period_of(request: Request) -> Period:
        params = request.query_params
        return parse_period(
            clock.now(), params.get("period"), params.get("from") or None, params.get("to") or None
        )

    def report(session: Session, request: Request, by: str | None) -> Report:
        return compute(session, config, period_of(request), clock.now(), by)

    def login_form(request: Request) -> Response:
        return page(request, "login.html", user=None)

    async def login(request: Request) -> Response:
        form = await request.form()
        if not csrf_valid(request, form):
            return refused(request, 403, "The form had expired: please try again.")
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        # Per account and address: a guesser is slowed down, while the coordinator, from
        # another address, can still log in.
        key = f"{name.strip().lower()} from {client_address(request, trusted)}"
        wait = await run_in_threadpool(throttle.attempt, key)
        if wait is not None:
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            error = f"Too many failed logins. Try again in {minutes} minute(s)."
            return page(request, "login.html", 429, error=error, user=None)
        # scrypt takes tens of milliseconds: not on the event loop.
        valid = await run_in_threadpool(_check_login, database, name, password)
        if not valid:
            return page(request, "login.html", 401, error="Wrong name or password.", user=None)
        await run_in_threadpool(throttle.succeeded, key)
        return log_in(request, name)

    def link(request: Request) -> Response:
        with database.sessions.begin() as session:
            who = redeem_link(session, secret, request.path_params["token"], clock.now())
        if who is None:
            return refused(request, 403, "This link is not valid: it was used or has expired.")
        return log_in(request, who)

    async def logout(request: Request) -> Response:
        form = await request.form()
        if not csrf_valid(request, form):
            return refused(request, 403, "The form had expired: please try again.")
        token = request.session.get("sid")
        if isinstance(token, str):
            with database.sessions.begin() as session:
                end_session(session, token)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def english_topic(topic: str) -> str:
        return config.topic_name(topic, "en")

    def overview(request: Request) -> Response:
        user = user_of(request)
        if not user:
            return refused(request, 401, "Please log in to see the statistics.")
        with database.sessions.begin() as session:
            weekly = report(session, request, "week")
            partners = figures_by(session, weekly.period, clock.now(), "partner")
            backlog = open_questions(session, clock.now())
        mine = reader(user)
        on_time = [
            Bar(
                names.group("partner", f.key),
                f.first_response_on_time_rate * 100,
                f"{mine.percent(f.first_response_on_time_rate)} "
                f"({f.first_response_on_time} of {f.first_response_due})",
            )
            for f in sorted(partners.values(), key=lambda f: names.group("partner", f.key))
            if f.first_response_on_time_rate is not None
        ]
        loads = [
            Bar(
                f"{row.name}{' (away)' if row.away else ''}",
                row.load,
                f"{row.load} of {row.capacity} questions",
            )
            for row in weekly.loads
        ]
        return page(
            request,
            "overview.html",
            user=user,
            report=weekly,
            query=request.url.query,
            warnings=[render_warning(w, topic_name=english_topic) for w in top_warnings(weekly)],
            weekly_chart=weekly_chart(
                weeks(weekly, mine), "Questions and median first response per week"
            ),
            on_time_chart=horizontal_bars(on_time, 100, "First responses on time per partner"),
            load_chart=horizontal_bars(
                loads,
                max([row.capacity for row in weekly.loads] + [1]),
                "Load per expert",
            ),
            coverage=weekly.coverage,
            backlog=backlog,
            now=clock.now(),
            dimensions=DIMENSIONS,
        )

    def breakdown(request: Request) -> Response:
        user = user_of(request)
        if not user:
            return refused(request, 401, "Please log in to see the statistics.")
        by = request.path_params["by"]
        if by not in DIMENSIONS:
            return PlainTextResponse(f"no breakdown by {by!r}", status_code=404)
        with database.sessions.begin() as session:
            data = report(session, request, by)
        return page(
            request,
            "breakdown.html",
            user=user,
            report=data,
            by=by,
            table=figures_table(data, names, reader(user)),
            chart=breakdown_chart(data, names, reader(user)),
            query=request.url.query,
            dimensions=DIMENSIONS,
        )

    def download(request: Request) -> Response:
        if not user_of(request):
            return refused(request, 401, "log in first")
        name = request.path_params["name"]
        by = request.query_params.get("by") or None
        if name not in TABLES or (by is not None and by not in DIMENSIONS):
            return PlainTextResponse(f"no table {name!r}", status_code=404)
        with database.sessions.begin() as session:
            data = report(session, request, by)
            backlog = open_questions(session, clock.now()) if name == "open" else []
        filename = f"rrm-{name}{'-by-' + by if by else ''}.csv"
        return Response(
            as_csv(table(name, data, backlog)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def questions(request: Request) -> Response:
        user = user_of(request)
        if not user:
            return refused(request, 401, "Please log in to see the questions.")
        params = request.query_params
        start = _day(params.get("from"), "from")
        end = _day(params.get("to"), "to")
        page_number = params.get("page", "1")
        wanted = QuestionFilter(
            search=params.get("q", ""),
            status=params.get("status", ""),
            topic=params.get("topic", ""),
            language=params.get("language", ""),
            partner=params.get("partner", ""),
            expert=params.get("expert", ""),
            overdue=params.get("overdue") == "1",
            gap=params.get("gap") == "1",
            start=start,
            end=end + dt.timedelta(days=1) if end else None,
            sort=params.get("sort", "newest"),
            page=int(page_number) if page_number.isdigit() else 1,
        )
        with database.sessions.begin() as session:
            found = list_questions(session, wanted, clock.now())
        page_query = urllib.parse.urlencode(
            [(k, v) for k, v in params.multi_items() if k != "page"]
        )
        return page(
            request,
            "questions.html",
            user=user,
            found=found,
            wanted=wanted,
            start=params.get("from", ""),
            end=params.get("to", ""),
            page_query=page_query,
            statuses=["offered", "open", "answered", "resolved"],
            topics=config.topics,
            languages=config.languages.supported,
            partners=config.partners,
            experts=config.experts,
            sorts=[
                ("newest", "newest first"),
                ("oldest", "oldest first"),
                ("due", "next deadline"),
            ],
            dimensions=DIMENSIONS,
        )

    def question(request: Request) -> Response:
        user = user_of(request)
        if not user:
            return refused(request, 401, "Please log in to see the questions.")
        number = request.path_params["number"]
        with database.sessions.begin() as session:
            story = question_story(session, number)
            if story is None:
                return PlainTextResponse(f"no question #{number}", status_code=404)
            topic = config.topic(story.question.topic or "")
            partner = config.partner(story.question.partner_id or "")
            return page(
                request,
                "question.html",
                user=user,
                story=story,
                q=story.question,
                topic_name=topic.name if topic else story.question.topic,
                considered=considered_topics(story.question),
                partner_name=partner.name if partner else story.question.partner_id,
                dimensions=DIMENSIONS,
            )

    def considered_topics(question: Question) -> list[tuple[str, float]]:
        """The topics the classifier weighed next after the chosen one, likeliest first."""
        scores = sorted((question.topic_scores or {}).items(), key=lambda item: -item[1])
        return [
            (english_topic(topic), float(score))
            for topic, score in scores
            if topic != question.topic and score >= 0.05
        ][:2]

    def gaps(request: Request) -> Response:
        user = user_of(request)
        if not user:
            return refused(request, 401, "Please log in to see the knowledge gaps.")
        params = request.query_params
        period = parse_period(
            clock.now(),
            params.get("period") or (None if params.get("from") else "90d"),
            params.get("from") or None,
            params.get("to") or None,
        )
        by_country = params.get("country") == "1"
        with database.sessions.begin() as session:
            found = knowledge_gaps(session, period.start, period.end, by_country=by_country)
            drafts = waiting_drafts_by_pair(session)
        last_day = (period.end - dt.timedelta(microseconds=1)).astimezone(dt.UTC)
        return page(
            request,
            "gaps.html",
            user=user,
            gaps=[
                (gap, over_time(gap.days, period.start, period.end, reader(user))) for gap in found
            ],
            period=period,
            by_country=by_country,
            span=f"from={period.start:%Y-%m-%d}&to={last_day:%Y-%m-%d}",
            query=urllib.parse.urlencode([(k, v) for k, v in params.items() if k != "country"]),
            drafts=drafts,
            dimensions=DIMENSIONS,
        )

    async def bad_period(request: Request, error: Exception) -> Response:
        return PlainTextResponse(str(error), status_code=400)

    routes = [
        Route("/", overview),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/link/{token}", link),
        Route("/logout", logout, methods=["POST"]),
        Route("/by/{by}", breakdown),
        Route("/questions", questions),
        Route("/questions/{number:int}", question),
        Route("/gaps", gaps),
        Route("/csv/{name}.csv", download),
        *draft_routes(
            config,
            database,
            clock,
            PageTools(user_of, page, refused, csrf_valid),
            embedder=embedder,
            fiches_changed=fiches_changed,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="rrm_dashboard",
                max_age=SESSION_HOURS * 3600,
                same_site="strict",
                https_only=config.dashboard.secure_cookie,
            )
        ],
        exception_handlers={PeriodError: bad_period},
    )


def client_address(request: Request, trusted: frozenset[str]) -> str:
    """The client's address: the connection's, or behind a trusted proxy the forwarded one.

    Of X-Forwarded-For, only the nearest address no trusted proxy has is taken: a client can
    write anything in the rest of that header.
    """
    address = request.client.host if request.client else "-"
    if address not in trusted:
        return address
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address
    return address


def _day(text: str | None, name: str) -> dt.datetime | None:
    """The start of the day ``text`` names (2026-03-01), in UTC; None if empty."""
    if not text:
        return None
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise PeriodError(f"{name} {text!r} is not a date like 2026-03-01") from None


def _check_login(database: Database, name: str, password: str) -> bool:
    with database.sessions.begin() as session:
        return check_login(session, name, password)


def _readers(config: Config, shared: Formats) -> dict[str, Formats]:
    """How each coordinator and expert of the config reads the dashboard, by id."""
    languages = config.languages
    staff = [(c.id, c.partner, c.languages) for c in config.coordinators]
    staff += [(e.id, e.partner, e.languages) for e in config.experts]
    readers = {}
    for key, partner_id, spoken in staff:
        partner = config.partner(partner_id) if partner_id else None
        first = spoken[0] if spoken else ""
        zone = (
            partner.timezone
            if partner
            else languages.timezones.get(first, languages.default_timezone)
        )
        readers[key] = shared.for_reader(
            None if config.dashboard.timezone else zone,
            None if config.dashboard.locale else (partner.country if partner else ""),
        )
    return readers


def _blank(value: object) -> object:
    return "—" if value is None or value == "" else value


def make_server(
    config: Config,
    database: Database,
    clock: Clock,
    *,
    handle_signals: bool = True,
    embedder: Embedder | None = None,
    fiches_changed: Callable[[list[str]], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for the dashboard: ``serve()`` runs it, ``should_exit`` ends it.

    Inside ``rrm run`` the application owns the signals, so the server must not take them.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, database, clock, embedder=embedder, fiches_changed=fiches_changed),
            host=config.dashboard.address,
            port=config.dashboard.port,
            log_level="warning",
            lifespan="off",
        )
    )
    if not handle_signals:
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign, assignment]
    return server


async def serve(config: Config, database: Database, clock: Clock) -> None:
    """Serve the dashboard on the configured address until Ctrl-C."""
    log.info("dashboard on %s", config.dashboard.url)
    await make_server(config, database, clock).serve()
