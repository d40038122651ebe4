"""Pure arithmetic of the benchmark: percentiles, the busiest rate-limit window, CPU from /proc, extrapolation."""

from __future__ import annotations

import bisect
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

# BigCommerce's Standard and Plus plans: 150 requests per 30 s window, shared by every app (reference §7).
STANDARD_QUOTA = 150
STANDARD_WINDOW_S = 30.0
# The poller's schedule: every store once in a uniform 600-900 s interval, so 750 s between polls on average.
MEAN_POLL_INTERVAL_S = 750.0
FLUSH_PERIOD_S = 1800.0
TARGET_STORES = 100_000


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; NaN when empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def busiest_window(timestamps: Iterable[float], window_s: float) -> tuple[int, float | None]:
    """The most requests in any window of `window_s` seconds (sliding, not aligned) and where it starts.

    A window [t, t + window_s) is counted from each request's time t: the busiest window always starts
    at some request, so this finds the maximum over every possible placement.
    """
    if window_s <= 0:
        raise ValueError("window_s must be positive")
    ordered = sorted(timestamps)
    best, start = 0, None
    for index, at in enumerate(ordered):
        count = bisect.bisect_left(ordered, at + window_s, lo=index) - index
        if count > best:
            best, start = count, at
    return best, start


def window_share(requests: int, quota: int = STANDARD_QUOTA) -> float:
    """The fraction of a store's quota per window that `requests` in one window use."""
    if quota <= 0:
        raise ValueError("quota must be positive")
    return requests / quota


def cpu_seconds(stat_line: str, ticks_per_second: int) -> float:
    """User plus system CPU of a process from the text of /proc/<pid>/stat.

    The command name (field 2) is in parentheses and may hold spaces, so fields are counted after
    the last ')': utime and stime are fields 14 and 15 of the whole line.
    """
    fields = stat_line.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14, so index 11; stime index 12
    return (int(fields[11]) + int(fields[12])) / ticks_per_second


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds a live process has used; 0 if it is gone (a backend that ended)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return cpu_seconds(text, os.sysconf("SC_CLK_TCK"))


def process_rss_kib(pid: int) -> int:
    """Resident memory of a live process in KiB (VmRSS of /proc/<pid>/status); 0 if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def replicas_needed(work: float, per_replica: float) -> int:
    """Whole replicas to carry `work` when one carries `per_replica` (at least one)."""
    if per_replica <= 0:
        raise ValueError("per_replica must be positive")
    return max(1, math.ceil(work / per_replica))


def polls_per_second(stores: int, mean_interval_s: float = MEAN_POLL_INTERVAL_S) -> float:
    """The poll rate that keeps `stores` on a schedule with this mean interval."""
    return stores / mean_interval_s
