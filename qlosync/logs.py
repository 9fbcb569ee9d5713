"""Logging configuration, applied only at entry points (CLI, workers), never by library code."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from urllib.parse import unquote_plus

# Attributes every LogRecord has; anything else was passed with ``extra=`` and belongs in JSON output.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the ``extra=`` fields (action, ids) as keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


#: Query parameters whose value is never logged, however they are spelled or encoded: they carry credentials.
_SECRET_PARAMETER = re.compile(r"token|key|secret|passw|auth|sig", re.IGNORECASE)


def redact_query(path: str) -> str:
    """*path* with the value of every credential-like query parameter replaced by ``***``."""
    base, question, query = path.partition("?")
    if not question:
        return path
    parts = [f"{part.partition('=')[0]}=***" if _SECRET_PARAMETER.search(unquote_plus(part.partition("=")[0]))
             else part for part in query.split("&")]
    return f"{base}?{'&'.join(parts)}"


class AccessLogRedactor(logging.Filter):
    """On uvicorn's access logger: a token pasted into a URL (``?token=...``) must not reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path with query, version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    formatter = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"default": formatter},
            "filters": {"redact_query": {"()": AccessLogRedactor}},
            "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default"}},
            "root": {"level": level, "handlers": ["stderr"]},
            # pika is chatty at INFO about every connection event.
            "loggers": {
                "pika": {"level": "WARNING"},
                "alembic.runtime.migration": {"level": "WARNING"},
                # urllib3 logs whole URLs at DEBUG, and customer look-ups carry e-mails in the query.
                "urllib3": {"level": "INFO"},
                "uvicorn.access": {"filters": ["redact_query"]},
            },
        }
    )
