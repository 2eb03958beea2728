"""Read a whole fiche collection folder and check it before anything is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knowledge.fiche import MAX_FILE_BYTES, FicheFileError, FicheVersionText, parse_fiche_file

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


def read_collection(
    root: Path,
    languages: tuple[str, ...],
    topics: set[str],
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Collection:
    """Parse every ``<fiche-id>/<lang>.md`` under ``root``; skip whole any fiche with a bad file.

    Versions of one fiche must agree on their topics, since topics belong to the fiche.
    """
    collection = Collection(root=root)
    if not root.is_dir():
        collection.errors.append(FicheFileError(str(root), 0, "is not a folder"))
        return collection
    inside = root.resolve()
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(folder.glob("*.md"))
        outside = [p for p in [folder, *files] if not p.resolve().is_relative_to(inside)]
        if outside:
            collection.errors.append(
                FicheFileError(
                    str(outside[0]), 0, "is a link to outside the collection folder; refused"
                )
            )
            collection.skipped_fiches.add(folder.name)
            continue
        if not files:
            collection.errors.append(FicheFileError(str(folder), 0, "holds no <lang>.md file"))
            continue
        good: list[FicheVersionText] = []
        bad = False
        for path in files:
            parsed = parse_fiche_file(path, languages, topics, max_file_bytes)
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
