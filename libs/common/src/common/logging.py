"""structlog configured once per process: JSON or console output, stdlib routed through it, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|authorization|api_key|apikey|cookie|dsn|signed_payload|code_verifier",
    re.IGNORECASE,
)
# user:password@ in any URL-looking text (amqp://guest:guest@host, postgresql://u:p@h).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<userinfo>[^/\s@]+)@", re.IGNORECASE)
# Values that carry a secret inside free text: headers and query parameters.
_INLINE_SECRET = re.compile(
    r"(?P<name>x-auth-token|authorization|access_token|client_secret|signed_payload_jwt|code)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>(?:Bearer\s+)?[^\s\"'&,;}]+)",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """Mask credentials embedded in a string (URL user-info, token headers, secret query parameters)."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    return _INLINE_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, item) for item in value]
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secret-named keys and credentials inside any string value."""
    redacted: MutableMapping[str, Any] = event_dict
    for key in list(redacted):
        redacted[key] = _redact_value(key, redacted[key])
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Configure structlog and the stdlib root logger with one redacting processor chain."""
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    # redaction runs after exception formatting so tracebacks are masked too
    tail: list[Processor] = [structlog.processors.format_exc_info, redact_secrets]
    if fmt == "json":
        tail.insert(0, structlog.processors.dict_tracebacks)
        tail.remove(structlog.processors.format_exc_info)
    structlog.configure(
        processors=[
            # drop filtered-out events before any other processor pays for them
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            *tail,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.PositionalArgumentsFormatter(), *tail],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aio-pika and aiormq are chatty at INFO about every reconnect attempt detail
    for noisy in ("aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
