"""The one redaction choke point: every text that leaves a process passes `redact_text` or `redact_value`.

Log lines (the structlog processor in `common.logging`), error texts stored in the database
(`channels.last_error`, `despatches.reason`, skip details, outbox errors) and API answers all go
through here. Two nets, because either alone misses something:

- patterns: credentials in URLs, secret-named keys, headers and query parameters, bare
  `Bearer x`;
- values: every secret this process knows (its configured secrets, and each access token or
  webhook secret that passed through the token cipher) is masked wherever it appears, whatever
  the key or the text around it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, SecretStr

from common.text import without_nul

REDACTED = "***"

# Keys whose values are secret whatever they hold.
_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|authorization|api_key|apikey|cookie|dsn|signed_payload|"
    r"code_verifier|csrf",
    re.IGNORECASE,
)
# user:password@ in any URL-looking text (amqp://guest:guest@host, postgresql://u:p@h).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<userinfo>[^/\s@]+)@", re.IGNORECASE)
# A named secret inside free text: a header (`X-Auth-Token: x`, `'X-Clickdrop-Webhook-Token': 'x'`),
# a query or DSN parameter (`?password=x`, `&launch=x`, `code=x`), a JSON or repr key. The name
# must stand alone: `status_code=` and `reply_code=` are not `code=`, `token_generation` is no token.
_INLINE_SECRET = re.compile(
    r"(?P<name>(?<![\w-])(?:[\w-]*(?:token|secret|password|passwd|api[_-]?key)|authorization|"
    r"signed_payload(?:_jwt)?|code|launch|cookie|set-cookie)(?![\w-]))"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?:(?:Bearer|Basic)\s+)?[^\s\"'&,;)}\]]+)",
    re.IGNORECASE,
)
# An Authorization value anywhere, even without its header name ("... Bearer abc ...").
# Case-sensitive, as the header writes it, so prose ("a valid bearer token") stays readable.
_BARE_CREDENTIAL = re.compile(r"(?P<scheme>\b(?:Bearer|Basic))(?P<space>\s+)[A-Za-z0-9\-._~+/]+=*")
# Runs of characters a token is made of: each run is looked up among the known secrets.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_\-.~+/=]{12,}")

# Shorter values would mask ordinary words; every real secret here is longer.
MIN_SECRET_LENGTH = 12
_MAX_KNOWN = 200_000  # a bound on memory; far above the stores one process serves


class _KnownSecrets:
    """Secret values this process holds, masked wherever they appear in outgoing text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        # configured secrets: few, so each is also searched for inside longer runs of text
        self._configured: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str], *, configured: bool = False) -> None:
        fresh = [v for v in values if len(v) >= MIN_SECRET_LENGTH]
        with self._lock:
            for value in fresh:
                if len(self._values) < _MAX_KNOWN:
                    self._values.add(value)
            if configured:
                self._configured = tuple(sorted({*self._configured, *fresh}, key=len, reverse=True))

    def mask(self, text: str) -> str:
        if not self._values:
            return text
        # access tokens and webhook secrets (many) stand apart from the text around them
        masked = _TOKEN_RUN.sub(self._mask_run, text)
        for value in self._configured:
            if value in masked:
                masked = masked.replace(value, REDACTED)
        return masked

    def _mask_run(self, match: re.Match[str]) -> str:
        run = match[0]
        if run in self._values:
            return REDACTED
        # punctuation the run picked up around the secret ("tok.", "tok==")
        trimmed = run.strip(".=+/~-_")
        return run.replace(trimmed, REDACTED) if trimmed in self._values else run


_KNOWN = _KnownSecrets()


def register_secret(*values: str) -> None:
    """Mask these values in every outgoing text from now on (access tokens, webhook secrets)."""
    _KNOWN.add(values)


def register_settings_secrets(settings: BaseModel) -> None:
    """Mask every `SecretStr` of a settings object (and the passwords inside its URLs)."""
    values: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, SecretStr):
                secret = item.get_secret_value()
                password = _url_password(secret)
                values.append(password if password is not None else secret)
    _KNOWN.add((v for v in values if v), configured=True)


def _url_password(value: str) -> str | None:
    match = re.match(r"^[a-z][a-z0-9+.\-]*://[^/\s@:]*:(?P<password>[^/\s@]+)@", value, re.IGNORECASE)
    if match:
        return match["password"]
    if "://" in value:
        return ""  # a URL without a password: nothing secret in it
    return None


def redact_text(text: str) -> str:
    """Mask credentials embedded in a string: URL user-info, named secrets, bearer values, known secrets.

    NUL characters are dropped too: PostgreSQL cannot store them in the error columns.
    """
    text = without_nul(text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    text = _INLINE_SECRET.sub(_mask_inline, text)
    text = _BARE_CREDENTIAL.sub(lambda m: f"{m['scheme']}{m['space']}{REDACTED}", text)
    return _KNOWN.mask(text)


# secrets as query parameters only: "status code: 400" is prose
_QUERY_ONLY = frozenset({"code", "launch"})


def _mask_inline(match: re.Match[str]) -> str:
    if match["name"].lower() in _QUERY_ONLY and "=" not in match["sep"]:
        return match[0]
    return f"{match['name']}{match['sep']}{REDACTED}"


def redact_optional(text: str | None) -> str | None:
    """`redact_text` for a nullable column or field."""
    return None if text is None else redact_text(text)


RedactedText = Annotated[str | None, AfterValidator(redact_optional)]
"""A free-text field of an API answer (an error, a reason): redacted when the model is built."""


def redact_value(key: str, value: Any) -> Any:
    """A value about to be logged under `key`: masked when the key names a secret, else searched."""
    if _SECRET_KEY.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, item) for item in value]
    return value


def describe_error(error: BaseException) -> str:
    """A client library's exception as its type and status, never its `repr()`.

    aiohttp's `ClientResponseError` carries the request headers (`X-Auth-Token` among them) in
    its repr, and its message may quote the malformed bytes a proxy sent.
    """
    name = type(error).__name__
    status = getattr(error, "status", None)
    return f"{name} (status {status})" if isinstance(status, int) else name
