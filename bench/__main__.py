"""Run the baselines, then every stage_*.py module, and print one table."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import platform
from collections.abc import Awaitable, Callable

from common.logging import configure_logging

import bench
from bench.baselines import BASELINES
from bench.harness import BenchEnv, StageResult

Stage = Callable[[BenchEnv], Awaitable[list[StageResult]]]


def discover_stages() -> list[tuple[str, Stage]]:
    stages = []
    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("stage_")):
        stages.append((module, importlib.import_module(f"bench.{module}").run))
    return stages


def render(rows: list[StageResult]) -> str:
    by_name = {row.stage: row for row in rows}
    header = f"{'stage':<48} {'items':>7} {'items/s':>10} {'baseline items/s':>17} {'ratio':>7} {'BC calls/item':>14}"
    lines = [header, "-" * len(header)]
    for row in rows:
        base = by_name.get(row.baseline) if row.baseline else None
        base_rate = f"{base.rate:,.0f}" if base else ""
        ratio = f"{row.rate / base.rate:.2f}" if base else ""
        calls = f"{row.calls_per_item:.2f}" if row.calls_per_item is not None else ""
        lines.append(
            f"{row.stage:<48} {row.items:>7} {row.rate:>10,.0f} {base_rate:>17} {ratio:>7} {calls:>14}"
        )
        if row.note:
            lines.append(f"    {row.note}")
    return "\n".join(lines)


async def main(scale: int) -> None:
    env = BenchEnv(scale=scale)
    rows: list[StageResult] = []
    for baseline in BASELINES:
        rows.append(await baseline(env))
    for name, stage in discover_stages():
        try:
            rows.extend(await stage(env))
        except Exception as error:  # noqa: BLE001 - one broken stage must not hide the others
            rows.append(StageResult(f"{name}: FAILED", 0, 1.0, note=f"{type(error).__name__}: {error}"))
    await env.cleanup()
    print(f"machine: {platform.machine()}, python {platform.python_version()}, scale {scale}")
    print(render(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--scale", type=int, default=1000, help="orders / despatches per stage")
    args = parser.parse_args()
    configure_logging("WARNING", "console")  # the stages' own info lines would drown the table
    asyncio.run(main(args.scale))
