"""The fiche file format and collection reading: every bad file named with path and line."""

from __future__ import annotations

from pathlib import Path

from knowledge.collection import read_collection
from knowledge.fiche import parse_fiche_file, parse_fiche_text
from tests.conftest import SAMPLE_FICHES

LANGUAGES = ("en", "fr", "it", "es", "pt", "de", "el", "ro", "bg", "pl")
TOPICS = {"work-based-learning", "sme-entrepreneurship", "eu-funding"}
GOOD = """+++
title = "Alternance training with rural craft firms"
topics = ["work-based-learning", "sme-entrepreneurship"]
summary = "Short."
country = "FR"
tags = ["alternance", "crafts"]
+++
## The practice
Body text.
"""


def parse(text: str, fiche_id: str = "craft-alternance", language: str = "en"):  # type: ignore[no-untyped-def]
    return parse_fiche_text(
        text, f"{fiche_id}/{language}.md", fiche_id, language, LANGUAGES, TOPICS
    )


def test_good_file() -> None:
    version = parse(GOOD)
    assert not isinstance(version, list)
    assert version.title == "Alternance training with rural craft firms"
    assert version.topics == ("work-based-learning", "sme-entrepreneurship")
    assert version.body.startswith("## The practice")


def test_errors_have_lines() -> None:
    cases = {
        GOOD.replace("+++\ntitle", "title", 1): (1, "must start with a line holding exactly"),
        GOOD.replace("tags = [", "tags = ", 1): (6, "not valid TOML"),
        GOOD.replace('title = "Alternance training with rural craft firms"\n', ""): (
            2,
            "missing required key 'title'",
        ),
        GOOD.replace('"sme-entrepreneurship"]', '"smes"]'): (3, "unknown topic 'smes'"),
        GOOD.replace('country = "FR"', 'country = "France"'): (5, "not an ISO 3166"),
        GOOD.replace('summary = "Short."', 'summery = "Short."'): (4, "unknown key 'summery'"),
        GOOD.rsplit("+++", 1)[0]: (1, "not closed"),
    }
    for text, (line, problem) in cases.items():
        errors = parse(text)
        assert isinstance(errors, list), problem
        assert any(e.line == line and problem in e.problem for e in errors), (problem, errors)


def test_file_name_must_be_a_network_language() -> None:
    errors = parse(GOOD, language="xx")
    assert isinstance(errors, list)
    assert "not one of the network's languages" in errors[0].problem


def test_collection_skips_a_fiche_with_any_bad_version(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "en.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "en.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "mixed" / "fr.md").write_text(GOOD.replace("title", "titre"), encoding="utf-8")
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "en.md").write_bytes(b"\xff\xfe\x00bad")
    collection = read_collection(tmp_path, LANGUAGES, TOPICS)
    assert collection.fiche_ids == {"good"}
    assert collection.skipped_fiches == {"mixed", "binary"}
    paths = {Path(e.path).parent.name for e in collection.errors}
    assert paths == {"mixed", "binary"}


def test_sample_collection_is_valid_and_broad() -> None:
    from ground.config import load_config
    from tests.conftest import EXAMPLE_CONFIG

    config = load_config(EXAMPLE_CONFIG, environ={})
    collection = read_collection(
        SAMPLE_FICHES, config.languages.supported, {t.id for t in config.topics}
    )
    assert not collection.errors, collection.errors[:3]
    assert len(collection.fiche_ids) >= 30
    assert len({v.language for v in collection.versions}) >= 6
    primary = {v.topics[0] for v in collection.versions}
    assert primary == {t.id for t in config.topics}


def test_a_folder_name_ending_in_a_newline_is_not_a_fiche_id() -> None:
    text = "+++\ntitle = 'T'\ntopics = ['t']\n+++\nbody\n"
    errors = parse_fiche_text(text, "x/en.md", "good-id\n", "en", ("en",), {"t"})
    assert isinstance(errors, list)
    assert "folder name 'good-id\\n' is not a valid fiche id" in str(errors[0])


def test_a_fiche_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big-fiche" / "en.md"
    path.parent.mkdir()
    path.write_text("+++\ntitle = 'T'\ntopics = ['t']\n+++\n" + "x" * 5000, "utf-8")
    errors = parse_fiche_file(path, ("en",), {"t"}, max_bytes=2000)
    assert isinstance(errors, list)
    assert str(errors[0]).endswith("more than knowledge.max_file_bytes (2000)")
