"""The ``rrm`` command line: run the bot, manage the database and fiches, diagnose questions."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy.exc import DBAPIError

from bot.command_database import command_database, unreachable
from bot.command_error import CommandError
from bot.drafts_cli import add_drafts_commands
from bot.ops_cli import add_operations_commands, config_secrets
from ground.config import (
    Config,
    ConfigError,
    Coordinator,
    Expert,
    default_config_path,
    load_config,
)

if TYPE_CHECKING:
    from ground.storage.database import Database
    from routing.matching import Candidate
    from routing.triage import Triage

__all__ = ["main"]

log = logging.getLogger("rrm")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rrm`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if not hasattr(args, "action"):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config or default_config_path())
        status = int(args.action(config, args) or 0)
        sys.stdout.flush()
        return status
    except (ConfigError, CommandError) as error:
        print(f"rrm: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader left early (`rrm … | head`): nothing more to say. Point stdout at
        # /dev/null so the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rrm", description="Rapid Response Mechanism bot.")
    parser.add_argument(
        "--config",
        type=Path,
        help="configuration file (default: config.toml, else config.example.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="run the bot on the configured channels")
    run.add_argument(
        "--script",
        type=Path,
        help="console: read the lines of this file instead of standard input; each line is "
        "taken in once, even when the script is run again after a crash",
    )
    run.add_argument(
        "--sent-log",
        type=Path,
        help="console: append each message sent to this file (JSON lines with the outbox id); "
        "a message already logged is not sent again",
    )
    run.set_defaults(action=cmd_run)

    db = commands.add_parser("db", help="database schema").add_subparsers(title="db commands")
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(action=cmd_db_upgrade)

    kb = commands.add_parser("kb", help="the fiche knowledge base").add_subparsers(
        title="kb commands"
    )
    kb_import = kb.add_parser("import", help="import (or re-import) a fiche collection folder")
    kb_import.add_argument("path", type=Path)
    kb_import.add_argument(
        "--skip-errors",
        action="store_true",
        help="import the valid fiches even if some files have errors",
    )
    kb_import.add_argument(
        "--prune",
        action="store_true",
        help="allow removing all, or more than knowledge.max_removed_share, of the stored fiches",
    )
    kb_import.set_defaults(action=cmd_kb_import)
    kb_search = kb.add_parser("search", help="search the fiches")
    kb_search.add_argument("query", nargs="+")
    kb_search.add_argument("--language", help="the query's language (detected if omitted)")
    kb_search.add_argument("--limit", type=int, default=5)
    kb_search.set_defaults(action=cmd_kb_search)
    add_drafts_commands(kb)
    from bot.cli_calibrate import add_calibrate_command

    add_calibrate_command(kb)

    experts = commands.add_parser("experts", help="the expert directory with current load")
    experts.set_defaults(action=cmd_experts)

    ask = commands.add_parser("ask", help="what the bot would do with a question (read-only)")
    ask.add_argument("text", nargs="*", help="the question; '-' reads JSON lines from stdin")
    ask.add_argument("--json", action="store_true", help="write JSON (one line per question)")
    ask.add_argument("--hint", help="a language hint, as a channel would give")
    ask.set_defaults(action=cmd_ask)

    from bot.cli_stats import add_commands

    add_commands(commands)
    add_operations_commands(commands)
    return parser


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    """Run the bot until /quit or Ctrl-C."""
    from bot.app import Application
    from bot.channels.base import Channel, ChannelStartError
    from bot.channels.console import ConsoleChannel, file_lines, stdin_lines
    from ground.storage.database import SchemaAhead
    from ground.storage.run_lock import AnotherProcessRuns

    if not (config.console.enabled or config.telegram.enabled or config.matrix.enabled):
        raise CommandError(
            "no channel is enabled: set enabled = true in [console], [telegram] or [matrix]"
        )
    from ground.logs import configure_logging

    level = "DEBUG" if _verbose() else config.logging.level
    if config.console.enabled and sys.stdin.isatty() and level in ("DEBUG", "INFO"):
        # An interactive console stays readable: one log line per event would drown it.
        level = "DEBUG" if _verbose() else "WARNING"
    configure_logging(config.logging.format, level, config_secrets(config))
    people: list[Expert | Coordinator] = [*config.experts, *config.coordinators]
    staff = {p.identities["console"]: p.name for p in people if "console" in p.identities}
    script: Path | None = args.script
    if script is not None and not script.is_file():
        raise CommandError(f"{script}: no such script file")
    console = ConsoleChannel(
        file_lines(script) if script else stdin_lines(),
        sys.stdout,
        staff,
        script_id=script.name if script else None,
        sent_log=args.sent_log,
    )
    channels: list[Channel] = [console] if config.console.enabled else []
    if config.telegram.enabled:
        from bot.channels.telegram import TelegramChannel

        # The process opts in to PTB's timedelta periods (v22.2+): without it every
        # RetryAfter PTB builds warns of a deprecation. The adapter reads both forms.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        channels.append(TelegramChannel(config.telegram, config.languages.supported))
    if config.matrix.enabled:
        from bot.channels.matrix import MatrixChannel

        channels.append(MatrixChannel(config.matrix))

    async def run() -> None:
        app = Application(config, channels)
        print("Starting RRM (loading the knowledge base)…", flush=True)
        # Before the start: a signal while loading stops the bot as soon as it has started.
        stopping = _stop_on_signals()
        try:
            await app.start()
        except ChannelStartError as error:
            # The channels started before were stopped; say which failed and why, once.
            raise CommandError(str(error)) from None
        except AnotherProcessRuns as error:
            raise CommandError(str(error)) from None
        except (DBAPIError, SchemaAhead) as error:
            raise unreachable(config, error) from None
        try:
            # Until /quit or the script's end in the console, or SIGTERM / Ctrl-C.
            waits = [asyncio.ensure_future(stopping.wait())]
            if config.console.enabled:
                waits.append(asyncio.ensure_future(console.finished.wait()))
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        finally:
            await app.stop()

    asyncio.run(run())
    return 0


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM and SIGINT set the returned event (an orderly stop); a second one exits at once."""
    import os
    import signal

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(number: int) -> None:
        if stopping.is_set():
            os._exit(128 + number)
        print("Stopping (again to stop at once)…", file=sys.stderr, flush=True)
        stopping.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)
    return stopping


