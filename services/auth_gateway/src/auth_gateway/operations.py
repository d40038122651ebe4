"""What the internal API and the settings page do to a channel: settings, activate, disconnect, delete, sync."""

from __future__ import annotations

import uuid

import asyncpg
import structlog
from common.db.channels import Channel, ChannelStatus, get_channel, request_download
from common.db.despatches import count_pending_by_channel, count_pending_despatches
from common.events import ChannelActivated, ChannelDisconnected
from common.outbox import enqueue

from auth_gateway.context import Gateway, GatewayError
from auth_gateway.db import channel_writes
from auth_gateway.hooks import delete_hooks, register_hook
from auth_gateway.lifecycle import CONNECTED_STATUSES, can_activate
from auth_gateway.models import ChannelSettings, ChannelView

log = structlog.get_logger(__name__)

# The guide's required fields (marked *): activation needs them, an active channel keeps them.
REQUIRED_NAMES = ("trading_name", "store_name")
UNINSTALLED = "The app was uninstalled in BigCommerce; install it again to reconnect."
DISCONNECTED_HERE = "Disconnected in Click & Drop; install the app again in BigCommerce to reconnect."


class ChannelNotFoundError(GatewayError):
    """No channel has this id."""


class RequiredFieldError(GatewayError):
    """A setting would empty a field the channel's state requires; `fields` names each one."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class ChannelStateError(GatewayError):
    """The channel's state forbids the operation; `fields` names what the merchant must fix."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


async def to_view(conn: asyncpg.Connection | asyncpg.Pool, channel: Channel) -> ChannelView:
    return ChannelView.build(channel, await count_pending_despatches(conn, channel.id))


async def list_views(gateway: Gateway, status: ChannelStatus | None = None) -> list[ChannelView]:
    async with gateway.pool.acquire() as conn:
        channels = await channel_writes.list_channels(conn, status)
        # one count query for the whole list, not one per channel
        pending = await count_pending_by_channel(conn, [c.id for c in channels])
    return [ChannelView.build(c, pending.get(c.id, 0)) for c in channels]


async def get_view(gateway: Gateway, channel_id: uuid.UUID) -> ChannelView:
    async with gateway.pool.acquire() as conn:
        channel = await get_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        return await to_view(conn, channel)


async def update_settings(gateway: Gateway, channel_id: uuid.UUID, settings: ChannelSettings) -> ChannelView:
    """Write the given settings in one statement (all or nothing)."""
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        change = settings.to_change()
        if channel.status == "active":
            emptied = [name for name in REQUIRED_NAMES if getattr(change, name) == ""]
            if emptied:
                raise RequiredFieldError(
                    {name: "is required while the channel is active" for name in emptied}
                )
        await channel_writes.update_settings(conn, channel_id, change)
    log.info("channel_settings_updated", channel_id=str(channel_id), fields=sorted(settings.model_fields_set))
    return await get_view(gateway, channel_id)


async def activate(
    gateway: Gateway, channel_id: uuid.UUID, settings: ChannelSettings | None = None
) -> ChannelView:
    """ "Update and activate": apply `settings`, then start downloading and register the webhook.

    Raises:
        ChannelStateError: a required name is empty, or the channel holds no usable grant.
    """
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        if not can_activate(channel.status):
            raise ChannelStateError(
                f"the channel is {channel.status.replace('_', ' ')}: install the app in "
                "BigCommerce again before activating it"
            )
        change = settings.to_change() if settings else None
        names = {
            name: getattr(channel, name)
            if change is None or getattr(change, name) is None
            else getattr(change, name)
            for name in REQUIRED_NAMES
        }
        empty = {field: "is required to activate the channel" for field, value in names.items() if not value}
        if empty:
            raise ChannelStateError(
                f"fill in {' and '.join(empty)} before activating the channel", fields=empty
            )
        if change is not None:
            await channel_writes.update_settings(conn, channel_id, change)
        await channel_writes.mark_active(conn, channel_id)
        if channel.status != "active":
            await enqueue(
                conn, ChannelActivated(channel_id=channel_id, store_hash=channel.store_hash, status="active")
            )
        # the first download starts now rather than at the next poll
        await request_download(conn, channel_id)
    gateway.notify_outbox()
    log.info("channel_activated", channel_id=str(channel_id), store_hash=channel.store_hash)
    await register_hook(gateway, channel_id)
    return await get_view(gateway, channel_id)


async def disconnect(
    gateway: Gateway, channel_id: uuid.UUID, *, reason: str = DISCONNECTED_HERE, remove_hooks: bool = True
) -> ChannelView:
    """Stop the channel and erase its token; repeating it changes nothing."""
    if remove_hooks:
        # with the token still at hand; after this the store cannot be called any more
        await delete_hooks(gateway, channel_id)
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        changed = await disconnect_locked(conn, channel, reason)
    if changed:
        gateway.notify_outbox()
        log.info("channel_disconnected", channel_id=str(channel_id), store_hash=channel.store_hash)
    return await get_view(gateway, channel_id)


async def disconnect_locked(conn: asyncpg.Connection, channel: Channel, reason: str) -> bool:
    """Disconnect a channel locked in the caller's transaction; False when it was not connected."""
    if channel.status not in CONNECTED_STATUSES:
        return False
    await channel_writes.mark_disconnected(conn, channel.id, reason)
    await enqueue(
        conn, ChannelDisconnected(channel_id=channel.id, store_hash=channel.store_hash, status="disconnected")
    )
    return True


async def delete(gateway: Gateway, channel_id: uuid.UUID) -> None:
    """Disconnect (if connected) and remove the channel with its users and despatch records."""
    await disconnect(gateway, channel_id)
    async with gateway.pool.acquire() as conn, conn.transaction():
        await channel_writes.delete_channel(conn, channel_id)
    log.info("channel_deleted", channel_id=str(channel_id))


async def sync(gateway: Gateway, channel_id: uuid.UUID) -> ChannelView:
    """Ask the pollers to download this channel now."""
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        if channel.status != "active" or not await request_download(conn, channel_id):
            raise ChannelStateError(f"only an active channel downloads orders; this one is {channel.status}")
    log.info("channel_sync_requested", channel_id=str(channel_id))
    return await get_view(gateway, channel_id)
