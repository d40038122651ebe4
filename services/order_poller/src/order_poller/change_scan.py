"""Finding changes to a channel's downloaded orders and announcing each once (`OrderChanged`).

Two ways in, both under the store's poll lease:
- `scan()`, in every scheduled poll: ONE listing of the orders modified since the last scan,
  across statuses, with their consignments and lines (one request per 250 modified orders);
- `consider()`, for an order the webhook path fetched already.

An order is judged only when the channel downloaded it within the window and BigCommerce modified
it since the connector last saw it. A status move that is our own write-back is passed over at
once. The listed consignments carry what is compared and what the event needs; only an order whose
listed lines lack a field the event needs (`mapping.LISTED_LINE_NEEDS`; weights may be missing,
reference §4.6) costs `/products` and `/shipping_addresses`, as in the download.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from common.bigcommerce.client import MAX_PAGE_SIZE, StoreApi
from common.bigcommerce.errors import InvalidRequest, NotFound
from common.bigcommerce.models import Order, OrderProduct, ShippingAddress
from common.db.despatches import is_own_writeback
from common.events import OrderChanged
from prometheus_client import Counter
from pydantic import ValidationError

from order_poller.changes import (
    Observed,
    build_changed_event,
    compared_lines,
    detect,
    needs_memory_update,
    observe,
)
from order_poller.db.changes import (
    DownloadedOrderState,
    downloaded_states,
    record_change,
    save_scan_from,
)
from order_poller.db.schedule import ClaimedChannel
from order_poller.guard import ChannelGuard
from order_poller.mapping import OrderSkippedError, listed_lines

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

ORDERS_CHANGED = Counter(
    "order_poller_orders_changed_total",
    "OrderChanged events written to the outbox, by change (one event may count under several).",
    ["change"],
)

# Each scan starts this far before the last one began: BigCommerce stamps date_modified with its
# own clock, and an order seen twice is compared again at no request's cost.
SCAN_OVERLAP = timedelta(minutes=5)


@dataclass
class ChangeReport:
    """What one scan did."""

    listed: int = 0
    announced: int = 0


class ChangeFinder:
    """Finds and announces the changes of one claimed channel's downloaded orders."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        api: StoreApi,
        channel: ClaimedChannel,
        guard: ChannelGuard,
        *,
        clock: Callable[[], datetime],
        max_age: timedelta,
        weight_units: Callable[[], str | None],
        on_announced: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._api = api
        self._channel = channel
        self._guard = guard
        self._clock = clock
        self._max_age = max_age
        self._weight_units = weight_units
        self._on_announced = on_announced
        self.report = ChangeReport()

    def _window_start(self) -> datetime:
        # whole seconds: filters are sent that way and BigCommerce's dates have no fractions
        return (self._clock() - self._max_age).replace(microsecond=0)

    async def scan(self) -> ChangeReport:
        """List what was modified since the last scan and judge each downloaded order in it.

        The cursor moves only after the whole listing was judged: a scan that fails is done again.

        Raises:
            ChannelStoppedError, BigCommerceError, ValidationError: the poll ends.
        """
        started = self._clock()
        window_start = self._window_start()
        cursor = self._channel.changes_scan_from  # read with the claim: no statement of its own
        since = window_start if cursor is None or cursor < window_start else cursor
        await self._guard.check()
        page: list[Order] = []
        async for row in self._api.iter_modified_orders(min_date_modified=since):
            self.report.listed += 1
            if row.order is None:
                # the download reports unreadable orders; a change to one cannot be judged
                log.warning("changed_order_unreadable", store_hash=self._channel.store_hash, error=row.error)
                continue
            page.append(row.order)
            if len(page) == MAX_PAGE_SIZE:
                await self.consider(page)
                page = []
        await self.consider(page)
        if cursor is None or self.report.listed:
            # nothing listed: the old cursor finds exactly the same, no write needed
            await save_scan_from(
                self._pool, self._channel.id, (started - SCAN_OVERLAP).replace(microsecond=0)
            )
        return self.report

    async def on_known_order(self, channel: ClaimedChannel, order: Order) -> None:
        """The webhook path's seam (`download.KnownOrderHandler`): an order fetched on request that
        the channel downloaded before, judged at once with no further request of its own."""
        if channel.id != self._channel.id:
            raise ValueError("an order of another channel")  # a wiring mistake, never data
        await self.consider([order])

    async def consider(self, orders: Sequence[Order]) -> None:
        """Judge orders as BigCommerce shows them now; those the channel did not download are ignored."""
        window_start = self._window_start()
        fresh = [o for o in orders if o.date_created >= window_start and not o.is_deleted]
        if not fresh:
            return
        states = await downloaded_states(
            self._pool, self._channel.id, self._channel.store_hash, [o.id for o in fresh]
        )
        for order in fresh:
            state = states.get(order.id)
            # older than what was last seen: a stale row (BigCommerce dates have whole seconds, so
            # a change in the very second of the download still has an equal date and is judged)
            if state is not None and order.modified_at >= state.date_modified:
                await self._judge(order, state)

    async def _judge(self, order: Order, state: DownloadedOrderState) -> None:
        before = state.memory
        moved = before is None or order.status_id != before.status_id
        own = moved and is_own_writeback(order.status_id, has_despatch=state.has_own_despatch)
        if own:
            log.debug("order_moved_by_our_writeback", store_hash=self._channel.store_hash, order_id=order.id)
            return
        try:
            # what is compared needs no price or weight: listed lines lacking those still serve
            full = listed_lines(order)
            compared = full or compared_lines(order)
            if compared is None:
                if not moved and order.modified_at == state.date_modified:
                    return  # not expanded, and unchanged since last seen: not worth two requests
                compared = full = await self._read_lines(order)
            observed = observe(order, *compared)
            if before is None:
                # downloaded before the memory was kept: remember it as it is from now on
                await self._record(order, state, observed, None)
                return
            changes = detect(before, observed, downloaded_statuses=self._channel.order_status_ids)
            if not needs_memory_update(before, observed):
                return
            event = None
            if changes:
                lines, addresses = full or await self._read_lines(order)
                event = build_changed_event(
                    channel_id=self._channel.id,
                    store_hash=self._channel.store_hash,
                    trading_name=self._channel.trading_name,
                    weight_units=self._weight_units(),
                    order=order,
                    lines=lines,
                    addresses=addresses,
                    downloaded_event_id=state.event_id,
                    changes=changes,
                    memory=observed.memory(),
                    occurred_at=self._clock(),
                )
        except (OrderSkippedError, NotFound, InvalidRequest, ValidationError) as problem:
            # an order BigCommerce no longer serves whole: nothing remembered, judged again when modified
            log.warning(
                "order_change_not_announced",
                store_hash=self._channel.store_hash,
                order_id=order.id,
                error=_describe(problem),
            )
            return
        await self._record(order, state, observed, event)

    async def _read_lines(self, order: Order) -> tuple[list[OrderProduct], list[ShippingAddress]]:
        """Lines and addresses read as the download does when the listing lacks them."""
        await self._guard.check()
        lines = await self._api.list_order_products(order.id)
        await self._guard.check()
        return lines, await self._api.list_shipping_addresses(order.id)

    async def _record(
        self, order: Order, state: DownloadedOrderState, observed: Observed, event: OrderChanged | None
    ) -> None:
        recorded = await record_change(
            self._pool,
            store_hash=self._channel.store_hash,
            order_id=order.id,
            stored=state.stored,
            after=observed.memory(),
            date_modified=order.modified_at,
            event=event,
        )
        if not recorded or event is None:
            return
        self.report.announced += 1
        for change in event.changes:
            ORDERS_CHANGED.labels(change=change).inc()
        self._on_announced()
        log.info(
            "order_changed",
            store_hash=self._channel.store_hash,
            order_id=order.id,
            changes=list(event.changes),
            event_id=str(event.event_id),
        )


def _describe(problem: Exception) -> str:
    if isinstance(problem, OrderSkippedError):
        return f"{problem.reason}: {problem.detail}"
    if isinstance(problem, ValidationError):
        return str(problem.errors()[0]["msg"])
    return str(problem)
