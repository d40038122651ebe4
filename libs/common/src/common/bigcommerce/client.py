"""The BigCommerce API client: one per process, handing out a `StoreApi` per store and token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import structlog
from pydantic import SecretStr, ValidationError

from common.bigcommerce.errors import BigCommerceError, TooManyPages
from common.bigcommerce.models import (
    Hook,
    NewShipment,
    Order,
    OrderProduct,
    Shipment,
    ShippingAddress,
    StoreInfo,
)
from common.bigcommerce.pacing import RateLimiterRegistry
from common.bigcommerce.retry import RetryPolicy
from common.bigcommerce.transport import BeforeRequest, Params, Reply, StoreTransport
from common.errors import first_problem

if TYPE_CHECKING:
    from common.settings import BigCommerceSettings

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5)
MAX_PAGE_SIZE = 250  # the documented maximum for bulk endpoints; more answers 413 (reference §4.1)


@dataclass(frozen=True)
class ReadLimits:
    """How much the client reads from BigCommerce before it refuses with a clear error.

    A page of 250 orders is well under 1 MiB; a store's 7-day window of even 50,000 orders is 200
    pages. Past these bounds something is wrong (a proxy's endless body, a server that ignores
    `page`), and reading on would only exhaust memory or time.
    """

    max_response_bytes: int = 16 * 1024 * 1024
    max_pages: int = 400


DateStyle = Literal["iso", "rfc2822"]
_STORE_HASH = re.compile(r"^[A-Za-z0-9]+$")


def format_filter_date(when: datetime, style: DateStyle = "iso") -> str:
    """A date filter value with an explicit offset, in UTC; naive datetimes are refused.

    How BigCommerce reads a value without an offset is unverified (reference §10), so none is sent.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"date filter needs an aware datetime, got naive {when.isoformat()}")
    utc = when.astimezone(UTC)
    if style == "rfc2822":
        return format_datetime(utc)  # "Fri, 20 Nov 2026 10:00:00 +0000"
    return utc.isoformat(timespec="seconds")  # "2026-11-20T10:00:00+00:00"


class BigCommerceClient:
    """Builds `StoreApi`s sharing one aiohttp session, retry policy and per-store pacing.

    The caller owns the session (one per process) and closes it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        *,
        client_id: str | None = None,
        retry: RetryPolicy | None = None,
        limiters: RateLimiterRegistry | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        limits: ReadLimits = ReadLimits(),
    ) -> None:
        self._session = session
        self._api_url = api_url
        self._client_id = client_id
        self.retry = retry or RetryPolicy()
        self.limiters = limiters or RateLimiterRegistry()
        self._timeout = timeout
        self.limits = limits

    @classmethod
    def for_service(
        cls,
        session: aiohttp.ClientSession,
        settings: BigCommerceSettings,
        *,
        retry: RetryPolicy | None = None,
    ) -> BigCommerceClient:
        """A service's client: the API host, the app's client id and its share of each store's quota."""
        return cls(
            session,
            settings.bigcommerce_api_url,
            client_id=settings.bigcommerce_client_id,
            retry=retry,
            limiters=RateLimiterRegistry(quota_share=settings.bigcommerce_quota_share),
        )

    def store(
        self,
        store_hash: str,
        access_token: str | SecretStr,
        *,
        plan: str | None = None,
        before_request: BeforeRequest | None = None,
    ) -> StoreApi:
        """The API of one store; `plan` (e.g. "Standard") only labels the request metrics.

        `before_request` is awaited before every request is sent (retries included), after the
        rate limiter's wait: a lease holder renews its lease there, and may raise to send nothing.
        """
        if not _STORE_HASH.match(store_hash):
            raise ValueError(f"not a store hash: {store_hash!r}")
        token = access_token if isinstance(access_token, SecretStr) else SecretStr(access_token)
        transport = StoreTransport(
            self._session,
            self._api_url,
            store_hash,
            token,
            client_id=self._client_id,
            retry=self.retry,
            limiter=self.limiters.get(store_hash),
            timeout=self._timeout,
            plan=plan,
            before_request=before_request,
            max_response_bytes=self.limits.max_response_bytes,
        )
        return StoreApi(transport, max_pages=self.limits.max_pages)


