"""Logging: smolnb logs through the standard `logging` module (logger "smolnb"), never print.

`configure(level="INFO", json=None)` attaches one handler to the "smolnb" logger: plain text, or
one JSON object per line with `json=True` (or SMOLNB_LOG_FORMAT=json). Every smolnb record is
redacted (API keys and configured patterns) whatever handler ends up writing it.
"""

from __future__ import annotations

import json as _json
import logging
import time
from typing import Any

from .config import setting
from .redact import redact

__all__ = ["JsonFormatter", "RedactFilter", "configure", "logger"]

logger = logging.getLogger("smolnb")


class RedactFilter(logging.Filter):
    """Redacts the message (with its arguments merged in) of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return True
        record.msg, record.args = redact(message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra=` fields."""

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return redact(_json.dumps(entry, default=str, ensure_ascii=False))


_filter = RedactFilter()
logger.addFilter(_filter)


def configure(level: str | int = "INFO", json: bool | None = None, stream: Any = None) -> logging.Handler:
    """Send smolnb's logs to `stream` (stderr), as text or JSON lines; returns the handler."""
    if json is None:
        json = setting("SMOLNB_LOG_FORMAT").lower() == "json"
    for old in [h for h in logger.handlers if getattr(h, "_smolnb", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler._smolnb = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_filter)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
