"""Configuration loading: the example is valid; every kind of error names file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ground.config import ConfigError, load_config
from tests.conftest import EXAMPLE_CONFIG

MINIMAL = """
[[topics]]
id = "eu-funding"
name = "EU funding"

[[partners]]
id = "p1"
name = "Partner One"
timezone = "Europe/Rome"

[[experts]]
id = "e1"
partner = "p1"
name = "Expert One"
languages = ["it", "en"]
topics = ["eu-funding"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    return str(caught.value)


def test_example_config_is_complete() -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    assert [t.id for t in config.topics] == [
        "territorial-cooperation",
        "work-based-learning",
        "skills-anticipation",
        "rural-youth-inclusion",
        "sme-entrepreneurship",
        "digital-learning",
        "trainer-competences",
        "eu-funding",
        "policy-monitoring",
        "guidance-lifelong-learning",
    ]
    for topic in config.topics:
        assert set(topic.keywords) == set(config.languages.supported), topic.id
        assert set(topic.examples) == set(config.languages.supported), topic.id
        assert set(topic.names) == set(config.languages.supported), topic.id
    assert config.experts and config.coordinators and config.partners


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.database.url == "sqlite:///rrm.db"
    assert config.experts[0].capacity == 5
    assert config.languages.default == "en"
    routing = config.routing
    assert (routing.near_topic_share, routing.same_country_bonus, routing.load_weight) == (
        0.25,
        0.3,
        0.5,
    )
    assert config.knowledge.follow_up_minutes == 30


def test_routing_weights_and_follow_up_window_are_read(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + "\n[routing]\nnear_topic_share = 0.5\nsame_country_bonus = 0\nload_weight = 1.25\n"
        + "\n[knowledge]\nfollow_up_minutes = 90\n"
    )
    config = load_config(write(tmp_path, text), environ={})
    routing = config.routing
    assert (routing.near_topic_share, routing.same_country_bonus, routing.load_weight) == (
        0.5,
        0.0,
        1.25,
    )
    assert config.knowledge.follow_up_minutes == 90


def test_environment_overrides_database_url(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL), environ={"RRM_DATABASE_URL": "postgresql://db/rrm"}
    )
    assert config.database.url == "postgresql://db/rrm"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[database]\nurl = 'x'\n[[topics]\n", "not valid TOML"),
        (MINIMAL + "\n[database]\nurll = 'sqlite://'\n", "database.urll: unknown key"),
        (
            MINIMAL + "\n[knowledge]\nimport_workers = -1\n",
            "knowledge.import_workers: must be 0 (one per core) or more",
        ),
        (
            MINIMAL + "\n[knowledge]\nreload_seconds = -5\n",
            "knowledge.reload_seconds: must be 0 (never) or more",
        ),
        (
            MINIMAL + "\n[stop]\noutbox_seconds = -1\n",
            "stop.outbox_seconds: must not be negative (0: send nothing more)",
        ),
        (
            MINIMAL + "\n[knowledge]\ntopic_weight = 1.5\n",
            "knowledge.topic_weight: must be between 0 and 1",
        ),
        (
            MINIMAL + "\n[routing]\nmention_others = 'two'\n",
            "routing.mention_others: expected an integer, got string",
        ),
        (
            MINIMAL + "\n[routing]\nnear_topic_share = 0\n",
            "routing.near_topic_share: must be above 0 and at most 1",
        ),
        (
            MINIMAL + "\n[routing]\nnear_topic_share = 1.5\n",
            "routing.near_topic_share: must be above 0 and at most 1",
        ),
        (
            MINIMAL + "\n[routing]\nsame_country_bonus = -0.3\n",
            "routing.same_country_bonus: must not be negative",
        ),
        (
            MINIMAL + "\n[routing]\nload_weight = -1\n",
            "routing.load_weight: must not be negative",
        ),
        (
            MINIMAL + "\n[routing]\nload_weight = 'high'\n",
            "routing.load_weight: expected a number, got string",
        ),
        (
            MINIMAL + "\n[knowledge]\nfollow_up_minutes = -30\n",
            "knowledge.follow_up_minutes: must be 0 (replies only) or more",
        ),
        (
            MINIMAL.replace('partner = "p1"', 'partner = "nope"'),
            "experts[0].partner: unknown partner 'nope'",
        ),
        (
            MINIMAL.replace('topics = ["eu-funding"]', 'topics = ["eu-fundng"]'),
            "experts[0].topics[0]: unknown topic 'eu-fundng'",
        ),
        (
            MINIMAL + '\n[languages]\nsupported = ["en", "xx"]\n',
            "languages.supported[1]: langdetect cannot detect language 'xx'",
        ),
        (
            MINIMAL.replace('timezone = "Europe/Rome"', 'timezone = "Mars/Olympus"'),
            "partners[0].timezone: unknown time zone",
        ),
        (
            MINIMAL.replace('name = "Expert One"', 'name = "CHANGE_ME"'),
            "experts[0].name: is still a placeholder",
        ),
        (
            MINIMAL.replace('languages = ["it", "en"]', 'languages = ["it", "sw"]'),
            "experts[0].languages[1]: language 'sw' is not in languages.supported",
        ),
        (
            MINIMAL + '\n[[experts]]\nid = "e1"\npartner = "p1"\nname = "Again"\n'
            'languages = ["en"]\ntopics = []\n',
            "experts[1].id: duplicate id 'e1'",
        ),
        (MINIMAL.replace('id = "e1"\n', ""), "experts[0].id: missing required key"),
        (
            MINIMAL + "\n[knowledge]\nanswer_confidence = 3\n",
            "knowledge.answer_confidence: must be between 0 and 1",
        ),
        (
            MINIMAL + "\n[knowledge]\nsimilar_shown = -0.1\n",
            "knowledge.similar_shown: must be between 0 and 1",
        ),
        (
            MINIMAL + "\n[knowledge]\nsimilar_offered = 1.5\n",
            "knowledge.similar_offered: must be between 0 and 1",
        ),
        (
            MINIMAL + "\n[privacy]\ninbox_days = -1\n",
            "privacy.inbox_days: must not be negative (0: keep)",
        ),
        (
            MINIMAL + "\n[database]\nclaim_seconds = 0\n",
            "database.claim_seconds: must be more than 0 seconds",
        ),
        (
            MINIMAL + "\n[matrix]\nstore_path = 3\n",
            "matrix.store_path: expected a string",
        ),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(str(tmp_path / "config.toml") + ": ")
    assert expected in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.toml: file not found"):
        load_config(tmp_path / "nowhere.toml", environ={})


def test_config_is_immutable() -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    with pytest.raises(AttributeError):
        config.database.url = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.topics[0].keywords["en"] = ()  # type: ignore[index]


def _schema_keys(kind: type, prefix: str = "") -> dict[str, bool]:
    """Every dotted key of a config dataclass, and whether it is a table (or array of tables)."""
    import dataclasses
    import typing

    keys: dict[str, bool] = {}
    hints = typing.get_type_hints(kind)
    for spec in dataclasses.fields(kind):
        if spec.name == "path":
            continue
        key = f"{prefix}{spec.name}"
        hint = hints[spec.name]
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        table = dataclasses.is_dataclass(inner) and isinstance(inner, type)
        keys[key] = table
        if table:
            keys |= _schema_keys(typing.cast(type, inner), f"{key}.")
    return keys


def test_every_schema_key_is_documented_in_the_example() -> None:
    from ground.config import Config

    text = EXAMPLE_CONFIG.read_text("utf-8")
    topic_files = sorted(EXAMPLE_CONFIG.parent.glob("topics/*.toml"))
    taxonomy = "\n".join(p.read_text("utf-8") for p in topic_files)
    missing = []
    for key, table in sorted(_schema_keys(Config).items()):
        if table:
            documented = key == "topics" or re.search(rf"(?m)^\[\[?{re.escape(key)}\]\]?$", text)
        else:
            *tables, name = key.split(".")
            source = taxonomy if tables[:1] == ["topics"] else text
            # Set (`key = …`, `key.sub = …`, or commented out) or named in a comment as `key`.
            assigned = rf"(?m)^\s*#?\s*{re.escape(name)}(\.[\w-]+)?\s*="
            documented = re.search(assigned, source) or f"`{name}`" in source
        if not documented:
            missing.append(key)
    assert not missing, f"keys of the config schema not in config.example.toml: {missing}"


def test_example_config_is_short_enough_to_read() -> None:
    assert EXAMPLE_CONFIG.stat().st_size < 20_000


def test_taxonomy_folder_is_read_in_file_order(tmp_path: Path) -> None:
    folder = tmp_path / "topics"
    folder.mkdir()
    (folder / "02-b.toml").write_text('id = "beta"\nname = "Beta"\n', "utf-8")
    (folder / "01-a.toml").write_text('id = "eu-funding"\nname = "EU funding"\n', "utf-8")
    people = "[[partners]]" + MINIMAL.split("[[partners]]", 1)[1]
    path = write(tmp_path, f'taxonomy = "topics"\n\n{people}')
    config = load_config(path, environ={})
    assert [t.id for t in config.topics] == ["eu-funding", "beta"]


@pytest.mark.parametrize(
    ("files", "taxonomy", "expected"),
    [
        ({}, '"nowhere"', r"config.toml: taxonomy: 'nowhere' is not a folder"),
        ({}, '"topics"', r"config.toml: taxonomy: no topic file"),
        ({"01-a.toml": 'id = "eu-funding"\nnam = "x"\n'}, '"topics"', r"01-a.toml: nam: unknown"),
        ({"01-a.toml": 'id = "eu-funding"\n'}, '"topics"', r"01-a.toml: name: missing required"),
        ({"01-a.toml": "id = \n"}, '"topics"', r"01-a.toml: not valid TOML"),
        (
            {"01-a.toml": 'id = "eu-funding"\nname = "EU"\nkeywords.xx = ["a"]\n'},
            '"topics"',
            r"01-a.toml: keywords.xx: language not supported",
        ),
        (
            {"01-a.toml": 'id = "eu-funding"\nname = "EU"\nnames.xx = "EU"\n'},
            '"topics"',
            r"01-a.toml: names.xx: language not supported",
        ),
    ],
)
def test_taxonomy_errors_name_the_topic_file(
    tmp_path: Path, files: dict[str, str], taxonomy: str, expected: str
) -> None:
    (tmp_path / "topics").mkdir()
    for name, body in files.items():
        (tmp_path / "topics" / name).write_text(body, "utf-8")
    people = "[[partners]]" + MINIMAL.split("[[partners]]", 1)[1]
    assert re.search(expected, error_of(tmp_path, f"taxonomy = {taxonomy}\n\n{people}"))


def test_taxonomy_and_inline_topics_are_not_both_allowed(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    message = error_of(tmp_path, 'taxonomy = "topics"\n' + MINIMAL)
    assert "taxonomy: give a taxonomy folder or [[topics]], not both" in message
