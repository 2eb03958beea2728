"""The statistics commands of ``rrm``: stats, coordinator accounts, and the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from bot.command_database import command_database
from bot.command_error import CommandError
from ground.clock import Clock, SystemClock
from ground.config import Config

__all__ = ["CLOCK", "add_commands"]

# What "now" is for these commands; tests put a fixed clock here.
CLOCK: Clock = SystemClock()


def add_commands(commands: Any) -> None:
    """Register ``stats``, ``coordinator add|remove`` and ``dashboard`` on the subparsers."""
    from handlers.stats.figures import DIMENSIONS

    stats = commands.add_parser("stats", help="response statistics for a period")
    stats.add_argument("--from", dest="start", help="first day, e.g. 2026-03-01")
    stats.add_argument("--to", dest="end", help="last day, included (default: today)")
    stats.add_argument("--period", help="the last N days or weeks instead: 7d, 30d, 4w")
    stats.add_argument("--by", choices=DIMENSIONS, help="break the figures down")
    output = stats.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="write JSON")
    output.add_argument("--csv", action="store_true", help="write the figures table as CSV")
    stats.set_defaults(action=cmd_stats)

    coordinator = commands.add_parser(
        "coordinator", help="dashboard accounts of coordinators"
    ).add_subparsers(title="coordinator commands")
    add = coordinator.add_parser(
        "add", help="create an account or set its password (read from a prompt or stdin)"
    )
    add.add_argument("name")
    add.add_argument(
        "--force", action="store_true", help="make it even if NAME is no coordinator in the config"
    )
    add.set_defaults(action=cmd_coordinator_add)
    remove = coordinator.add_parser("remove", help="delete an account and end its sessions")
    remove.add_argument("name")
    remove.set_defaults(action=cmd_coordinator_remove)

    dashboard = commands.add_parser("dashboard", help="serve the coordinators' web dashboard")
    dashboard.set_defaults(action=cmd_dashboard)


def cmd_stats(config: Config, args: argparse.Namespace) -> int:
    """Print the figures of a period, overall and broken down."""
    from handlers.directory import sync_directory
    from handlers.stats import compute, parse_period
    from handlers.stats.period import PeriodError
    from handlers.stats.tables import as_csv, report_json, table
    from handlers.stats.warnings import render_warning, top_warnings

    now = CLOCK.now()
    try:
        period = parse_period(now, args.period, args.start, args.end)
    except PeriodError as error:
        raise CommandError(str(error)) from None
    with command_database(config) as database, database.sessions.begin() as session:
        sync_directory(session, config, now)
        report = compute(session, config, period, now, args.by)
    if args.json:
        print(report_json(report))
    elif args.csv:
        sys.stdout.write(as_csv(table("figures", report)))
    else:
        print(_text(report))
        for warning in top_warnings(report):
            print(f"! {render_warning(warning, topic_name=lambda t: config.topic_name(t, 'en'))}")
    return 0


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:g} h"


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


def _share(part: int, whole: int, rate: float | None) -> str:
    return f"{part} of {whole} ({_percent(rate)})" if whole else "none due"


def _text(report: Any) -> str:
    o = report.overall
    lines = [
        f"questions asked {report.period.label}: {o.asked}",
        f"  answered by a fiche as the asker confirmed {o.fiche_confirmed}, fiches shown "
        f"without a reply {o.fiche_unconfirmed}, sent to experts {o.routed}",
        f"  deflection rate {_percent(o.deflection_rate)} (confirmed fiche answers only)",
        f"  first response: median {_hours(o.first_response_median_hours)}, "
        f"p90 {_hours(o.first_response_p90_hours)} (working hours: median "
        f"{_hours(o.first_response_median_work_hours)}, "
        f"p90 {_hours(o.first_response_p90_work_hours)})",
        f"  resolution: median {_hours(o.resolution_median_hours)}, "
        f"p90 {_hours(o.resolution_p90_hours)} (working hours: median "
        f"{_hours(o.resolution_median_work_hours)}, p90 {_hours(o.resolution_p90_work_hours)})",
        "  on time: first response "
        f"{_share(o.first_response_on_time, o.first_response_due, o.first_response_on_time_rate)}"
        f", resolution {_share(o.resolution_on_time, o.resolution_due, o.resolution_on_time_rate)}",
        f"  reminders {o.reminders}, escalations {o.escalations}",
        f"  open now {o.open_now}, overdue now {o.overdue_now}",
        f"  satisfaction {_percent(o.satisfaction)} ({o.helped} of {o.rated} said it helped)",
    ]
    if report.by:
        lines.append("")
        lines.append(
            f"{report.by:24} {'asked':>6} {'fiche✓':>6} {'shown':>6} {'routed':>6} {'1st med':>8} "
            f"{'1st p90':>8} {'on time':>7} {'open':>5} {'late':>5} {'satisf':>6}"
        )
        for r in report.rows:
            lines.append(
                f"{(r.key or '(none)')[:24]:24} {r.asked:>6} {r.fiche_confirmed:>6} "
                f"{r.fiche_unconfirmed:>6} {r.routed:>6} "
                f"{_hours(r.first_response_median_hours):>8} "
                f"{_hours(r.first_response_p90_hours):>8} "
                f"{_percent(r.first_response_on_time_rate):>7} {r.open_now:>5} "
                f"{r.overdue_now:>5} {_percent(r.satisfaction):>6}"
            )
    lines.append("")
    lines.append(
        "expert load: " + ", ".join(f"{x.expert} {x.load} of {x.capacity}" for x in report.loads)
    )
    return "\n".join(lines)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise CommandError("the two passwords differ; nothing changed")
        return first
    # Piped: the first line of standard input, so it never appears in argv or the history.
    return sys.stdin.readline().rstrip("\r\n")


def cmd_coordinator_add(config: Config, args: argparse.Namespace) -> int:
    """Create a dashboard account, or set a new password for it."""
    from ground.storage.dashboard_accounts import AccountError, add_account

    name = args.name.strip()
    known = sorted(c.id for c in config.coordinators)
    if name not in known and not args.force:
        raise CommandError(
            f"{name!r} is not a coordinator in the config (coordinators: "
            f"{', '.join(known) or 'none'}); add --force to make the account anyway"
        )
    password = _read_password()
    with command_database(config) as database:
        try:
            with database.sessions.begin() as session:
                created = add_account(session, args.name, password, CLOCK.now())
        except AccountError as error:
            raise CommandError(f"{error}; nothing changed") from None
    if name not in known:
        print(f"warning: {name} is not a coordinator in the config", file=sys.stderr)
    print(f"account {name} {'created' if created else 'updated'}")
    return 0


def cmd_coordinator_remove(config: Config, args: argparse.Namespace) -> int:
    """Delete a dashboard account and end its sessions at once."""
    from ground.storage.dashboard_accounts import remove_account

    with command_database(config) as database, database.sessions.begin() as session:
        removed = remove_account(session, args.name)
    if not removed:
        raise CommandError(f"there is no account {args.name.strip()!r}; nothing changed")
    print(f"account {args.name.strip()} removed; its sessions are ended")
    return 0


def cmd_dashboard(config: Config, args: argparse.Namespace) -> int:
    """Serve the dashboard until Ctrl-C."""
    from bot.dashboard import serve
    from ground.config import default_config_path

    if len(config.dashboard.secret.strip()) < 16:
        raise CommandError(
            f"{args.config or default_config_path()}: dashboard.secret: set at least 16 random "
            "characters (or RRM_DASHBOARD_SECRET)"
        )
    with command_database(config) as database:
        print(f"dashboard on {config.dashboard.url} (Ctrl-C stops it)", flush=True)
        asyncio.run(serve(config, database, CLOCK))
    return 0
