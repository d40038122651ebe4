"""The gateway serves the AsyncAPI document beside the OpenAPI one, without a token."""

from __future__ import annotations

from pathlib import Path

from tests.support.auth_gateway import GatewayRig

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


async def test_asyncapi_document_is_served_as_committed(rig: GatewayRig) -> None:
    async with rig.http.get(f"{rig.base_url}/api/v1/asyncapi.json") as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert await response.text() == COMMITTED.read_text(encoding="utf-8")
    async with rig.http.get(f"{rig.base_url}/api/v1/openapi.json") as response:
        documented = (await response.json())["paths"]
    assert "/api/v1/asyncapi.json" in documented
