"""One store's flush: per order, plan from memory or read BigCommerce, reconcile, create shipments, set the status, record."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import structlog
from common.backoff import capped_delay
from common.bigcommerce import statuses
from common.bigcommerce.budget import time_budget
from common.bigcommerce.client import StoreApi
from common.bigcommerce.errors import (
    BigCommerceError,
    InvalidRequest,
    MissingScope,
    NotFound,
    ReauthorizationRequired,
    TimeBudgetExceeded,
    Unavailable,
)
from common.bigcommerce.models import NewShipment, OrderProduct, Shipment
from common.bigcommerce.statuses import CANCELLED_STATUSES
from common.db.channels import mark_reauthorization_required
from common.leases import FencedLease, LeaseLostError
from common.shipping_rules import lacks_address, with_only_address
from pydantic import ValidationError

from status_writer.db.orders import OrderKnowledge, load_order_knowledge
from status_writer.db.stores import channel_still_writable
from status_writer.db.writeback import DueDespatch, FlushChannel, Settlement, mark_posting, settle
from status_writer.metrics import DESPATCHES_DEFERRED, DESPATCHES_FAILED, DESPATCHES_WRITTEN
from status_writer.planning import (
    OrderPlan,
    cancel,
    fully_shipped,
    lines_from_memory,
    plan_order,
    ships_exactly,
)

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

# the reason a despatch for an order cancelled, refunded or declined in BigCommerce is not shipped
ORDER_CANCELLED = "order cancelled in BigCommerce"
_T = TypeVar("_T")
DatabaseClock = Callable[[], Awaitable[datetime]]
"""The flush's clock (the database's in production), awaited."""


class ChannelStoppedError(Exception):
    """The channel was disconnected, its token replaced or its write-back turned off mid-flush."""


class StopStore(Exception):  # a control-flow signal, not an error of the caller
    """The store cannot be written to now (token refused, BigCommerce unavailable): end its flush."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FlushPolicy:
    lease_s: float
    backoff_s: float
    backoff_max_s: float
    # one order's requests, retries and waits included; well under the lease, so an order that
    # outlasts it is cut short while its lease is surely still held
    order_budget_s: float = 90.0
    # how often the channel is re-read before a request (a disconnect stops requests within this)
    recheck_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.order_budget_s <= self.lease_s / 2:
            raise ValueError("the per-order time budget must be positive and at most half the flush lease")

    def retry_at(self, now: datetime, attempts: int) -> datetime:
        """When a despatch tried `attempts` times before is next due: doubling, capped."""
        delay = capped_delay(attempts, base_s=self.backoff_s, max_s=self.backoff_max_s)
        return now + timedelta(seconds=delay)


@dataclass
class StoreFlushReport:
    """What one store's flush did."""

    written: int = 0
    failed: int = 0
    not_written: int = 0
    deferred: int = 0
    error: str | None = None
    completed: bool = False


@dataclass
class _Attempt:
    """The outcome of posting an order's shipments."""

    shipment_ids: dict[int, int] = field(default_factory=dict)  # plan index -> shipment id
    failures: dict[int, str] = field(default_factory=dict)  # plan index -> reason
    stop: StopStore | None = None
    # BigCommerce refused a shipment planned from memory (the body, and the reason it gives): the
    # order is read and planned again
    refusal: tuple[NewShipment, str] | None = None


