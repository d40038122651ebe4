"""What the internal API and the settings page do to a channel: settings, activate, disconnect, delete, sync."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import structlog
from common.db.channels import Channel, ChannelStatus, get_channel, request_download
from common.db.despatches import count_pending_by_channel, count_pending_despatches
from common.db.outbox import enqueue
from common.events import ChannelDisconnected

from auth_gateway.channel_states import (
    CONNECTED_STATUSES,
    can_activate,
    events_after_activation,
    keeps_grant_on_disconnect,
)
from auth_gateway.context import Gateway, GatewayError
from auth_gateway.db import channel_writes
from auth_gateway.models import ChannelSettings, ChannelView
from auth_gateway.webhook_registration import delete_hooks, register_hook

if TYPE_CHECKING:
    import asyncpg

log = structlog.get_logger(__name__)

# The guide's required fields (marked *): activation needs them, an active channel keeps them.
REQUIRED_NAMES = ("trading_name", "store_name")
UNINSTALLED = "The app was uninstalled in BigCommerce; install it again to reconnect."
DISCONNECTED_HERE = "Disconnected in Click & Drop (Disconnect Store); Update and activate reconnects it."
# Why activation is refused, by status (CONTRACT §4: after an uninstall, 409 saying to install again).
INSTALL_AGAIN = (
    "the app was uninstalled in BigCommerce, so Click & Drop holds no access to the store: "
    "install the app again from the BigCommerce marketplace to reconnect"
)
REOPEN_APP = (
    "BigCommerce no longer accepts this channel's access: open the Click & Drop app again from the "
    "Apps menu of the BigCommerce control panel (or install it again) to reconnect"
)


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
    reconnectable = channel.status == "disconnected" and await channel_writes.holds_grant(conn, channel.id)
    return ChannelView.build(
        channel, await count_pending_despatches(conn, channel.id), reconnectable=reconnectable
    )


async def list_views(gateway: Gateway, status: ChannelStatus | None = None) -> list[ChannelView]:
    async with gateway.pool.acquire() as conn:
        channels = await channel_writes.list_channels(conn, status)
        ids = [c.id for c in channels]
        # one query each for the whole list, not one per channel
        pending = await count_pending_by_channel(conn, ids)
        reconnectable = await channel_writes.reconnectable_ids(conn, ids)
    return [ChannelView.build(c, pending.get(c.id, 0), reconnectable=c.id in reconnectable) for c in channels]


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

    On a channel disconnected by "Disconnect Store" (its grant kept) this reconnects it.

    Raises:
        ChannelStateError: a required name is empty, or the channel holds no usable grant.
    """
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        holds_grant = await channel_writes.holds_grant(conn, channel_id)
        if not can_activate(channel.status, holds_grant=holds_grant):
            raise ChannelStateError(
                REOPEN_APP if channel.status == "reauthorization_required" else INSTALL_AGAIN
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
        for event in events_after_activation(channel_id, channel.store_hash, channel.status):
            await enqueue(conn, event)
        # the first download starts now rather than at the next poll
        await request_download(conn, channel_id)
    gateway.notify_outbox()
    log.info(
        "channel_activated",
        channel_id=str(channel_id),
        store_hash=channel.store_hash,
        previous_status=channel.status,
    )
    await register_hook(gateway, channel_id)
    return await get_view(gateway, channel_id)


async def disconnect(gateway: Gateway, channel_id: uuid.UUID) -> ChannelView:
    """ "Disconnect Store": stop the channel, keeping its grant; repeating it changes nothing."""
    # with the token still at hand, while it may still be used (only an active channel has hooks)
    await delete_hooks(gateway, channel_id)
    async with gateway.pool.acquire() as conn, conn.transaction():
        channel = await channel_writes.lock_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFoundError(str(channel_id))
        changed = await disconnect_locked(conn, channel, DISCONNECTED_HERE, keep_grant=True)
    if changed:
        gateway.notify_outbox()
        log.info("channel_disconnected", channel_id=str(channel_id), store_hash=channel.store_hash)
    return await get_view(gateway, channel_id)


async def disconnect_locked(
    conn: asyncpg.Connection, channel: Channel, reason: str, *, keep_grant: bool
) -> bool:
    """Disconnect a channel locked in the caller's transaction; True when it was connected.

    `keep_grant` is False for an uninstall (BigCommerce revoked the grant): the token is erased,
    also from a channel that "Disconnect Store" had already disconnected.
    """
    if channel.status not in CONNECTED_STATUSES:
        if not keep_grant:
            await channel_writes.erase_grant(conn, channel.id, reason)
        return False
    keep = keep_grant and keeps_grant_on_disconnect(channel.status)
    await channel_writes.mark_disconnected(conn, channel.id, reason, keep_grant=keep)
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
