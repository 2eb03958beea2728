"""Read a whole fiche collection folder and check it before anything is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knowledge.fiche import FicheFileError, FicheVersionText, parse_fiche_file

__all__ = ["Collection", "read_collection"]


@dataclass
class Collection:
    """The valid versions of a collection and the problems of the invalid files."""

    root: Path
    versions: list[FicheVersionText] = field(default_factory=list)
    errors: list[FicheFileError] = field(default_factory=list)
    skipped_fiches: set[str] = field(default_factory=set)

    @property
    def fiche_ids(self) -> set[str]:
        """Every fiche id with at least one valid version."""
        return {v.fiche_id for v in self.versions}


def read_collection(root: Path, languages: tuple[str, ...], topics: set[str]) -> Collection:
    """Parse every ``<fiche-id>/<lang>.md`` under ``root``; skip whole any fiche with a bad file.

    Versions of one fiche must agree on their topics, since topics belong to the fiche.
    """
    collection = Collection(root=root)
    if not root.is_dir():
        collection.errors.append(FicheFileError(str(root), 0, "is not a folder"))
        return collection
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(folder.glob("*.md"))
        if not files:
            collection.errors.append(FicheFileError(str(folder), 0, "holds no <lang>.md file"))
            continue
        good: list[FicheVersionText] = []
        bad = False
        for path in files:
            parsed = parse_fiche_file(path, languages, topics)
            if isinstance(parsed, list):
                collection.errors.extend(parsed)
                bad = True
            else:
                good.append(parsed)
        topic_sets = {v.topics for v in good}
        if len(topic_sets) > 1:
            collection.errors.append(
                FicheFileError(
                    str(folder),
                    0,
                    "language versions disagree on topics: "
                    + " / ".join(",".join(t) for t in sorted(topic_sets)),
                )
            )
            bad = True
        if bad:
            collection.skipped_fiches.add(folder.name)
        else:
            collection.versions.extend(good)
    return collection