class StoreFlush:
    """Writes one store's due despatches, order by order, while holding its lease.

    `api` must call `before_request` before every request it sends (`BigCommerceClient.store`'s
    hook): the lease is renewed, and the channel re-read, before each one.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        api: Callable[[Callable[[], Awaitable[None]]], StoreApi],
        channel: FlushChannel,
        *,
        lease: FencedLease,
        clock: DatabaseClock,
        policy: FlushPolicy,
        stopping: asyncio.Event,
    ) -> None:
        self._pool = pool
        self._api = api(self.before_request)
        self._channel = channel
        self._lease = lease
        self._clock = clock
        self._policy = policy
        self._stopping = stopping
        self._channel_checked_at: float | None = None
        # despatches whose request this flush recorded: a cut-short order keeps them 'posting'
        self._marked_posting: set[int] = set()
        self.report = StoreFlushReport()

    async def run(self, despatches: Sequence[DueDespatch]) -> bool:
        """Write these despatches; False when the flush of this store must end now."""
        known = await load_order_knowledge(
            self._pool,
            channel_id=self._channel.id,
            store_hash=self._channel.store_hash,
            order_ids={d.order_id for d in despatches},
            batch_ids=[d.id for d in despatches],
        )
        for order_id, group in itertools.groupby(despatches, key=lambda d: d.order_id):
            if self._stopping.is_set():
                return False
            try:
                await self._write_order_in_budget(order_id, list(group), known[order_id])
            except (LeaseLostError, ChannelStoppedError) as stopped:
                # nothing more is sent or recorded; what was sent stays 'posting' for the next holder
                log.warning(
                    "store_flush_interrupted", store_hash=self._channel.store_hash, reason=str(stopped)
                )
                return False
            except StopStore as stop:
                self.report.error = stop.reason
                log.warning("store_flush_stopped", store_hash=self._channel.store_hash, reason=stop.reason)
                return False
        return True

    async def _write_order_in_budget(
        self, order_id: int, despatches: list[DueDespatch], known: OrderKnowledge
    ) -> None:
        """`_write_order` within the order's time budget; an order cut short is deferred and stops the store."""
        try:
            async with time_budget(
                self._policy.order_budget_s, store_hash=self._channel.store_hash, what=f"order {order_id}"
            ):
                await self._write_order(order_id, despatches, known)
        except TimeBudgetExceeded as slow:
            stop = StopStore(f"BigCommerce too slow, retrying later: {slow.message}")
            await self._defer(despatches, stop.reason)
            raise stop from None

    async def before_request(self) -> None:
        """Renew the store's lease, and re-read the channel at most every `recheck_s`, before a request.

        Raises:
            LeaseLostError: another replica took the store over (or the lease ran out).
            ChannelStoppedError: disconnected, a new token, or write-back turned off.
        """
        await self._lease.renew()
        loop_time = asyncio.get_running_loop().time()
        if self._channel_checked_at is None or loop_time - self._channel_checked_at >= self._policy.recheck_s:
            if not await channel_still_writable(self._pool, self._channel.id, self._channel.grant_generation):
                raise ChannelStoppedError(
                    "the channel was disconnected, its token replaced or write-back turned off"
                )
            self._channel_checked_at = loop_time
            self._lease.check()  # the read may have stalled too

    async def _write_order(self, order_id: int, despatches: list[DueDespatch], known: OrderKnowledge) -> None:
        """Plan from what the connector knows when that is enough, else from BigCommerce; post; record.

        The order's lines are read to learn what is left of a despatch that names no items, for an
        order downloaded without a memory, or when BigCommerce refuses a shipment planned from
        memory (someone shipped, refunded or edited the order since); its shipments too when a
        request of ours may have reached BigCommerce or a despatch finds its units already shipped.
        """
        memory = known.memory
        cancelled = memory is not None and memory.status_id in CANCELLED_STATUSES
        if cancelled and all(d.request is None for d in despatches):
            # nothing of these despatches can have reached BigCommerce: none is shipped
            await self._settle_all(despatches, "failed", ORDER_CANCELLED)
            return
        planned = None if cancelled else _plan_from_memory(order_id, despatches, known)
        refusal = None
        if planned is not None:
            attempt = await self._send(order_id, planned, refusal_reconciles=True)
            if attempt.refusal is None:
                await self._finish(planned, despatches, attempt)
                return
            refusal = attempt.refusal
            log.info("shipment_refused_reconciling", store_hash=self._channel.store_hash, order_id=order_id)
            # what was posted is matched against the order's shipments, like a request after a crash
            sent = _requests_by_despatch(planned)
            despatches = [
                d.model_copy(update={"state": "posting", "request": sent[d.id]}) if d.id in sent else d
                for d in despatches
            ]
        products = await self._reading(order_id, despatches, self._read_lines(order_id))
        if products is None:
            return
        # The order's shipments are read when a request of ours may have reached BigCommerce;
        # otherwise the lines' shipped counts say what is left and the connector's own shipments
        # are known. A plan that finds something already shipped (or cannot ship it) is decided
        # against every shipment of the order: its parcel may be there under the tracking number.
        in_doubt = known.unaccounted or any(d.request is not None for d in despatches)
        shipments: list[Shipment] | None = known.own_shipments
        if in_doubt:
            shipments = await self._reading(order_id, despatches, self._api.list_shipments(order_id))
        plan = None if shipments is None else plan_order(order_id, despatches, products, shipments)
        if plan is not None and not in_doubt and (plan.resolved or plan.notes):
            shipments = await self._reading(order_id, despatches, self._api.list_shipments(order_id))
            plan = None if shipments is None else plan_order(order_id, despatches, products, shipments)
        if plan is None:
            return  # the order is gone: its despatches are failed
        if cancelled:
            plan = cancel(plan, ORDER_CANCELLED)
        await self._finish(plan, despatches, await self._send(order_id, plan, refused=refusal))

    async def _read_lines(self, order_id: int) -> list[OrderProduct]:
        """The order's lines, each with its shipping address."""
        products = await self._api.list_order_products(order_id)
        if lacks_address(products):
            # a shipment must name its address: read it (one more request, only in this case)
            addresses = await self._api.list_shipping_addresses(order_id)
            products = with_only_address(products, [a.id for a in addresses])
        return products

    async def _reading(self, order_id: int, despatches: list[DueDespatch], read: Awaitable[_T]) -> _T | None:
        """A read of the order; None when BigCommerce has no such order (its despatches are failed).

        Raises:
            StopStore: the store cannot be read now (its despatches are deferred).
        """
        try:
            return await read
        except NotFound:
            await self._settle_all(despatches, "failed", f"order {order_id} was not found in BigCommerce")
            return None
        except BigCommerceError as error:
            stop = await self._classify_stop(error)
            await self._defer(despatches, stop.reason)
            raise stop from None

    async def _send(
        self,
        order_id: int,
        plan: OrderPlan,
        *,
        refusal_reconciles: bool = False,
        refused: tuple[NewShipment, str] | None = None,
    ) -> _Attempt:
        """Record the plan's requests, then post them (nothing is posted that was not recorded first).

        `refused` is a shipment BigCommerce refused moments ago: planned again exactly as it was, the
        refusal was not about units shipped since, so it fails with that reason and is not re-sent.
        """
        if not plan.shipments:
            return _Attempt()
        requests = _requests_by_despatch(plan)
        if not await mark_posting(self._pool, requests, fence=self._lease.fence):
            raise LeaseLostError("the flush lease no longer holds: nothing is posted")
        self._marked_posting.update(requests)
        return await self._post(order_id, plan, refusal_reconciles=refusal_reconciles, refused=refused)

    async def _finish(self, plan: OrderPlan, despatches: list[DueDespatch], attempt: _Attempt) -> None:
        """Move the order's status when it must, then record every despatch's outcome."""
        status_note = None
        if attempt.stop is None and self._should_set_status(plan, attempt):
            try:
                status_note = await self._set_status(plan.order_id)
            except BigCommerceError as error:
                # any other failure (401, 403, unavailable, an unexpected answer): the shipments
                # stand; the status is set by the next flush, which reconciles them first
                attempt.stop = await self._classify_stop(error)
        await self._record(plan, despatches, attempt, status_note)
        if attempt.stop is not None:
            raise attempt.stop

    async def _post(
        self,
        order_id: int,
        plan: OrderPlan,
        *,
        refusal_reconciles: bool,
        refused: tuple[NewShipment, str] | None,
    ) -> _Attempt:
        attempt = _Attempt()
        for index, shipment_plan in enumerate(plan.shipments):
            if refused is not None and shipment_plan.body == refused[0]:
                attempt.failures[index] = refused[1]
                continue
            try:
                created = await self._api.create_shipment(order_id, shipment_plan.body)
            except InvalidRequest as error:
                reason = f"BigCommerce refused the shipment: {error.message}"
                if refusal_reconciles:
                    # e.g. "quantity greater than the quantity remaining to ship": read, don't fail
                    attempt.refusal = (shipment_plan.body, reason)
                    return attempt
                attempt.failures[index] = reason
            except NotFound:
                attempt.failures[index] = f"order {order_id} was not found in BigCommerce"
            except BigCommerceError as error:
                # the request may have been applied: its despatches stay 'posting' and are reconciled
                attempt.stop = await self._classify_stop(error)
                return attempt
            except ValidationError:
                # created, but the answer is unreadable: reconciled against the order's shipments next time
                attempt.stop = StopStore("BigCommerce answered a shipment with a body that cannot be read")
                return attempt
            else:
                attempt.shipment_ids[index] = created.id
                log.info(
                    "shipment_created",
                    store_hash=self._channel.store_hash,
                    order_id=order_id,
                    shipment_id=created.id,
                    order_address_id=shipment_plan.body.order_address_id,
                )
        return attempt

    def _should_set_status(self, plan: OrderPlan, attempt: _Attempt) -> bool:
        units_left = dict(plan.units_left)
        for index, failed in enumerate(plan.shipments):
            if index not in attempt.shipment_ids:
                for item in failed.body.items:
                    units_left[item.order_product_id] += item.quantity
        wrote = bool(attempt.shipment_ids) or any(r.state == "written" for r in plan.resolved)
        return wrote and fully_shipped(units_left)

    async def _set_status(self, order_id: int) -> str | None:
        """Move a fully shipped order to the channel's despatched status; a refusal is a note, not a failure."""
        # Shipped too: that BigCommerce moves a fully shipped order to Shipped by itself rests on a
        # third-party page (reference §5.2, [shiptheory]), not on BigCommerce's own docs. The safe
        # reading sends the PUT, a no-op where BigCommerce has moved it already.
        target = statuses.DESPATCHED_ORDER_STATUS_IDS[self._channel.despatched_order_status]
        try:
            await self._api.update_order_status(order_id, target)
        except (InvalidRequest, NotFound) as error:
            return f"shipment written; BigCommerce refused the order status change: {error.message}"
        log.info(
            "order_status_updated", store_hash=self._channel.store_hash, order_id=order_id, status_id=target
        )
        return None

    async def _record(
        self, plan: OrderPlan, despatches: list[DueDespatch], attempt: _Attempt, status_note: str | None
    ) -> None:
        # the clock is read only when something is deferred (in production it is a query)
        now = await self._clock() if attempt.stop is not None else None
        by_id = {d.id: d for d in despatches}
        settlements: list[Settlement] = []
        for resolved in plan.resolved:
            if resolved.state == "written" and attempt.stop is not None:
                # the order status is not set yet: leave it to the next flush's reconciliation
                settlements.append(self._deferral(by_id[resolved.despatch_id], attempt.stop.reason, now))
            else:
                reason = status_note if resolved.state == "written" and status_note else resolved.reason
                settlements.append(
                    Settlement(
                        resolved.despatch_id,
                        resolved.state,
                        reason,
                        resolved.shipment_ids,
                        keep_request=resolved.request_matched,
                    )
                )
        for despatch_id in dict.fromkeys(i for p in plan.shipments for i in p.despatch_ids):
            indexes = [i for i, p in enumerate(plan.shipments) if despatch_id in p.despatch_ids]
            failure = next((attempt.failures[i] for i in indexes if i in attempt.failures), None)
            if failure is not None:
                settlements.append(Settlement(despatch_id, "failed", failure))
            elif attempt.stop is not None:
                settlements.append(self._deferral(by_id[despatch_id], attempt.stop.reason, now, posting=True))
            else:
                ids = tuple(attempt.shipment_ids[i] for i in indexes)
                reason = status_note or plan.notes.get(despatch_id)
                settlements.append(Settlement(despatch_id, "written", reason, ids))
        await self._settle(plan.order_id, settlements)

    def _deferral(
        self, despatch: DueDespatch, reason: str, now: datetime | None, *, posting: bool = False
    ) -> Settlement:
        assert now is not None  # read by the caller whenever it defers
        # a despatch with a recorded request keeps it: it is matched against the order's shipments next time
        recorded = despatch.request is not None or despatch.id in self._marked_posting
        state: Literal["posting", "pending"] = "posting" if posting or recorded else "pending"
        return Settlement(
            despatch.id, state, reason, next_attempt_at=self._policy.retry_at(now, despatch.attempts)
        )

    async def _defer(self, despatches: list[DueDespatch], reason: str) -> None:
        now = await self._clock()
        settlements = [self._deferral(d, reason, now) for d in despatches]
        await self._settle(despatches[0].order_id, settlements)

    async def _settle_all(
        self, despatches: list[DueDespatch], state: Literal["failed", "not_written"], reason: str
    ) -> None:
        settlements = [Settlement(d.id, state, reason) for d in despatches]
        await self._settle(despatches[0].order_id, settlements)

    async def _settle(self, order_id: int, settlements: list[Settlement]) -> None:
        if settlements and await settle(self._pool, settlements, fence=self._lease.fence) == 0:
            # fenced out (the fence holds for every row or for none): another replica holds the
            # store now and reconciles what this one sent
            raise LeaseLostError("the flush lease no longer holds: outcomes left to the next holder")
        self._count(order_id, settlements)

    async def _classify_stop(self, error: BigCommerceError) -> StopStore:
        """What an error that ends the store's flush means, with its side effects on the channel."""
        if isinstance(error, ReauthorizationRequired):
            await mark_reauthorization_required(self._pool, self._channel.id, self._channel.grant_generation)
            return StopStore(
                "BigCommerce refused the stored token (401); kept pending until the app is reinstalled"
            )
        if isinstance(error, MissingScope):
            return StopStore(
                "permissions missing (403); reopen the app in BigCommerce to re-approve its scopes"
            )
        if isinstance(error, Unavailable):
            return StopStore(f"BigCommerce unavailable, retrying later: {error.message}")
        return StopStore(f"BigCommerce error, retrying later: {error.message}")

    def _count(self, order_id: int, settlements: list[Settlement]) -> None:
        for s in settlements:
            if s.state == "written":
                self.report.written += 1
                DESPATCHES_WRITTEN.inc()
            elif s.state == "failed":
                self.report.failed += 1
                DESPATCHES_FAILED.labels(_failure_label(s.reason)).inc()
                self.report.error = f"order {order_id}: {s.reason}"
            elif s.state == "not_written":
                self.report.not_written += 1
            else:
                self.report.deferred += 1
                DESPATCHES_DEFERRED.labels(_failure_label(s.reason)).inc()
            log.info(
                "despatch_settled",
                store_hash=self._channel.store_hash,
                order_id=order_id,
                despatch_id=s.despatch_id,
                state=s.state,
                reason=s.reason,
            )


