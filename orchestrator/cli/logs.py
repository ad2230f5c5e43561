"""Log output for people (text) or for log pipelines (one JSON object per line)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_NOISY = ("kubernetes", "urllib3", "apscheduler")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg"}` plus `error` for a traceback: what Loki, Elastic
    and Cloud Logging parse without a custom pattern. Never multi-line, so a traceback
    stays one record."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["error"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure(*, verbose: int, log_format: LogFormat) -> None:
    """Root logging to stderr; third-party chatter only with -vv."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("orchestrator")
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "orchestrator"]:
        root.removeHandler(old)  # configured twice in one process (tests): replace, not add
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.NOTSET if verbose >= 2 else logging.WARNING)