class StoreApi:
    """The v2/v3 endpoints the connector uses, for one store."""

    def __init__(self, transport: StoreTransport, *, max_pages: int = ReadLimits.max_pages) -> None:
        self._t = transport
        self.store_hash = transport.store_hash
        self._max_pages = max_pages

    def __repr__(self) -> str:
        return f"StoreApi(store_hash={self.store_hash!r})"

    async def get_store_info(self) -> StoreInfo:
        """`GET /v2/store`."""
        return StoreInfo.model_validate(self._object(await self._t.call("GET", "/v2/store")))

    def iter_listed_orders(
        self,
        *,
        status_id: int,
        min_date_created: datetime,
        limit: int = MAX_PAGE_SIZE,
        sort: str = "id:asc",
        include_consignments: bool = False,
        date_style: DateStyle = "iso",
    ) -> AsyncIterator[ListedOrder]:
        """Orders in one status created at or after `min_date_created`, every page; a row that does
        not parse is yielded as such, not raised.

        One malformed order must not hide the rest of the store's orders from a poll.

        Raises:
            ValueError: `min_date_created` is naive, or `limit` is outside 1..250.
        """
        params = _order_filter(status_id, min_date_created, limit, sort, include_consignments, date_style)
        return self._listed_orders(params, limit)

    async def _listed_orders(self, params: Params, limit: int) -> AsyncIterator[ListedOrder]:
        async for row in self._v2_rows("/v2/orders", params, limit):
            yield ListedOrder.parse(row)

    def iter_modified_orders(
        self, *, min_date_modified: datetime, date_style: DateStyle = "iso"
    ) -> AsyncIterator[ListedOrder]:
        """Orders of every status modified at or after `min_date_modified`, with their consignments
        and lines (`include=consignments.line_items`), 250 a page.

        By id: an order modified during the paging stays where it was (by `date_modified` it would
        move to the end and shift an unread one onto a page already read); one that newly enters
        the filter can only repeat a row, never hide one.

        Raises:
            ValueError: `min_date_modified` is naive.
        """
        params: dict[str, str | int] = {
            "min_date_modified": format_filter_date(min_date_modified, date_style),
            "sort": "id:asc",
            "include": "consignments.line_items",
            "consignment_structure": "object",
        }
        return self._listed_orders(params, MAX_PAGE_SIZE)

    async def get_order(self, order_id: int, *, include_consignments: bool = False) -> Order:
        """`GET /v2/orders/{id}`."""
        params: dict[str, str | int] = {}
        if include_consignments:
            params = {"include": "consignments.line_items", "consignment_structure": "object"}
        reply = await self._t.call("GET", f"/v2/orders/{int(order_id)}", params=params or None)
        return Order.model_validate(self._object(reply))

    async def list_order_products(self, order_id: int) -> list[OrderProduct]:
        """Every line of an order (all pages)."""
        path = f"/v2/orders/{int(order_id)}/products"
        return [OrderProduct.model_validate(row) async for row in self._v2_rows(path, {})]

    async def list_shipping_addresses(self, order_id: int) -> list[ShippingAddress]:
        """Every shipping address (consignment) of an order; [] for 204 (e.g. digital orders)."""
        path = f"/v2/orders/{int(order_id)}/shipping_addresses"
        return [ShippingAddress.model_validate(row) async for row in self._v2_rows(path, {})]

    async def list_shipments(self, order_id: int) -> list[Shipment]:
        """Every shipment of an order; [] when there is none (BigCommerce answers 204)."""
        path = f"/v2/orders/{int(order_id)}/shipments"
        return [Shipment.model_validate(row) async for row in self._v2_rows(path, {})]

    async def create_shipment(self, order_id: int, shipment: NewShipment) -> Shipment:
        """Create a shipment, or return the matching one if an earlier attempt already did."""

        async def find_existing() -> Shipment | None:
            for existing in await self.list_shipments(order_id):
                if shipment.matches(existing):
                    return existing
            return None

        return await self._t.create(
            f"/v2/orders/{int(order_id)}/shipments",
            shipment.to_body(),
            parse=lambda reply: Shipment.model_validate(self._object(reply)),
            find_existing=find_existing,
        )

    async def update_order_status(self, order_id: int, status_id: int) -> Order | None:
        """Set the order's status; the body holds only `status_id` (reference §5.4).

        Returns the updated order, or None when the 2xx answer carries no order we can read:
        the status change succeeded either way, and nothing depends on the echo.
        """
        reply = await self._t.call(
            "PUT", f"/v2/orders/{int(order_id)}", body={"status_id": int(status_id)}, write=True
        )
        try:
            return Order.model_validate(reply.json())
        except (ValueError, ValidationError):
            return None

    async def list_hooks(self) -> list[Hook]:
        """Every webhook this app has on the store (v3, all pages)."""
        hooks: list[Hook] = []
        page = 1
        while True:
            self._check_page(page, "/v3/hooks")
            params = {"page": page, "limit": MAX_PAGE_SIZE}
            reply = await self._t.call("GET", "/v3/hooks", params=params)
            data, pagination = self._v3_page(reply)
            hooks.extend(Hook.model_validate(row) for row in data)
            total_pages = pagination.get("total_pages")
            done = total_pages <= page if isinstance(total_pages, int) else len(data) < MAX_PAGE_SIZE
            if done or not data:
                return hooks
            page += 1

    async def create_hook(
        self, scope: str, destination: str, headers: Mapping[str, str] | None = None
    ) -> Hook:
        """Register an active webhook; a retried call returns the hook an earlier attempt made."""

        async def find_existing() -> Hook | None:
            # One hook per store, app, scope and destination (reference §8.1).
            for hook in await self.list_hooks():
                if hook.scope == scope and hook.destination == destination:
                    return hook
            return None

        body = {
            "scope": scope,
            "destination": destination,
            "is_active": True,
            "headers": dict(headers or {}),
        }
        return await self._t.create(
            "/v3/hooks",
            body,
            parse=lambda reply: Hook.model_validate(self._v3_data(reply)),
            find_existing=find_existing,
        )

    async def update_hook(
        self,
        hook_id: int,
        *,
        is_active: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Hook:
        """Change a hook's active flag and/or its headers (only what is given is sent)."""
        body: dict[str, Any] = {}
        if is_active is not None:
            body["is_active"] = is_active
        if headers is not None:
            body["headers"] = dict(headers)
        reply = await self._t.call("PUT", f"/v3/hooks/{int(hook_id)}", body=body, write=True)
        return Hook.model_validate(self._v3_data(reply))

    async def delete_hook(self, hook_id: int) -> None:
        """Delete a hook; raises NotFound if it does not exist."""
        await self._t.call("DELETE", f"/v3/hooks/{int(hook_id)}", write=True)

    async def _v2_rows(
        self, path: str, params: Params, limit: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[dict[str, Any]]:
        """Rows of a paginated v2 list; it ends on 204 (no body) or a page shorter than `limit`."""
        _check_limit(limit)
        page = 1
        previous: list[Any] | None = None
        while True:
            self._check_page(page, path)
            reply = await self._t.call("GET", path, params={**params, "page": page, "limit": limit})
            if reply.status == 204 or not reply.body:
                return
            rows = self._decode(reply)
            if not isinstance(rows, list):
                raise self._unexpected(reply, "a JSON array")
            if rows == previous:
                # a server that ignores `page` answers the same page again: without this the
                # listing would never end
                log.warning("bigcommerce_page_repeated", store_hash=self.store_hash, path=path, page=page)
                return
            for row in rows:
                yield row
            if len(rows) < limit:
                return
            previous = rows
            page += 1

    def _check_page(self, page: int, path: str) -> None:
        if page > self._max_pages:
            raise TooManyPages(
                f"the listing goes on past {self._max_pages} pages",
                store_hash=self.store_hash,
                method="GET",
                path=path,
            )

    def _decode(self, reply: Reply) -> Any:
        try:
            return reply.json()
        except ValueError:
            raise self._unexpected(reply, "JSON") from None

    def _object(self, reply: Reply) -> dict[str, Any]:
        data = self._decode(reply)
        if not isinstance(data, dict):
            raise self._unexpected(reply, "a JSON object")
        return data

    def _v3_data(self, reply: Reply) -> dict[str, Any]:
        data = self._object(reply).get("data")
        if not isinstance(data, dict):
            raise self._unexpected(reply, "a v3 object under 'data'")
        return data

    def _v3_page(self, reply: Reply) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if reply.status == 204 or not reply.body:
            return [], {}
        envelope = self._object(reply)
        data = envelope.get("data")
        meta = envelope.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        if not isinstance(data, list):
            raise self._unexpected(reply, "a v3 list under 'data'")
        return data, pagination if isinstance(pagination, dict) else {}

    def _unexpected(self, reply: Reply, expected: str) -> BigCommerceError:
        return BigCommerceError(
            f"expected {expected} in the response",
            store_hash=self.store_hash,
            method=reply.method,
            path=reply.path,
            status=reply.status,
        )


@dataclass(frozen=True)
class ListedOrder:
    """One row of an order list: the order, or why it could not be read."""

    order: Order | None
    # the row's id when it has a usable one, also for a row that failed to parse
    order_id: int | None
    error: str | None = None

    @classmethod
    def parse(cls, row: Any) -> ListedOrder:
        """Validate one row; never raises."""
        raw_id = row.get("id") if isinstance(row, dict) else None
        try:
            order_id: int | None = int(raw_id) if raw_id is not None else None
        except (TypeError, ValueError):
            order_id = None
        try:
            order = Order.model_validate(row)
        except ValidationError as error:
            return cls(None, order_id, first_problem(error))
        return cls(order, order.id)


def _order_filter(
    status_id: int,
    min_date_created: datetime,
    limit: int,
    sort: str,
    include_consignments: bool,
    date_style: DateStyle,
) -> dict[str, str | int]:
    params: dict[str, str | int] = {
        "status_id": status_id,
        "min_date_created": format_filter_date(min_date_created, date_style),
        "sort": sort,
    }
    if include_consignments:
        params["include"] = "consignments.line_items"
        params["consignment_structure"] = "object"
    _check_limit(limit)  # here, so a bad call fails before the first iteration
    return params


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be within 1..{MAX_PAGE_SIZE}, got {limit}")
