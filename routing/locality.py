"""Whether a question is about the asker's own place: its laws, rules, deadlines or local bodies."""

from __future__ import annotations

import re

__all__ = ["is_local"]

# Stems, in the ten languages: a law, decree or article, a legal deadline or appeal, and the
# local or regional authorities a question names. An expert of the asker's country knows
# these; one from elsewhere in the network usually does not.
_LOCAL = re.compile(
    r"\b(?:art\.|article|articol|articolo|art[ií]culo|artigo|artikel|artyku[łl]|άρθρ|член"
    r"|law|loi|legge|ley|lei|gesetz|νόμ|legea|закон|ustaw|decree|d[ée]cret|decreto|dekret"
    r"|deadline|d[ée]lai|scadenz|plazo|prazo|frist|προθεσμ|termen|срок"
    r"|appeal|recours|ricorso|recurso|berufung|έφεση|contesta|обжалв|odwo[łl]an"
    r"|municipal|commune|comune|ayuntamiento|munic[ií]pi|gemeinde|kommun|landkreis|δήμ"
    r"|primări|județ|общин|област|gmin|powiat|wojew[óo]dztw"
    r"|national|nationale|nazional|nacional|bundes|εθνικ|național|национал|krajow)",
    re.IGNORECASE,
)


def is_local(text: str) -> bool:
    """Whether ``text`` names a law, a legal deadline or a local or national authority."""
    return _LOCAL.search(text) is not None
