"""The fiche file format: TOML front matter between ``+++`` lines, then a Markdown body."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FicheFileError", "FicheVersionText", "parse_fiche_file", "parse_fiche_text"]

FENCE = "+++"
# Characters no fiche text holds: the C0 controls but tab, LF and CR, DEL and the C1 controls
# (PostgreSQL refuses NUL in text; the others garble chat messages).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_FILE_BYTES = 1_000_000
FICHE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
KNOWN_KEYS = {"title", "topics", "summary", "country", "region", "partner", "tags"}


@dataclass(frozen=True)
class FicheFileError:
    """One problem in one fiche file: where it is and what is wrong.

    ``template`` and ``values`` give ``problem`` again as a message and its values (English
    msgids of the handlers' catalogs), so a chat can say it in the reader's language.
    """

    path: str
    line: int
    problem: str
    template: str = ""
    values: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


@dataclass(frozen=True)
class FicheVersionText:
    """One language version of a fiche as read from its file."""

    fiche_id: str
    language: str
    title: str
    topics: tuple[str, ...]
    summary: str
    country: str
    region: str
    partner: str
    tags: tuple[str, ...]
    body: str

    @property
    def content_hash(self) -> str:
        """A digest of everything the search index and the answers use."""
        parts = [self.title, self.summary, self.country, self.region, self.partner, self.body]
        parts += [*list(self.topics), "\x1f", *list(self.tags)]
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


def parse_fiche_file(
    path: Path, languages: tuple[str, ...], topics: set[str], max_bytes: int = MAX_FILE_BYTES
) -> FicheVersionText | list[FicheFileError]:
    """Read one ``<fiche-id>/<lang>.md`` file; return the version or every problem found."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return [
                FicheFileError(
                    str(path),
                    1,
                    f"file is {size} bytes, more than knowledge.max_file_bytes ({max_bytes})",
                )
            ]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [FicheFileError(str(path), 1, f"not UTF-8 text ({error.reason})")]
    except OSError as error:
        return [FicheFileError(str(path), 1, f"cannot be read: {error.strerror}")]
    return parse_fiche_text(text, str(path), path.parent.name, path.stem, languages, topics)


def parse_fiche_text(
    text: str,
    path: str,
    fiche_id: str,
    language: str,
    languages: tuple[str, ...],
    topics: set[str],
) -> FicheVersionText | list[FicheFileError]:
    """Parse the text of one fiche file; ``path`` is only used in error messages."""
    errors: list[FicheFileError] = []

    def problem(line: int, template: str, **values: str) -> None:
        message = template.format(**values)
        errors.append(FicheFileError(path, line, message, template, tuple(values.items())))

    if not FICHE_ID.fullmatch(fiche_id):
        problem(
            1,
            "folder name {fiche} is not a valid fiche id (lowercase letters, "
            "digits, '-', '_' or '.')",
            fiche=repr(fiche_id),
        )
    if language not in languages:
        problem(
            1,
            "file name {language} is not one of the network's languages ({languages})",
            language=repr(language),
            languages=", ".join(languages),
        )
    for number, line in enumerate(text.split("\n"), start=1):
        control = CONTROL.search(line)
        if control:
            problem(
                number,
                "holds the control character {character} at column {column} "
                "(only tabs and line breaks are allowed)",
                character=f"U+{ord(control.group()):04X}",
                column=str(control.start() + 1),
            )
    if errors and CONTROL.search(text):
        return errors
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != FENCE:
        problem(1, "the file must start with a line holding exactly '+++'")
        return errors
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        problem(1, "front matter is not closed by a second '+++' line")
        return errors
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        offset = int(match.group(1)) if match else 0
        problem(1 + offset, "front matter is not valid TOML: {error}", error=str(error))
        return errors

    def line_of(key: str) -> int:
        for i in range(1, end):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
        return 1

    for key in sorted(set(meta) - KNOWN_KEYS):
        problem(line_of(key), "unknown key {key}", key=repr(key))
    for key in ("title", "summary", "country", "region", "partner"):
        if key in meta and not isinstance(meta[key], str):
            problem(line_of(key), "{key} must be a string", key=key)
    title = meta.get("title")
    if title is None:
        problem(2, "missing required key 'title'")
    elif isinstance(title, str) and not title.strip():
        problem(line_of("title"), "title is empty")
    raw_topics = meta.get("topics")
    if raw_topics is None:
        problem(2, "missing required key 'topics'")
    elif not isinstance(raw_topics, list) or not raw_topics:
        problem(line_of("topics"), "topics must be a non-empty list of topic ids")
    else:
        for topic in raw_topics:
            if topic not in topics:
                problem(line_of("topics"), "unknown topic {topic}", topic=repr(topic))
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problem(line_of("tags"), "tags must be a list of strings")
    country = meta.get("country", "")
    if isinstance(country, str) and country and not re.fullmatch(r"[A-Z]{2}", country):
        problem(
            line_of("country"),
            "country {country} is not an ISO 3166 alpha-2 code",
            country=repr(country),
        )
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        problem(end + 1, "the body is empty")
    if errors:
        return errors
    return FicheVersionText(
        fiche_id=fiche_id,
        language=language,
        title=str(title).strip(),
        topics=tuple(raw_topics),  # type: ignore[arg-type]
        summary=str(meta.get("summary", "")).strip(),
        country=str(country),
        region=str(meta.get("region", "")),
        partner=str(meta.get("partner", "")),
        tags=tuple(tags),
        body=body,
    )