def _verbose() -> bool:
    return logging.getLogger().level <= logging.DEBUG


def cmd_db_upgrade(config: Config, _args: argparse.Namespace) -> int:
    """Apply every pending migration."""
    from ground.storage.database import Database, SchemaAhead

    database = Database(config.database.url)
    try:
        before = database.current_revision()
        database.upgrade()
        print(f"database at revision {database.current_revision()} (was {before or 'empty'})")
    except (DBAPIError, SchemaAhead) as error:
        raise unreachable(config, error) from None
    finally:
        database.dispose()
    return 0


def cmd_kb_import(config: Config, args: argparse.Namespace) -> int:
    """Import a collection; refuse the whole collection if any file is bad, unless told."""
    from bot.assembly import embedder_for, import_fiches
    from knowledge.importer import ImportRefused, PruneRefused

    if not args.path.is_dir():
        raise CommandError(f"{args.path}: not a folder")
    with command_database(config) as database:
        try:
            report = import_fiches(
                config,
                database,
                embedder_for(config),
                args.path,
                skip_errors=args.skip_errors,
                prune=args.prune,
            )
        except PruneRefused as refused:
            raise CommandError(f"{args.path}: {refused}; nothing was imported") from None
        except ImportRefused as refused:
            for error in refused.errors:
                print(error, file=sys.stderr)
            raise CommandError(
                f"{refused} (use --skip-errors to import the valid fiches)"
            ) from None
    for error in report.skipped:
        print(f"skipped: {error}", file=sys.stderr)
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, removed "
        f"{len(report.removed)}, unchanged versions {report.unchanged}, skipped fiches "
        f"{len({e.path for e in report.skipped})}"
    )
    if report.added or report.updated or report.removed:
        every = config.knowledge.reload_seconds
        if every > 0:
            # One look sees the change, the next one (if it has settled) rebuilds the search.
            print(f"a running bot searches the new collection within about {2 * every:g} seconds")
        else:
            print("a running bot searches the new collection once restarted (reload_seconds = 0)")
    return 0


@contextlib.contextmanager
def _triage(config: Config) -> Iterator[tuple[Database, Triage]]:
    """The database (closed when done) and the bot's triage over its fiches."""
    from bot.assembly import build_triage, embedder_for, seed_fiches_if_empty

    with command_database(config) as database:
        embedder = embedder_for(config)
        seed_fiches_if_empty(config, database, embedder)
        yield database, build_triage(config, database, embedder)


def cmd_kb_search(config: Config, args: argparse.Namespace) -> int:
    """Print the best fiches for a query."""
    query = " ".join(" ".join(args.query).split())
    if not query:
        raise CommandError("kb search: the query is empty; give some words to search for")
    with _triage(config) as (_, triage):
        language = args.language or triage.detector.detect(query).language
        vector = triage.embedder.queries([query])
        hits = triage.index.search(
            query, language, vector, preferred=[language, "en"], limit=args.limit
        )
    if not hits:
        print("no fiches found (is the knowledge base empty? see `rrm kb import`)")
    for hit in hits:
        print(f"{hit.score:.3f}  {hit.fiche_id} [{hit.language}]  {hit.title}")
    return 0


def cmd_experts(config: Config, _args: argparse.Namespace) -> int:
    """Print the expert directory with each person's current load."""
    from ground.clock import SystemClock
    from handlers.directory import candidates, sync_directory

    with command_database(config) as database, database.sessions.begin() as session:
        sync_directory(session, config, SystemClock().now())
        experts, coordinators = candidates(session, config)
    print(f"{'id':12} {'name':22} {'partner':12} {'languages':14} load  topics")
    for person in [*experts, *coordinators]:
        state = " (away)" if person.away else ""
        capacity = "∞" if person.capacity >= 10**6 else str(person.capacity)
        print(
            f"{person.key:12} {person.name[:22]:22} {person.partner[:12]:12} "
            f"{','.join(person.languages):14} {person.load}/{capacity:3} "
            f"{', '.join(person.topics) or 'coordinator'}{state}"
        )
    return 0