def _failure_label(reason: str | None) -> str:
    """A low-cardinality metric label for a plain reason."""
    text = reason or ""
    for needle, label in (
        ("refused the shipment", "refused"),
        (ORDER_CANCELLED, "order_cancelled"),
        ("not found", "order_not_found"),
        ("is not a", "invalid_despatch"),
        ("does not ship", "invalid_despatch"),
        ("401", "reauthorization_required"),
        ("403", "missing_scope"),
        ("unavailable", "unavailable"),
    ):
        if needle in text:
            return label
    return "other"


def _plan_from_memory(
    order_id: int, despatches: list[DueDespatch], known: OrderKnowledge
) -> OrderPlan | None:
    """The plan from the download's memory and the connector's own shipments, when that is enough.

    Enough means: every despatch is new (no request that may have reached BigCommerce) and names
    its items, no other despatch of the order is in doubt, nobody else moved the order to a
    shipped status, and the plan ships every despatch in full. Otherwise None: read BigCommerce.
    """
    memory = known.memory
    if memory is None or known.unaccounted:
        return None
    if any(d.state != "pending" or d.request is not None or d.items is None for d in despatches):
        return None
    if memory.status_id in statuses.WRITEBACK_STATUSES and not known.own_shipments:
        return None  # shipped by hand or by another app: what is left must be read
    plan = plan_order(order_id, despatches, lines_from_memory(memory), known.own_shipments)
    return plan if ships_exactly(plan, despatches) else None


def _requests_by_despatch(plan: OrderPlan) -> dict[int, list[dict[str, Any]]]:
    requests: dict[int, list[dict[str, Any]]] = {}
    for shipment_plan in plan.shipments:
        for despatch_id in shipment_plan.despatch_ids:
            requests.setdefault(despatch_id, []).append(shipment_plan.body.to_body())
    return requests
