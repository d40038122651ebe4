"""One store poll: requested orders, then the whole window of orders; publish each new order once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

import structlog
from common.bigcommerce.budget import time_budget
from common.bigcommerce.client import MAX_PAGE_SIZE, ListedOrder, StoreApi
from common.bigcommerce.errors import (
    InvalidRequest,
    NotFound,
    ResponseTooLarge,
    TimeBudgetExceeded,
    TooManyPages,
)
from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from common.errors import first_problem
from common.shipping_rules import lines_to_ship
from pydantic import ValidationError

from order_poller import units
from order_poller.db.orders import KnownOrders, known_orders, record_download, record_skip
from order_poller.db.schedule import ClaimedChannel, save_store_info
from order_poller.guard import ChannelGuard
from order_poller.mapping import OrderSkippedError, build_event, check_listed, listed_lines
from order_poller.metrics import ORDERS_DOWNLOADED, ORDERS_SKIPPED

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

Item = TypeVar("Item")


class KnownOrderHandler(Protocol):
    """What becomes of an order fetched on request that was downloaded before.

    The seam for OrderChanged: the webhook path fetches the order as it is now and hands it here
    (within the poll, under the store's lease); comparing it with what was remembered is the
    handler's business.
    """

    async def __call__(self, channel: ClaimedChannel, order: Order) -> None: ...


async def ignore_known_order(channel: ClaimedChannel, order: Order) -> None:
    """The default: an order already downloaded is not downloaded again."""
    log.debug("requested_order_known", store_hash=channel.store_hash, order_id=order.id)


@dataclass
class PollReport:
    """What one poll of a store did."""

    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    weight_units: str | None = None

    @property
    def weight_unit_known(self) -> bool:
        """The store's unit is one we convert (else /v2/store is read again on every poll)."""
        return units.is_supported(self.weight_units) and not units.is_missing(self.weight_units)

    @property
    def weight_unit_supported(self) -> bool:
        """Orders can be published: a unit we convert, or none at all (weights then go out as 0)."""
        return units.is_supported(self.weight_units)


class StoreDownloader:
    """Downloads one claimed channel's orders through its `StoreApi`.

    The listing asks for `include=consignments.line_items&consignment_structure=object`, so each
    listed order carries its shipping addresses and lines (reference §4.1, §4.6): a new order
    normally costs no request beyond its share of the listing page. Only an order whose listed
    lines lack what the event needs (`mapping.LISTED_LINE_NEEDS`; one report says weights may be
    missing) or a listing without expanded consignments costs `/products` and, when a line ships,
    `/shipping_addresses`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        store_api: Callable[[str | None], StoreApi],
        channel: ClaimedChannel,
        guard: ChannelGuard,
        *,
        clock: Callable[[], datetime],
        max_age: timedelta,
        order_concurrency: int,
        on_downloaded: Callable[[], None],
        order_budget_s: float = 30.0,
        on_known_order: KnownOrderHandler = ignore_known_order,
    ) -> None:
        self._pool = pool
        # built per plan: the client labels its request and 429 metrics with the store's plan
        self._store_api = store_api
        self._api = store_api(channel.plan_name)
        self._channel = channel
        self._guard = guard
        self._clock = clock
        self._max_age = max_age
        self._order_concurrency = order_concurrency
        self._on_downloaded = on_downloaded
        # an order's requests and their retries: an order that outlasts it is retried next poll
        self._order_budget_s = order_budget_s
        self._on_known_order = on_known_order
        self.report = PollReport(weight_units=channel.weight_units)
        self._skipped_before: frozenset[int] = frozenset()

    async def run(self) -> PollReport:
        """Poll every configured status over the whole window.

        Raises:
            ChannelStoppedError, BigCommerceError, ValidationError: the poll ends; what was
                downloaded so far stays downloaded.
        """
        await self._guard.check()
        if not self.report.weight_unit_known:
            await self._read_store_info()
        since = self._since()
        seen: set[int] = set()
        # one request (and its pages) per status: the list filter takes a single status_id
        for status_id in dict.fromkeys(self._channel.order_status_ids):
            await self._guard.check()
            page: list[Order] = []
            rows = self._api.iter_listed_orders(
                status_id=status_id, min_date_created=since, include_consignments=True
            )
            async for row in rows:
                if row.order is None:
                    # one unreadable row is skipped and recorded; the rest of the list still downloads
                    await self._skip_unreadable(row)
                    continue
                order = row.order
                # an order whose status moved between two listings shows up in both; and the list's
                # own filters are checked again, so a server that ignores one downloads nothing extra
                if order.id in seen or not self._in_window(order, status_id, since):
                    continue
                seen.add(order.id)
                page.append(order)
                if len(page) == MAX_PAGE_SIZE:
                    await self._process_page(page)
                    page = []
            await self._process_page(page)
        return self.report

    async def download_requested(self, order_ids: Sequence[int]) -> None:
        """Fetch each requested order with one `GET /v2/orders/{id}` (with its consignments, as the
        listing has them) and download it like a listed one, without reading the window.

        An order already downloaded goes to `on_known_order`; one that no longer is in the
        channel's statuses and window, or is gone, is left to the scheduled poll's judgement.

        Raises:
            ChannelStoppedError, BigCommerceError: the poll ends; what was downloaded stays.
        """
        if not order_ids:
            return
        await self._guard.check()
        if not self.report.weight_unit_known:
            await self._read_store_info()
        since = self._since()
        fetched: list[Order] = []

        async def fetch(order_id: int) -> None:
            await self._guard.check()
            try:
                order = await self._api.get_order(order_id, include_consignments=True)
            except NotFound:
                log.info("requested_order_not_found", store_hash=self._channel.store_hash, order_id=order_id)
                return
            except ValidationError as error:
                detail = f"BigCommerce sent an order that cannot be read: {first_problem(error)}"
                await self._record_skip(order_id, self._clock(), OrderSkippedError("malformed", detail))
                return
            if order.id == order_id:
                fetched.append(order)

        await _bounded(order_ids, fetch, self._order_concurrency)
        known = await known_orders(self._pool, self._channel.store_hash, [o.id for o in fetched])
        wanted = set(self._channel.order_status_ids)
        todo: list[Order] = []
        for order in sorted(fetched, key=lambda o: o.id):
            if order.id in known.downloaded:
                await self._on_known_order(self._channel, order)
            elif order.status_id in wanted and order.date_created >= since:
                todo.append(order)
        await self._process_page(todo, known)

    def _since(self) -> datetime:
        # whole seconds: the filter is sent that way and BigCommerce's dates have no fractions
        return (self._clock() - self._max_age).replace(microsecond=0)

    def _in_window(self, order: Order, status_id: int, since: datetime) -> bool:
        if order.status_id == status_id and order.date_created >= since:
            return True
        log.debug(
            "order_outside_filter",
            store_hash=self._channel.store_hash,
            order_id=order.id,
            status_id=order.status_id,
        )
        return False

    async def _read_store_info(self) -> None:
        # Read once and cached on the channel; read again only while the cached unit is unusable,
        # so a merchant who fixes the unit is picked up without a restart.
        try:
            info = await self._api.get_store_info()
        except NotFound as error:
            # orders can still be downloaded; their weights stay unknown until the unit is read
            log.warning("store_info_unavailable", store_hash=self._channel.store_hash, error=error.message)
            return
        await save_store_info(
            self._pool, self._channel.id, weight_units=info.weight_units, plan_name=info.plan_name
        )
        self.report.weight_units = info.weight_units
        self._api = self._store_api(info.plan_name or None)
        log.info(
            "store_info_read",
            store_hash=self._channel.store_hash,
            weight_units=info.weight_units,
            plan_name=info.plan_name,
        )

    async def _process_page(self, page: Sequence[Order], known: KnownOrders | None = None) -> None:
        if not page:
            return
        self.report.listed += len(page)
        if known is None:
            known = await known_orders(self._pool, self._channel.store_hash, [o.id for o in page])
        todo: list[Order] = []
        for order in page:
            if not known.needs_work(order.id, order.modified_at):
                continue
            try:
                check_listed(order)
                if not self.report.weight_unit_supported:
                    # no request for what cannot be converted; retried once the unit is fixed
                    raise OrderSkippedError(
                        "unknown_weight_unit",
                        f"unsupported store weight unit {self.report.weight_units!r}",
                    )
            except OrderSkippedError as skip:
                await self._skip(order, skip)
                continue
            todo.append(order)
        self._skipped_before = known.skipped
        await _bounded(todo, self._download_order, self._order_concurrency)

    async def _download_order(self, order: Order) -> None:
        try:
            async with time_budget(
                self._order_budget_s, store_hash=self._channel.store_hash, what=f"order {order.id}"
            ):
                await self._download_order_in_budget(order)
        except TimeBudgetExceeded as slow:
            await self._skip(order, OrderSkippedError("too_slow", slow.message))

    async def _download_order_in_budget(self, order: Order) -> None:
        await self._guard.check()  # also before recording: a disconnect mid-poll stops the rest
        try:
            lines, addresses = listed_lines(order) or await self._read_lines(order)
            event = build_event(
                channel_id=self._channel.id,
                store_hash=self._channel.store_hash,
                trading_name=self._channel.trading_name,
                weight_units=self.report.weight_units,
                order=order,
                lines=lines,
                addresses=addresses,
                occurred_at=self._clock(),
            )
        except OrderSkippedError as skip:
            await self._skip(order, skip)
            return
        except NotFound as error:
            await self._skip(order, OrderSkippedError("not_found", error.message or "404"))
            return
        except InvalidRequest as error:
            await self._skip(order, OrderSkippedError("malformed", f"BigCommerce refused: {error.message}"))
            return
        except (ResponseTooLarge, TooManyPages) as error:
            await self._skip(order, OrderSkippedError("too_large", error.message))
            return
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            await self._skip(order, OrderSkippedError("malformed", f"{where}: {first['msg']}"))
            return
        if await record_download(self._pool, event, was_skipped=order.id in self._skipped_before):
            self.report.downloaded += 1
            ORDERS_DOWNLOADED.inc()
            self._on_downloaded()
            log.info(
                "order_downloaded",
                store_hash=self._channel.store_hash,
                order_id=order.id,
                event_id=str(event.event_id),
                consignments=len(event.order.consignments),
            )

    async def _read_lines(self, order: Order) -> tuple[list[OrderProduct], list[ShippingAddress]]:
        """The order's lines and addresses when the listing did not carry them usably."""
        lines = await self._api.list_order_products(order.id)
        if not lines_to_ship(lines):
            return lines, []
        await self._guard.check()
        return lines, await self._api.list_shipping_addresses(order.id)

    async def _skip_unreadable(self, row: ListedOrder) -> None:
        detail = f"BigCommerce sent an order that cannot be read: {row.error}"
        if row.order_id is None:
            # nothing to key a skip row on: counted and logged only
            self.report.skipped += 1
            ORDERS_SKIPPED.labels(reason="malformed").inc()
            log.warning("order_unreadable", store_hash=self._channel.store_hash, detail=detail)
            return
        await self._record_skip(row.order_id, self._clock(), OrderSkippedError("malformed", detail))

    async def _skip(self, order: Order, skip: OrderSkippedError) -> None:
        await self._record_skip(order.id, order.modified_at, skip)

    async def _record_skip(self, order_id: int, modified_at: datetime, skip: OrderSkippedError) -> None:
        self.report.skipped += 1
        first = await record_skip(
            self._pool,
            channel_id=self._channel.id,
            store_hash=self._channel.store_hash,
            order_id=order_id,
            reason=skip.reason,
            detail=skip.detail,
            final=skip.final,
            date_modified=modified_at,
        )
        if first:
            ORDERS_SKIPPED.labels(reason=skip.reason).inc()
            log.info(
                "order_skipped",
                store_hash=self._channel.store_hash,
                order_id=order_id,
                reason=skip.reason,
                detail=skip.detail,
            )


async def _bounded(items: Sequence[Item], worker: Callable[[Item], Awaitable[None]], limit: int) -> None:
    """Run `worker` over `items`, at most `limit` at once; the first failure cancels the rest."""
    if not items:
        return
    semaphore = asyncio.Semaphore(limit)

    async def one(item: Item) -> None:
        async with semaphore:
            await worker(item)

    try:
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(one(item))
    except BaseExceptionGroup as failures:
        raise _first_failure(failures) from None


def _first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_failure(error)
        if not isinstance(error, asyncio.CancelledError):
            return error
    return group.exceptions[0]
