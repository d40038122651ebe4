"""Sending one store's API requests: pacing, retries, and classification of failures."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import structlog
from pydantic import SecretStr

from common.bigcommerce.errors import (
    BigCommerceError,
    InvalidRequest,
    MissingScope,
    NotFound,
    ReauthorizationRequired,
    ResponseTooLarge,
    Unavailable,
    parse_error_body,
)
from common.bigcommerce.metrics import count_request
from common.bigcommerce.pacing import RateLimiter
from common.bigcommerce.retry import RetryPolicy, is_retryable_status
from common.redaction import describe_error

log = structlog.get_logger(__name__)

T = TypeVar("T")
Params = Mapping[str, str | int]
BeforeRequest = Callable[[], Awaitable[None]]

_INVALID_STATUSES = frozenset({400, 409, 413, 415, 422})


@dataclass(frozen=True)
class Reply:
    """A successful response: its status and body (empty for 204)."""

    method: str
    path: str
    status: int
    body: bytes

    def json(self) -> Any:
        """The decoded JSON body; None for an empty body (204)."""
        return json.loads(self.body) if self.body else None


class _TransientError(Exception):
    """A failure worth retrying: a timeout, a connection error or a retryable 5xx."""

    def __init__(self, description: str, *, status: int | None, cause: BaseException | None) -> None:
        super().__init__(description)
        self.status = status
        self.cause = cause


class StoreTransport:
    """Sends requests for one store with its token; shared limiter, retries, error classes."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        store_hash: str,
        access_token: SecretStr,
        *,
        client_id: str | None,
        retry: RetryPolicy,
        limiter: RateLimiter,
        timeout: aiohttp.ClientTimeout,
        plan: str | None,
        before_request: BeforeRequest | None = None,
        max_response_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.store_hash = store_hash
        self._session = session
        self._base_url = f"{api_url.rstrip('/')}/stores/{store_hash}"
        self._token = access_token
        self._client_id = client_id
        self._retry = retry
        self._limiter = limiter
        self._timeout = timeout
        self._plan = plan
        self._before_request = before_request
        self._max_response_bytes = max_response_bytes

    def __repr__(self) -> str:
        return f"StoreTransport(store_hash={self.store_hash!r})"  # never the token

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        write: bool = False,
    ) -> Reply:
        """An idempotent request (GET, PUT, DELETE), retried on transient failures."""

        async def once(_attempt: int) -> Reply:
            return await self._send(method, path, params=params, body=body)

        return await self._retrying(method, path, write=write, once=once)

    async def create(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        parse: Callable[[Reply], T],
        find_existing: Callable[[], Awaitable[T | None]],
    ) -> T:
        """A POST that must never run twice: before each retry, look for what it created."""

        async def once(attempt: int) -> T:
            if attempt > 1:
                # The failed attempt may have reached BigCommerce (a timeout or a 5xx after
                # the write): a second POST would duplicate it.
                existing = await find_existing()
                if existing is not None:
                    log.info(
                        "bigcommerce_create_found_existing",
                        store_hash=self.store_hash,
                        path=path,
                        attempt=attempt,
                    )
                    return existing
            return parse(await self._send("POST", path, body=body))

        return await self._retrying("POST", path, write=True, once=once)

    async def _retrying(
        self, method: str, path: str, *, write: bool, once: Callable[[int], Awaitable[T]]
    ) -> T:
        last: _TransientError | None = None
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                return await once(attempt)
            except _TransientError as exc:
                last = exc
            if attempt == self._retry.max_attempts:
                break
            delay = self._retry.delay(attempt, write=write)
            log.warning(
                "bigcommerce_request_retried",
                store_hash=self.store_hash,
                method=method,
                path=path,
                status=last.status,
                reason=str(last),
                attempt=attempt,
                delay_s=round(delay, 3),
            )
            await self._retry.sleep(delay)
        assert last is not None  # the loop runs at least once and only breaks after a failure
        raise Unavailable(
            f"gave up after {self._retry.max_attempts} attempts: {last}",
            store_hash=self.store_hash,
            method=method,
            path=path,
            status=last.status,
            attempts=self._retry.max_attempts,
            cause=last.cause or last,
        )

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One attempt; a 429 is re-sent after the limiter's wait and is not a failed attempt."""
        headers = {"X-Auth-Token": self._token.get_secret_value(), "Accept": "application/json"}
        if self._client_id:
            headers["X-Auth-Client"] = self._client_id
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        rate_limited = 0
        while True:
            await self._limiter.acquire()
            if self._before_request is not None:
                try:
                    # last, right before the send: nothing may wait between this check and the request
                    await self._before_request()
                except BaseException:
                    self._limiter.release()
                    raise
            recorded = False
            try:
                async with self._session.request(
                    method,
                    self._base_url + path,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self._timeout,
                    # A redirect would carry X-Auth-Token to another host.
                    allow_redirects=False,
                ) as response:
                    # Record before reading the body so other tasks pace on the news at once.
                    self._limiter.record(response.status, response.headers)
                    recorded = True
                    status = response.status
                    payload = await self._read_bounded(response, method, path)
            except (TimeoutError, aiohttp.ClientError) as exc:
                count_request(plan=self._plan, method=method, status=None)
                # never repr(): aiohttp's holds the request headers, X-Auth-Token among them
                description = "timed out" if isinstance(exc, TimeoutError) else describe_error(exc)
                raise _TransientError(description, status=None, cause=exc) from exc
            finally:
                if not recorded:  # no response: give the place back (also on cancellation)
                    self._limiter.release()
            count_request(plan=self._plan, method=method, status=status)
            if 200 <= status < 300:
                return Reply(method, path, status, payload)
            if status != 429:
                raise self._failure(method, path, status, payload)
            rate_limited += 1
            if rate_limited > self._retry.max_rate_limited:
                raise Unavailable(
                    f"still rate limited after {rate_limited} responses with status 429",
                    store_hash=self.store_hash,
                    method=method,
                    path=path,
                    status=429,
                    attempts=rate_limited,
                )

    async def _read_bounded(self, response: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        """The body, refused past `max_response_bytes` (counted after decompression) before it is all read."""
        limit = self._max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            raise self._too_large(method, path, response.status, declared)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise self._too_large(method, path, response.status, size)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, method: str, path: str, status: int, size: int) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"response larger than {self._max_response_bytes} bytes (at least {size})",
            store_hash=self.store_hash,
            method=method,
            path=path,
            status=status,
        )

    def _failure(self, method: str, path: str, status: int, payload: bytes) -> Exception:
        message, details = parse_error_body(payload)
        where: dict[str, Any] = {
            "store_hash": self.store_hash,
            "method": method,
            "path": path,
            "status": status,
        }
        if is_retryable_status(status):
            cause = BigCommerceError(message, **where)
            return _TransientError(f"status {status}: {message}", status=status, cause=cause)
        if status == 401:
            return ReauthorizationRequired(message, **where)
        if status == 403:
            return MissingScope(message, **where)
        if status == 404:
            return NotFound(message, **where)
        if status in _INVALID_STATUSES:
            return InvalidRequest(message, details=details, **where)
        return BigCommerceError(message, **where)
