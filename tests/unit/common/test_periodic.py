"""`run_periodically`: the loop of every periodic job (retention, the webhook check)."""

from __future__ import annotations

import asyncpg
import pytest
from common.backoff import Backoff
from common.periodic import run_periodically


class Job:
    """Fails as told, one outcome per run; records the waits the loop asked for."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.runs = 0
        self.waits: list[float] = []

    async def __call__(self) -> None:
        self.runs += 1
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


async def run(job: Job, **options: float) -> BaseException:
    with pytest.raises((RuntimeError, ValueError, KeyError)) as ended:  # the bugs these jobs hit
        await run_periodically(
            job,
            name="job",
            sleep=job.sleep,
            backoff=lambda: Backoff(base_s=1.0, max_s=30.0, random=lambda: 1.0),
            **options,  # type: ignore[arg-type]
        )
    return ended.value


async def test_a_database_outage_is_retried_with_backoff_and_the_interval_resumes_after() -> None:
    job = Job(
        None,
        asyncpg.CannotConnectNowError("the database system is starting up"),
        ConnectionRefusedError(),
        None,
        RuntimeError("a bug"),
    )

    ended = await run(job, interval_s=3600.0, first_after_s=60.0)

    assert isinstance(ended, RuntimeError)  # a bug is not hidden: it ends the task
    assert job.runs == 5
    # first run after 60 s; after a success the interval; after failures 1 s, then 2 s
    assert job.waits == [60.0, 3600.0, 1.0, 2.0, 3600.0]


async def test_a_retry_never_waits_longer_than_the_interval() -> None:
    job = Job(*[OSError("unreachable")] * 7, ValueError("a bug"))

    await run(job, interval_s=10.0)

    assert job.waits == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


async def test_a_bug_on_the_first_run_ends_the_task_at_once() -> None:
    job = Job(KeyError("missing"))

    ended = await run(job, interval_s=10.0)

    assert isinstance(ended, KeyError)
    assert job.waits == [0.0]
