"""Run the baselines, then every stage_*.py module (or those named), and print one table."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import importlib
import os
import pkgutil
import platform
import textwrap
from collections.abc import Awaitable, Callable, Sequence

from common.logging import configure_logging

import bench
from bench.baselines import BASELINES, sandbox_round_trips
from bench.harness import BenchEnv, Figure, Row, StageResult

Stage = Callable[[BenchEnv], Awaitable[Sequence[Row]]]

# Rows compared with raw HTTP: each gets a baseline that makes as many requests per item as it did.
HTTP_BASELINE = "baseline: aiohttp GET (local)"


def discover_stages(selected: Sequence[str]) -> list[str]:
    """Every stage module's name, or those that contain one of `selected`."""
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("stage_"))
    if selected:
        names = [name for name in names if any(part in name for part in selected)]
    return names


async def same_request_baselines(env: BenchEnv, rows: list[Row]) -> list[Row]:
    """Point each HTTP-bound row at a baseline making its measured number of requests per item.

    Rows with the same requests per item (to two decimals) share one baseline.
    """
    measured: list[Row] = []
    baselines: dict[str, StageResult] = {}
    for row in rows:
        if isinstance(row, StageResult) and row.baseline == HTTP_BASELINE and row.calls_per_item:
            key = f"{row.calls_per_item:.2f}"
            if key not in baselines:
                baselines[key] = await sandbox_round_trips(env, row.items, row.calls_per_item)
                measured.append(baselines[key])
            row = dataclasses.replace(row, baseline=baselines[key].stage)
        measured.append(row)
    return measured


def render(rows: Sequence[Row]) -> str:
    results = [row for row in rows if isinstance(row, StageResult)]
    by_name = {row.stage: row for row in results}
    header = f"{'stage':<52} {'items':>7} {'items/s':>10} {'baseline items/s':>17} {'ratio':>7} {'BC calls/item':>14}"
    lines = [header, "-" * len(header)]
    for row in results:
        base = by_name.get(row.baseline) if row.baseline else None
        base_rate = f"{base.rate:,.0f}" if base else ""
        ratio = f"{row.rate / base.rate:.2f}" if base else ""
        calls = f"{row.calls_per_item:.2f}" if row.calls_per_item is not None else ""
        lines.append(
            f"{row.stage:<52} {row.items:>7} {row.rate:>10,.0f} {base_rate:>17} {ratio:>7} {calls:>14}"
        )
        if row.note:
            lines.append(_wrapped(row.note, len(header)))
    figures = [row for row in rows if isinstance(row, Figure)]
    if figures:
        lines.append("-" * len(header))
        lines.append(f"{'figure':<52} {'measured':>24} {'goal':>22} {'met':>5}")
        for figure in figures:
            met = "" if figure.met is None else ("yes" if figure.met else "NO")
            lines.append(f"{figure.name:<52} {figure.value:>24} {figure.goal:>22} {met:>5}")
            if figure.note:
                lines.append(_wrapped(figure.note, len(header)))
    return "\n".join(lines)


def _wrapped(note: str, width: int) -> str:
    return textwrap.fill(note, width, initial_indent="    ", subsequent_indent="    ")


async def main(env: BenchEnv, selected: Sequence[str]) -> None:
    rows: list[Row] = []
    for baseline in BASELINES:
        rows.append(await baseline(env))
    for name in discover_stages(selected):
        try:
            stage: Stage = importlib.import_module(f"bench.{name}").run
            rows.extend(await stage(env))
        except Exception as error:  # noqa: BLE001 - one broken stage must not hide the others
            rows.append(StageResult(f"{name}: FAILED", 0, 1.0, note=f"{type(error).__name__}: {error}"))
    rows = await same_request_baselines(env, rows)
    await env.cleanup()
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"scale {env.scale}, stores {env.stores}, {today}"
    )
    print(render(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--scale", type=int, default=1000, help="orders / despatches per stage")
    parser.add_argument(
        "--stores", type=int, default=1000, help="stores polled and flushed by the capacity stages"
    )
    parser.add_argument(
        "--stage",
        action="append",
        default=[],
        help="run only the stages whose module name contains this (repeatable), e.g. webhook_latency",
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")  # the stages' own info lines would drown the table
    asyncio.run(main(BenchEnv(scale=args.scale, stores=args.stores), args.stage))
