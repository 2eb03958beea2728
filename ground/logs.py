"""Logging set-up: readable lines or one JSON object per line, with the event's context fields."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["CONTEXT_FIELDS", "JsonFormatter", "RedactingFormatter", "configure_logging"]

# Passed as ``extra=`` by the code that knows them, so log lines can be filtered by question.
CONTEXT_FIELDS = ("channel", "question_id", "event_id", "outbox_id")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a single line of JSON."""
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Formats with another formatter, then masks every secret (a token in a logged URL …)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then replace each secret with ``***``."""
        line = self._inner.format(record)
        for secret in self._secrets:
            line = line.replace(secret, "***")
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, not what it was at set-up."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(format_name: str, level: str, secrets: Iterable[str] = ()) -> None:
    """Send the root logger's records to standard error in the chosen format, secrets masked."""
    handler = StderrHandler()
    inner = JsonFormatter() if format_name == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(RedactingFormatter(inner, secrets))
    root = logging.getLogger()
    # Replace the plain handler of logging.basicConfig and our own; leave others (pytest's).
    for old in list(root.handlers):
        if type(old) in (logging.StreamHandler, StderrHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("bm25s", "httpx", "httpcore", "uvicorn.access", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
