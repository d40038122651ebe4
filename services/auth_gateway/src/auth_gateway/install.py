"""The auth callback's work: exchange the code, check scopes, read the store, store the grant."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass

import structlog
from common.bigcommerce.errors import (
    BigCommerceError,
    MissingScope,
    OAuthExchangeError,
    ReauthorizationRequired,
)
from common.bigcommerce.models import StoreInfo, TokenGrant
from common.bigcommerce.oauth import exchange_code
from common.db.channels import ChannelStatus, request_download
from common.db.outbox import enqueue
from pydantic import ValidationError

from auth_gateway.channel_states import event_after_grant, status_after_grant
from auth_gateway.context import Gateway, GatewayError, new_webhook_secret, secret_digest
from auth_gateway.db.grants import (
    GrantRecord,
    lock_or_create_channel,
    require_reauthorization,
    set_webhook_secret,
    store_grant,
)
from auth_gateway.db.launches import LaunchUser
from auth_gateway.launch import issue_launch
from auth_gateway.settings import REQUIRED_SCOPES
from auth_gateway.webhook_registration import REQUEST_PATH_TIMEOUT_S, register_hook

log = structlog.get_logger(__name__)

_CONTEXT = re.compile(r"^stores/[A-Za-z0-9]{1,64}$")
_TRY_AGAIN = "Open the Click & Drop app again from the Apps menu of your BigCommerce control panel."


def missing_scopes(granted: frozenset[str], required: tuple[frozenset[str], ...]) -> list[str]:
    """Each requirement (any one of a set) the grant does not meet; a subset check, since
    BigCommerce adds implicit scopes to every grant (reference §1.2)."""
    return [" or ".join(sorted(options)) for options in required if not options & granted]


class InstallError(GatewayError):
    """The install cannot complete; `status` and `message` are for the merchant's error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True)
class Installed:
    channel_id: uuid.UUID
    status: ChannelStatus
    created: bool
    # for the "App installed" page's link: the installer, proved by the code exchange
    launch_token: str


async def install(gateway: Gateway, *, code: str, scope: str, context: str) -> Installed:
    """Complete an install, reinstall or scope update and return the channel.

    Raises:
        InstallError: the code was refused, the scopes are insufficient or BigCommerce failed.
    """
    if not code or not _CONTEXT.match(context):
        raise InstallError(
            400, "Installation link incomplete", f"The link lacks its code or store. {_TRY_AGAIN}"
        )
    settings = gateway.settings
    try:
        grant = await exchange_code(
            gateway.http,
            login_url=settings.bigcommerce_login_url,
            client_id=settings.bigcommerce_client_id,
            client_secret=settings.bigcommerce_client_secret,
            code=code,
            scope=scope,
            context=context,
            redirect_uri=settings.auth_callback_url,
        )
    except OAuthExchangeError as error:
        log.warning("oauth_code_refused", context=context, status=error.status, reason=error.message)
        if error.status is None or error.status >= 500:
            raise InstallError(
                502, "BigCommerce is not answering", f"Please try again in a minute. {_TRY_AGAIN}"
            ) from None
        raise InstallError(
            400,
            "Installation not completed",
            f"BigCommerce did not accept the authorization (it may have expired or been used already). {_TRY_AGAIN}",
        ) from None
    missing = missing_scopes(grant.scope, REQUIRED_SCOPES)
    if missing:
        await _refuse_scopes(gateway, grant.store_hash, missing)
    info = await _read_store(gateway, grant)
    return await _store(gateway, grant, info)


async def _refuse_scopes(gateway: Gateway, store_hash: str, missing: list[str]) -> None:
    reason = "The app was approved without the permissions it needs: " + ", ".join(missing)
    # the new grant replaced the channel's old token at BigCommerce, so an active channel stops too
    async with gateway.pool.acquire() as conn, conn.transaction():
        stopped = await require_reauthorization(conn, store_hash, reason)
    log.warning("oauth_scopes_insufficient", store_hash=store_hash, missing=missing, channel_stopped=stopped)
    raise InstallError(
        403,
        "Permissions missing",
        f"{reason}. Click & Drop needs to view and modify orders and to view store information. {_TRY_AGAIN}",
    )


async def _read_store(gateway: Gateway, grant: TokenGrant) -> StoreInfo:
    """The store's name, country, units and plan; empty facts when BigCommerce cannot say.

    The code is single-use, so a store-information hiccup must not throw the grant away: the
    merchant fills in the store name before activating, and the poller reads the units itself.
    A token refused (401) or lacking the scope (403) right after the exchange does stop the install.
    """
    store = gateway.bigcommerce.store(grant.store_hash, grant.access_token)
    try:
        async with asyncio.timeout(REQUEST_PATH_TIMEOUT_S):
            return await store.get_store_info()
    except (ReauthorizationRequired, MissingScope) as error:
        log.warning("store_information_refused", store_hash=grant.store_hash, error=str(error))
        raise InstallError(
            403,
            "Store information unavailable",
            f"BigCommerce refused to show your store's details to Click & Drop. {_TRY_AGAIN}",
        ) from None
    except (BigCommerceError, TimeoutError, ValidationError) as error:
        # ValidationError: an answer whose shape we do not know (e.g. without `id`)
        log.warning("store_information_unavailable", store_hash=grant.store_hash, error=type(error).__name__)
        return StoreInfo(id=grant.store_hash)


async def _store(gateway: Gateway, grant: TokenGrant, info: StoreInfo) -> Installed:
    record = GrantRecord(
        access_token_encrypted=gateway.cipher.encrypt(grant.access_token.get_secret_value()),
        scope=" ".join(sorted(grant.scope)),
        account_uuid=grant.account_uuid,
        username=grant.user.username or grant.user.email,
        owner_id=grant.owner.id if grant.owner else None,
        owner_email=grant.owner.email if grant.owner else None,
        store_name=info.name[:100],
        country=info.country,
        weight_units=info.weight_units,
        plan_name=info.plan_name,
    )
    # the installer opens the settings page: its launch token is theirs
    installer = LaunchUser(
        user_id=grant.user.id,
        user_email=grant.user.email,
        is_owner=grant.owner is not None and grant.owner.id == grant.user.id,
    )
    async with gateway.pool.acquire() as conn, conn.transaction():
        locked = await lock_or_create_channel(conn, grant.store_hash)
        before = None if locked.created else locked.status
        after = status_after_grant(before, ever_activated=locked.activated_at is not None)
        await store_grant(conn, locked.id, record, after)
        if locked.created or before == "disconnected" or not locked.has_webhook_secret:
            # BigCommerce deleted the old hooks on uninstall; a fresh secret retires the old header
            secret = new_webhook_secret()
            await set_webhook_secret(conn, locked.id, gateway.cipher.encrypt(secret), secret_digest(secret))
        event = event_after_grant(locked.id, grant.store_hash, before, after, created=locked.created)
        if event is not None:
            await enqueue(conn, event)
        if after == "active":
            await request_download(conn, locked.id)
        launch_token = await issue_launch(conn, locked.id, installer)
    gateway.notify_outbox()
    log.info(
        "app_installed",
        channel_id=str(locked.id),
        store_hash=grant.store_hash,
        status=after,
        previous_status=before,
        created=locked.created,
    )
    if after == "active":
        await register_hook(gateway, locked.id)
    return Installed(channel_id=locked.id, status=after, created=locked.created, launch_token=launch_token)
