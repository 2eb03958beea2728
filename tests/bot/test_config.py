"""Configuration loading: the example is valid; every kind of error names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
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
    assert config.experts and config.coordinators and config.partners


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={})
    assert config.database.url == "sqlite:///rrm.db"
    assert config.experts[0].capacity == 5
    assert config.languages.default == "en"


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
            MINIMAL + "\n[knowledge]\ntopic_weight = 1.5\n",
            "knowledge.topic_weight: must be between 0 and 1",
        ),
        (
            MINIMAL + "\n[routing]\nmention_others = 'two'\n",
            "routing.mention_others: expected an integer, got string",
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
            MINIMAL + "\n[knowledge]\nanswer_threshold = 3\n",
            "knowledge.answer_threshold: must be between 0 and 1",
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
