"""Hostile forms at every settings page route, with a live session and its CSRF token: never a 5xx,
never a change a valid form would not make; and a failure on our side is a page."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.auth_gateway import GatewayRig

# the forms whose fields matter (Disconnect Store and Delete take nothing but the CSRF token)
POSTS = ("", "/retry")
texts = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cs", "Zs", "So"]), max_size=20),
    st.sampled_from(["", " ", "\x00", "0", "-1", "101", "99999999999999999999", "on", "off", "<b>"]),
)
forms = st.fixed_dictionaries(
    {},
    optional={
        "action": st.one_of(st.sampled_from(["update", "activate", "delete", "disconnect"]), texts),
        "trading_name": texts,
        "store_name": texts,
        "mark_orders_as_despatched": texts,
        "order_id": texts,
        "extra": texts,
    },
)


async def test_hostile_forms_never_get_a_server_error(rig: GatewayRig) -> None:
    store = rig.create_store()
    await rig.installed_channel(store.hash)
    channel_id, launch = await rig.launch(store.hash)
    url = f"{rig.base_url}/channels/{channel_id}/settings"
    cases: list[tuple[str, dict[str, Any]]] = []

    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(path=st.sampled_from(POSTS), form=forms)
    def draw(path: str, form: dict[str, Any]) -> None:
        cases.append((path, form))

    draw()  # hypothesis draws the cases; they are sent on this test's event loop
    async with rig.browser() as browser:
        csrf = await rig.open_settings(browser, channel_id, launch)
        for path, form in cases:
            data = {"csrf_token": csrf, **form}
            async with browser.post(url + path, data=data, allow_redirects=False) as response:
                assert response.status == 303, (path, form, response.status)
            async with browser.get(url) as page:  # the outcome, shown once, escaped
                assert page.status == 200, (path, form, page.status)
                assert "<b>" not in await page.text()
    row = await rig.channel_row(store.hash)
    assert row is not None  # no Delete without its own form


async def test_a_failure_on_our_side_is_a_page_not_a_traceback(rig: GatewayRig) -> None:
    store = rig.create_store()
    channel_id = await rig.installed_channel(store.hash)
    _, launch = await rig.launch(store.hash)
    async with rig.browser() as browser:
        await rig.open_settings(browser, channel_id, launch)
        # a fault scoped to this test's own database: the sync panel's table is gone
        await rig.pool.execute("ALTER TABLE despatches RENAME TO despatches_gone")
        try:
            async with browser.get(f"{rig.base_url}/channels/{channel_id}/settings") as response:
                assert response.status == 503
                assert response.content_type == "text/html"
                html = await response.text()
        finally:
            await rig.pool.execute("ALTER TABLE despatches_gone RENAME TO despatches")
    assert "<title>Click &amp; Drop could not complete this</title>" in html
    assert "Traceback" not in html
    assert "despatches" not in html
