"""Each channel state in the merchant's words, with the one action that gets the channel out of it.

The settings page offers exactly the buttons that can work in each state: never an "Update and
activate" that would be refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from auth_gateway.models import ChannelView

# What gets the channel going again: the page's "Update and activate", or something only
# BigCommerce can do (open the app again, or install it again).
WayOut = Literal["none", "activate", "reopen_app", "install_app"]


@dataclass(frozen=True)
class StateText:
    label: str  # the Status column's name for it
    title: str  # the state panel's heading
    explanation: str
    way_out: WayOut
    # "Disconnect Store" is offered while the channel is connected
    connected: bool = True

    @property
    def can_activate(self) -> bool:
        return self.way_out in ("none", "activate")


_PENDING = StateText(
    label="Not yet active",
    title="Not yet active: check your settings",
    explanation=(
        "Your BigCommerce store is connected, but no orders download yet. Check the settings below, "
        "then click Update and activate."
    ),
    way_out="activate",
)
_ACTIVE = StateText(
    label="Active",
    title="Active: your orders are downloading",
    explanation=(
        "Orders in Awaiting Shipment download into Click & Drop automatically, and your despatches "
        "are written back to your BigCommerce store. Sync below shows when."
    ),
    way_out="none",
)
_REAUTHORIZE = StateText(
    label="Reconnection needed",
    title="Reconnection needed: open the app in BigCommerce",
    explanation=(
        "BigCommerce no longer accepts Click & Drop's access to your store. This happens when the "
        "app's permissions or the store owner's e-mail address change. Nothing downloads until you "
        "open the Click & Drop app again from the Apps menu of your BigCommerce control panel and "
        "accept its permissions; if BigCommerce does not ask you to, uninstall the app and install it "
        "again. Your settings are kept."
    ),
    way_out="reopen_app",
)
_DISCONNECTED_HERE = StateText(
    label="Disconnected",
    title="Disconnected: click Update and activate to reconnect",
    explanation=(
        "You disconnected this store with Disconnect Store: no orders download and no despatches are "
        "written back. The app is still installed in BigCommerce and your settings are kept, so "
        "Update and activate reconnects it at once."
    ),
    way_out="activate",
    connected=False,
)
_UNINSTALLED = StateText(
    label="Disconnected",
    title="Disconnected: install the app again in BigCommerce",
    explanation=(
        "The Click & Drop app was uninstalled from your BigCommerce store, so no orders download. To "
        "reconnect, install the app again from the BigCommerce marketplace (if it still shows as "
        "installed there, uninstall it first). Your settings are kept."
    ),
    way_out="install_app",
    connected=False,
)


def state_text(view: ChannelView) -> StateText:
    if view.status == "disconnected":
        return _DISCONNECTED_HERE if view.reconnectable else _UNINSTALLED
    return {"pending": _PENDING, "active": _ACTIVE, "reauthorization_required": _REAUTHORIZE}[view.status]
