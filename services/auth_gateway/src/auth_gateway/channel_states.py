"""The channel state machine: where a grant, an activation or a disconnection takes a channel."""

from __future__ import annotations

import uuid

from common.db.channels import ChannelStatus
from common.events import ChannelActivated, ChannelConnected, ChannelEvent

CONNECTED_STATUSES: frozenset[ChannelStatus] = frozenset({"pending", "active", "reauthorization_required"})


def status_after_grant(current: ChannelStatus | None, *, ever_activated: bool) -> ChannelStatus:
    """The status a successful auth callback leaves a channel in.

    A reinstall or scope update keeps a pending or active channel where it was. A channel that
    lost its grant (disconnected, or its token refused) resumes: `active` again if the merchant
    ever activated it (their settings were kept, so nothing is left to confirm), else `pending`.
    """
    if current is None:
        return "pending"
    if current in ("pending", "active"):
        return current
    return "active" if ever_activated else "pending"


def event_after_grant(
    channel_id: uuid.UUID,
    store_hash: str,
    before: ChannelStatus | None,
    after: ChannelStatus,
    *,
    created: bool,
) -> ChannelEvent | None:
    """ChannelConnected when the channel was created or came back; nothing for a token refresh."""
    if created or before in ("disconnected", "reauthorization_required"):
        return ChannelConnected(channel_id=channel_id, store_hash=store_hash, status=after)
    return None


def can_activate(status: ChannelStatus, *, holds_grant: bool) -> bool:
    """Only a channel holding a usable grant can be activated.

    A channel disconnected by "Disconnect Store" kept its grant (the app is still installed in
    BigCommerce), so activating it reconnects it at once (CONTRACT §5). After an uninstall the grant
    is gone, and a refused token (`reauthorization_required`) is no grant: those need BigCommerce.
    """
    if status == "disconnected":
        return holds_grant
    return status in ("pending", "active")


def events_after_activation(
    channel_id: uuid.UUID, store_hash: str, before: ChannelStatus
) -> list[ChannelEvent]:
    """What "Update and activate" publishes: nothing for an active channel; ChannelActivated for a
    pending one; for one reconnected after "Disconnect Store", ChannelConnected (it is connected again)
    then ChannelActivated (the merchant activated it)."""
    activated = ChannelActivated(channel_id=channel_id, store_hash=store_hash, status="active")
    if before == "active":
        return []
    if before == "disconnected":
        return [ChannelConnected(channel_id=channel_id, store_hash=store_hash, status="active"), activated]
    return [activated]


def keeps_grant_on_disconnect(status: ChannelStatus) -> bool:
    """ "Disconnect Store" keeps a working grant for "Update and activate"; a token BigCommerce
    already refused is erased, since nothing may be requested with it until the app is installed again."""
    return status != "reauthorization_required"
