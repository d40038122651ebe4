"""The demo settings pages (open only for a launch's session, CSRF-protected, framed only by BigCommerce) and the operational routes."""

from __future__ import annotations

import aiohttp
from auth_gateway.app import POOL_KEY
from auth_gateway.page_sessions import SESSION_COOKIE
from yarl import URL

from tests.support.auth_gateway import GatewayRig, run_gateway_rig


async def _page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def _post(http: aiohttp.ClientSession, url: str, form: dict[str, str]) -> tuple[int, str]:
    async with http.post(url, data=form, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_without_a_launch_the_pages_do_not_open(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    url = f"{rig.base_url}/channels/{channel_id}/settings"
    before = await rig.channel_row(store.hash)
    async with rig.browser() as browser:
        status, html = await _page(browser, url)
        assert status == 403
        assert "Trading name" not in html
        assert (await _page(browser, f"{url}?launch=made-up-0123456789"))[0] == 403
        form = {"trading_name": "Taken over", "store_name": "x", "action": "activate"}
        assert (await _post(browser, url, form))[0] == 403
        assert (await _post(browser, url, {**form, "action": "delete"}))[0] == 403
        for action in ("delete", "disconnect", "retry"):
            assert (await _post(browser, f"{url}/{action}", {"order_id": "1"}))[0] == 403
        for confirmation in ("delete", "disconnect"):
            assert (await _page(browser, f"{url}/{confirmation}"))[0] == 403
    assert await rig.channel_row(store.hash) == before


async def test_a_session_opens_only_its_own_channel(rig: GatewayRig) -> None:
    mine, theirs = rig.create_store(), rig.create_store()
    await rig.installed_channel(mine.hash)
    their_channel = await rig.installed_channel(theirs.hash)
    my_channel, launch = await rig.launch(mine.hash)
    async with rig.browser() as browser:
        csrf = await rig.open_settings(browser, my_channel, launch)
        my_url = URL(f"{rig.base_url}/channels/{my_channel}/settings")
        cookie = browser.cookie_jar.filter_cookies(my_url)[SESSION_COOKIE].value
        # the cookie is scoped to its channel's page; sent by hand to another channel it opens nothing
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
        their_url = f"{rig.base_url}/channels/{their_channel}/settings"
        async with rig.http.get(their_url, headers=headers) as response:
            assert response.status == 403
        form = {"csrf_token": csrf, "action": "delete"}
        async with rig.http.post(their_url, data=form, headers=headers) as response:
            assert response.status == 403
    assert await rig.channel_row(theirs.hash) is not None
    # a launch token of one channel does not open another
    _, launch = await rig.launch(mine.hash)
    async with rig.browser() as browser:
        assert (await _page(browser, f"{their_url}?launch={launch}"))[0] == 403
    assert (await rig.api("POST", f"/api/v1/launches/{launch}"))[0] == 200  # not used up either


async def test_a_cross_site_post_with_the_session_but_without_its_csrf_token_changes_nothing(
    rig: GatewayRig,
) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    _, launch = await rig.launch(store.hash)
    url = f"{rig.base_url}/channels/{channel_id}/settings"
    before = await rig.channel_row(store.hash)
    async with rig.browser() as browser:
        csrf = await rig.open_settings(browser, channel_id, launch)
        # another site's form: the browser sends the cookie (SameSite=None in the iframe), not the token
        evil = {"trading_name": "Evil", "store_name": "Evil", "action": "activate"}
        headers = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        for forged in ({}, {"csrf_token": "guessed"}, {"csrf_token": csrf[:-1]}):
            async with browser.post(url, data={**evil, **forged}, headers=headers) as response:
                assert response.status == 403
        # another session's token is no good either
        _, other_launch = await rig.launch(store.hash)
        async with rig.browser() as other:
            other_csrf = await rig.open_settings(other, channel_id, other_launch)
        assert other_csrf != csrf
        async with browser.post(url, data={**evil, "csrf_token": other_csrf}) as response:
            assert response.status == 403
    assert await rig.channel_row(store.hash) == before


async def test_pages_may_be_framed_only_by_bigcommerce_and_cookies_are_locked_down(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    _, launch = await rig.launch(store.hash)
    url = f"{rig.base_url}/channels/{channel_id}/settings"
    async with rig.browser() as browser:
        async with browser.get(url, params={"launch": launch}, allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.cookies[SESSION_COOKIE]
        assert cookie["httponly"]
        assert cookie["path"] == f"/channels/{channel_id}/settings"
        assert int(cookie["max-age"]) == rig.settings.settings_session_seconds
        # plain http (this demo): browsers refuse SameSite=None without Secure
        assert (cookie["samesite"], cookie["secure"]) == ("Lax", "")
        async with browser.get(url) as response:
            policy = response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "SAMEORIGIN"  # browsers without frame-ancestors
    ancestors = next(p for p in policy.split(";") if p.strip().startswith("frame-ancestors"))
    sources = ancestors.split()[1:]
    assert sources == ["'self'", "https://*.mybigcommerce.com", "https://*.bigcommerce.com"]


async def test_over_https_the_cookie_is_secure_and_cross_site(
    database_url: str, amqp_url: str, topology: object, amqp_connection: object, pool: object
) -> None:
    async with run_gateway_rig(
        database_url=database_url,
        amqp_url=amqp_url,
        exchange=topology.exchange,  # type: ignore[attr-defined]
        pool=pool,  # type: ignore[arg-type]
        clickdrop_app_url="https://clickdrop.example",
        database_pool_size=3,
    ) as rig:
        assert rig.app[POOL_KEY].get_max_size() == 3  # DATABASE_POOL_SIZE
        store = rig.create_store()
        await rig.installed_channel(store.hash)
        channel_id, launch = await rig.launch(store.hash)
        url = f"{rig.base_url}/channels/{channel_id}/settings"
        async with rig.http.get(url, params={"launch": launch}, allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.cookies[SESSION_COOKIE]
    assert (cookie["samesite"], cookie["secure"], cookie["httponly"]) == ("None", True, True)


async def test_remove_user_ends_that_users_sessions(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    staff = rig.sandbox.add_user(store.hash, "staff@example.com")
    url = f"{rig.base_url}/channels/{channel_id}/settings"
    _, staff_launch = await rig.launch(store.hash, user_id=staff.id)
    _, owner_launch = await rig.launch(store.hash)
    async with rig.browser() as staff_browser, rig.browser() as owner_browser:
        await rig.open_settings(staff_browser, channel_id, staff_launch)
        await rig.open_settings(owner_browser, channel_id, owner_launch)
        _, unused = await rig.launch(store.hash, user_id=staff.id)

        call = await rig.sandbox.remove_user(store.hash, staff.id)
        assert call.status == 204

        assert (await _page(staff_browser, url))[0] == 403
        assert (await _page(owner_browser, url))[0] == 200
        assert (await rig.api("POST", f"/api/v1/launches/{unused}"))[0] == 404


async def test_an_expired_session_opens_nothing(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    _, launch = await rig.launch(store.hash)
    async with rig.browser() as browser:
        await rig.open_settings(browser, channel_id, launch)
        await rig.pool.execute("UPDATE settings_sessions SET expires_at = now() - interval '1 second'")
        assert (await _page(browser, f"{rig.base_url}/channels/{channel_id}/settings"))[0] == 403


async def test_pages_are_off_unless_enabled(
    database_url: str, amqp_url: str, topology: object, amqp_connection: object, pool: object
) -> None:
    # CLICKDROP_APP_URL equals PUBLIC_BASE_URL here, as in the base ConfigMap: no pages for that alone
    async with run_gateway_rig(
        database_url=database_url,
        amqp_url=amqp_url,
        exchange=topology.exchange,  # type: ignore[attr-defined]
        pool=pool,  # type: ignore[arg-type]
        settings_pages_enabled=False,
    ) as rig:
        assert rig.settings.clickdrop_app_url == rig.settings.public_base_url
        store = rig.create_store()
        channel_id = await rig.installed_channel(store.hash)
        _, launch = await rig.launch(store.hash)
        status, _ = await _page(rig.http, f"{rig.base_url}/channels/{channel_id}/settings?launch={launch}")
        assert status == 404
        # Click & Drop still gets the launch
        assert (await rig.api("POST", f"/api/v1/launches/{launch}"))[0] == 200


async def test_health_routes(rig: GatewayRig) -> None:
    assert (await _page(rig.http, f"{rig.base_url}/healthz"))[0] == 200
    status, body = await _page(rig.http, f"{rig.base_url}/readyz")
    assert status == 200
    assert '"database": "ok"' in body
    assert '"broker": "ok"' in body
    status, body = await _page(rig.http, f"{rig.base_url}/metrics")
    assert status == 200
    assert "outbox_events_relayed_total" in body


async def test_the_marketplace_launch_opens_the_settings_page_in_a_browser(rig: GatewayRig) -> None:
    # the demo's path: marketplace Launch -> load callback -> launch link -> session -> clean URL
    store = rig.create_store(name="Launch Shop")
    channel_id = await rig.installed_channel(store.hash)
    async with rig.browser() as browser:
        launch = f"{rig.sandbox.base_url}/marketplace/launch"
        async with browser.get(launch, params={"store": store.hash}) as response:
            assert response.status == 200
            assert str(response.url) == f"{rig.base_url}/channels/{channel_id}/settings"
            assert "Launch Shop" in await response.text()
