"""Exchange of a single-click app's authorization code for a store's access token."""

from __future__ import annotations

import json

import aiohttp
import structlog
from pydantic import SecretStr, ValidationError

from common.bigcommerce.errors import OAuthExchangeError, parse_error_body
from common.bigcommerce.models import TokenGrant

log = structlog.get_logger(__name__)

EXCHANGE_PATH = "/oauth2/token"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)


async def exchange_code(
    session: aiohttp.ClientSession,
    *,
    login_url: str,
    client_id: str,
    client_secret: str | SecretStr,
    code: str,
    scope: str,
    context: str,
    redirect_uri: str,
    client_timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
) -> TokenGrant:
    """POST the code to `{login_url}/oauth2/token` and return the grant (reference §1.2).

    Not retried: the code is single-use, and a retry after a lost response would be refused.

    Raises:
        OAuthExchangeError: the login service refused the code, failed, or answered nonsense.
    """
    secret = client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
    store_hash = context.partition("/")[2]
    body = {
        "client_id": client_id,
        "client_secret": secret,
        "code": code,
        "context": context,
        "scope": scope,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri,
    }

    def failure(message: str, status: int | None) -> OAuthExchangeError:
        # The login service may echo the request back: never let the secret or code out.
        for value in (secret, code):
            if value:
                message = message.replace(value, "[redacted]")
        return OAuthExchangeError(
            message, store_hash=store_hash, method="POST", path=EXCHANGE_PATH, status=status
        )

    try:
        async with session.post(
            login_url.rstrip("/") + EXCHANGE_PATH,
            data=json.dumps(body).encode(),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            timeout=client_timeout,
            allow_redirects=False,
        ) as response:
            status = response.status
            payload = await response.read()
    except TimeoutError as exc:
        raise failure("the login service did not answer in time", None) from exc
    except aiohttp.ClientError as exc:
        raise failure(f"could not reach the login service: {type(exc).__name__}", None) from exc
    if not 200 <= status < 300:
        message, _ = parse_error_body(payload)
        log.warning("bigcommerce_token_exchange_refused", store_hash=store_hash, status=status)
        raise failure(message, status)
    try:
        answer = json.loads(payload)
        if isinstance(answer, dict):
            # the grant is for what was asked: an answer that omits these means the same
            answer.setdefault("context", context)
            answer.setdefault("scope", scope)
        grant = TokenGrant.model_validate(answer)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise failure(f"unexpected token response (fields: {fields})", status) from None
    except ValueError:
        raise failure("the login service answered something that is not JSON", status) from None
    log.info("bigcommerce_token_exchanged", store_hash=grant.store_hash, scopes=sorted(grant.scope))
    return grant
