"""Coordinators' /stats (a summary with the top warnings) and /dashboard (a one-time link)."""

from __future__ import annotations

from ground.storage.dashboard_accounts import issue_link
from handlers.context import Turn
from handlers.i18n import language_name
from handlers.stats import compute, parse_period
from handlers.stats.period import PeriodError
from handlers.stats.warnings import render_warning, top_warnings

__all__ = ["STATS_COMMANDS"]


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g} h"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def stats(turn: Turn, args: list[str]) -> None:
    """A compact summary of the last 30 days (or ``/stats 7d``) and what to look at first."""
    try:
        period = parse_period(turn.now, args[0] if args else None)
    except PeriodError:
        turn.reply(turn.t("Usage: /stats, or /stats 7d for the last 7 days (30d, 12w, …)."))
        return
    report = compute(turn.session, turn.config, period, turn.now)
    o, t = report.overall, turn.t
    lines = [
        t("Questions asked {period}: {asked}", period=period.label, asked=o.asked),
        t(
            "Answered by a fiche, as the asker confirmed: {confirmed} ({rate})",
            confirmed=o.fiche_confirmed,
            rate=_percent(o.deflection_rate),
        ),
        t(
            "Fiches shown, no reply from the asker (not counted as answered): {shown}; "
            "sent to experts: {routed}",
            shown=o.fiche_unconfirmed,
            routed=o.routed,
        ),
        t(
            "First response: median {median}, 90% within {p90} (working hours: median {work})",
            median=_hours(o.first_response_median_hours),
            p90=_hours(o.first_response_p90_hours),
            work=_hours(o.first_response_median_work_hours),
        ),
        t(
            "Resolution: median {median}, 90% within {p90}",
            median=_hours(o.resolution_median_hours),
            p90=_hours(o.resolution_p90_hours),
        ),
        t(
            "On time: {first} of first responses, {resolution} of resolutions",
            first=_percent(o.first_response_on_time_rate),
            resolution=_percent(o.resolution_on_time_rate),
        ),
        t(
            "Reminders: {reminders}; escalations: {escalations}",
            reminders=o.reminders,
            escalations=o.escalations,
        ),
        t("Open now: {open}; overdue: {overdue}", open=o.open_now, overdue=o.overdue_now),
        turn.tn(
            "Said it helped: {rate} of {rated} rating",
            "Said it helped: {rate} of {rated} ratings",
            o.rated,
            rate=_percent(o.satisfaction),
            rated=o.rated,
        ),
    ]
    warnings = top_warnings(report)
    if warnings:
        lines.append("")
        lines.append(t("Look at first:"))
        lines += [
            "• "
            + render_warning(
                w,
                t,
                lambda code: language_name(code, turn.language),
                lambda topic: turn.config.topic_name(topic, turn.language),
                turn.tn,
            )
            for w in warnings
        ]
    turn.reply("\n".join(lines))


def dashboard(turn: Turn, _args: list[str]) -> None:
    """Send the coordinator a personal link that logs them in to the dashboard once."""
    settings = turn.config.dashboard
    if turn.event.space:
        turn.reply(turn.t("Send /dashboard to me in a private chat: the link is personal."))
        return
    if len(settings.secret.strip()) < 16:
        turn.reply(
            turn.t(
                "The dashboard is not set up: ask the operator to fill in [dashboard] "
                "in the configuration."
            )
        )
        return
    token = issue_link(
        turn.session, settings.secret, turn.person.id, turn.now, settings.link_minutes
    )
    turn.reply(
        turn.tn(
            "Your dashboard link, valid once for {minutes} minute: {url}",
            "Your dashboard link, valid once for {minutes} minutes: {url}",
            settings.link_minutes,
            minutes=settings.link_minutes,
            url=f"{settings.url}/link/{token}",
        )
    )


STATS_COMMANDS = {"stats": stats, "dashboard": dashboard}