def cmd_ask(config: Config, args: argparse.Namespace) -> int:
    """Diagnose questions without changing anything."""
    with _triage(config) as (database, triage):
        return _ask(config, database, triage, args)


def _ask(config: Config, database: Database, triage: Triage, args: argparse.Namespace) -> int:
    if args.text == ["-"]:
        return _ask_stream(config, database, triage, sys.stdin, sys.stdout)
    text = " ".join(args.text)
    if not text.strip():
        raise CommandError("give a question, or '-' to read JSON lines from standard input")
    result = diagnose(config, database, triage, text, args.hint)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"language  {result['language']}")
    print(f"topic     {result['topic'] or 'unclear'}")
    print(f"decision  {result['decision']} (confidence {result['confidence']:.2f})")
    for fiche in result["fiches"][:5]:
        print(f"  {fiche['score']:.3f} {fiche['id']} [{fiche['language']}] {fiche['title']}")
    if result["route"]:
        route = result["route"]
        print(
            f"route     experts {route['experts']} partners {route['partners']} "
            f"fallback {route['fallback']}"
        )
        for reason in result["reasons"]:
            print(f"  {reason['role']:9} {reason['name']} — {reason['why']}")
    return 0


def _ask_stream(
    config: Config, database: Database, triage: Triage, source: TextIO, sink: TextIO
) -> int:
    failures = 0
    # Read once for the whole stream: nothing `rrm ask` does changes who gets what.
    people = functools.cache(lambda: routing_candidates(config, database))
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise ValueError('expected an object with a "text" string')
            hint = item.get("language_hint")
            if hint is not None and not isinstance(hint, str):
                raise ValueError('"language_hint" must be a string')
            result = diagnose(config, database, triage, item["text"], hint, people)
        except ValueError as error:
            failures += 1
            result = {"error": f"line {number}: {error}"}
        sink.write(json.dumps(result, ensure_ascii=False) + "\n")
    sink.flush()
    return 1 if failures else 0


def routing_candidates(
    config: Config, database: Database
) -> tuple[list[Candidate], list[Candidate]]:
    """The experts and coordinators a question would go to now, as the config has them."""
    from ground.clock import SystemClock
    from handlers.directory import candidates, sync_directory

    with database.sessions() as session:
        # The directory as the config has it now; rolled back, so nothing changes.
        sync_directory(session, config, SystemClock().now())
        people = candidates(session, config)
        session.rollback()
    return people


def diagnose(
    config: Config,
    database: Database,
    triage: Triage,
    text: str,
    hint: str | None,
    people: Callable[[], tuple[list[Candidate], list[Candidate]]] | None = None,
) -> dict[str, Any]:
    """What the bot would do with ``text``: language, topic, decision, fiches, route.

    ``people`` gives the experts and coordinators (read from the database when not given).
    """
    from handlers.directory import asker_country, weights_of
    from handlers.i18n import Translator
    from handlers.referral import reason_text
    from routing.locality import is_local
    from routing.matching import Need, match

    started = time.perf_counter()
    analysis = triage.analyse(text[:2000], hint=hint)
    route = reasons = None
    if analysis.decision != "answer":
        experts, coordinators = people() if people else routing_candidates(config, database)
        need = Need(
            analysis.topic.topic,
            analysis.language.language,
            dict(analysis.topic.scores),
            asker_country(config, analysis.language.language),
            is_local(text),
        )
        decision = match(
            need,
            experts,
            coordinators,
            mention_others=config.routing.mention_others,
            weights=weights_of(config),
        )
        route = {
            "experts": [c.key for c in decision.everyone],
            "partners": list(decision.partners),
            "fallback": decision.fallback,
        }
        # Why each would get it, as the thread says it (in English: no catalog is needed).
        english = Translator(())
        reasons = [
            {
                "expert": candidate.key,
                "name": candidate.name,
                "role": "primary" if rank == 0 else "mentioned",
                "reads": reason.language,
                "topic": reason.topic,
                "same_country": reason.same_country,
                "load": reason.load,
                "why": reason_text(english, config, reason, "en"),
            }
            for rank, (candidate, reason) in enumerate(
                zip(decision.everyone, decision.reasons, strict=True)
            )
        ]
    return {
        "language": analysis.language.language,
        "topic": analysis.topic.topic,
        "decision": analysis.decision,
        "confidence": round(analysis.confidence, 4),
        "fiches": [
            {"id": h.fiche_id, "language": h.language, "title": h.title, "score": round(h.score, 4)}
            for h in analysis.hits
        ],
        "route": route,
        "reasons": reasons,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }


if __name__ == "__main__":
    sys.exit(main())
