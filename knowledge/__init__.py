"""Fiches: the file format, import, the search index and what an answer shows."""

from knowledge.collection import Collection, read_collection
from knowledge.embedder import Embedder, make_embedder
from knowledge.fiche import FicheFileError, FicheVersionText
from knowledge.importer import ImportRefused, ImportReport, import_collection
from knowledge.index import FicheHit, FicheIndex
from knowledge.repository import get_version, load_index

__all__ = [
    "Collection",
    "Embedder",
    "FicheFileError",
    "FicheHit",
    "FicheIndex",
    "FicheVersionText",
    "ImportRefused",
    "ImportReport",
    "get_version",
    "import_collection",
    "load_index",
    "make_embedder",
    "read_collection",
]
