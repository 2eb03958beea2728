"""Finding a person by config id or display name, forgiving case, accents and typos."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from ground.storage.models import Person

__all__ = ["find_person", "folded"]


def folded(text: str) -> str:
    """``text`` compared loosely: case and accents ignored, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def find_person(people: Sequence[Person], wanted: str) -> tuple[Person | None, Person | None]:
    """The person whose id or name is ``wanted``, else None and the closest one (if any)."""
    key = folded(wanted)
    names: dict[str, Person] = {}
    for person in people:
        for name in (person.config_id, person.display_name):
            if name:
                names.setdefault(folded(name), person)
    if key in names:
        return names[key], None
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    return None, names[close[0]] if close else None
