"""v3 webhooks: list across pages, create (without duplicates on retry), update, delete."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from common.bigcommerce import NotFound

from .conftest import STORE, TOKEN, MakeClient, RequestLog, Serve

SCOPE = "store/order/statusUpdated"
DESTINATION = "https://gateway.example/bigcommerce/webhooks"


class HookStore:
    def __init__(self, log: RequestLog, page_size: int = 250) -> None:
        self.log = log
        self.page_size = page_size
        self.hooks: dict[int, dict[str, Any]] = {}
        self.fail_next_create_after_write = False

    def _hook(self, hook_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": hook_id,
            "client_id": "client-id-1",
            "store_hash": STORE,
            "scope": body["scope"],
            "destination": body["destination"],
            "is_active": body.get("is_active", True),
            "headers": body.get("headers"),
            "created_at": 1561479335,
            "updated_at": 1561479335,
        }

    async def list(self, request: web.Request) -> web.Response:
        await self.log.note(request)
        page = int(request.query.get("page", "1"))
        limit = min(int(request.query.get("limit", "50")), self.page_size)
        rows = list(self.hooks.values())
        total_pages = max(1, -(-len(rows) // limit))
        return web.json_response(
            {
                "data": rows[(page - 1) * limit : page * limit],
                "meta": {
                    "pagination": {"total": len(rows), "current_page": page, "total_pages": total_pages}
                },
            }
        )

    async def create(self, request: web.Request) -> web.Response:
        seen = await self.log.note(request)
        hook = self._hook(len(self.hooks) + 1, seen.body)
        self.hooks[hook["id"]] = hook
        if self.fail_next_create_after_write:
            self.fail_next_create_after_write = False
            return web.json_response({"status": 502, "title": "Bad Gateway"}, status=502)
        return web.json_response({"data": hook, "meta": {}})

    async def update(self, request: web.Request) -> web.Response:
        seen = await self.log.note(request)
        hook = self.hooks.get(int(request.match_info["id"]))
        if hook is None:
            return web.json_response({"status": 404, "title": "Not Found"}, status=404)
        hook.update(seen.body)
        return web.json_response({"data": hook, "meta": {}})

    async def delete(self, request: web.Request) -> web.Response:
        await self.log.note(request)
        if self.hooks.pop(int(request.match_info["id"]), None) is None:
            return web.json_response({"status": 404, "title": "Not Found"}, status=404)
        return web.json_response({"data": {}, "meta": {}})

    def app(self) -> web.Application:
        app = web.Application()
        base = f"/stores/{STORE}/v3/hooks"
        app.router.add_get(base, self.list)
        app.router.add_post(base, self.create)
        app.router.add_put(base + "/{id}", self.update)
        app.router.add_delete(base + "/{id}", self.delete)
        return app


async def test_hooks_are_created_listed_updated_and_deleted(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    hooks = HookStore(request_log)
    url = await serve(hooks.app())
    api = make_client(url).store(STORE, TOKEN)

    created = await api.create_hook(SCOPE, DESTINATION, {"X-Webhook-Token": "s3cret"})
    listed = await api.list_hooks()
    updated = await api.update_hook(created.id, is_active=False)
    await api.delete_hook(created.id)

    assert request_log.seen[0].body == {
        "scope": SCOPE,
        "destination": DESTINATION,
        "is_active": True,
        "headers": {"X-Webhook-Token": "s3cret"},
    }
    assert listed == [created]
    assert created.headers == {"X-Webhook-Token": "s3cret"}
    assert request_log.seen[2].body == {"is_active": False}  # only what was given
    assert updated.is_active is False
    assert hooks.hooks == {}
    with pytest.raises(NotFound):
        await api.delete_hook(created.id)


async def test_hooks_are_listed_across_pages(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    hooks = HookStore(request_log, page_size=2)
    for n in range(5):
        hooks.hooks[n + 1] = hooks._hook(n + 1, {"scope": SCOPE, "destination": f"{DESTINATION}/{n}"})
    url = await serve(hooks.app())
    api = make_client(url).store(STORE, TOKEN)

    listed = await api.list_hooks()

    assert [h.id for h in listed] == [1, 2, 3, 4, 5]
    assert [s.query["page"] for s in request_log.seen] == ["1", "2", "3"]


async def test_a_hook_created_by_a_failed_attempt_is_not_created_again(
    serve: Serve, make_client: MakeClient, request_log: RequestLog
) -> None:
    hooks = HookStore(request_log)
    hooks.fail_next_create_after_write = True
    url = await serve(hooks.app())
    api = make_client(url).store(STORE, TOKEN)

    created = await api.create_hook(SCOPE, DESTINATION, {"X-Webhook-Token": "s3cret"})

    assert list(hooks.hooks) == [created.id]
    assert [s.method for s in request_log.seen] == ["POST", "GET"]
