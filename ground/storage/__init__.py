"""Persistence: the model set, the database and the repository functions that own the queries."""

from ground.storage.database import Database

__all__ = ["Database"]
