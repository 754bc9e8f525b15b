"""jupyter_msal.identity.single_flight: concurrent calls for one key share one execution."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from jupyter_msal.identity.single_flight import SingleFlight

#: Long enough for a thread that is merely slow; a test that waits this long has failed.
WAIT = 10


def test_a_lone_call_runs_the_work_and_returns_its_result():
    flight: SingleFlight[str, int] = SingleFlight()
    assert flight.run("k", lambda: 42) == 42
    assert flight.joined == 0


def test_sequential_calls_run_the_work_each_time():
    flight: SingleFlight[str, int] = SingleFlight()
    calls: list[int] = []
    for i in range(3):
        assert flight.run("k", lambda i=i: calls.append(i) or i) == i
    assert calls == [0, 1, 2]
    assert flight.joined == 0


@pytest.mark.parametrize("followers", [1, 4])
def test_concurrent_callers_share_one_execution(followers: int):
    flight: SingleFlight[str, str] = SingleFlight()
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def work() -> str:
        runs.append("run")
        started.set()
        assert release.wait(WAIT)
        return "result"

    with ThreadPoolExecutor(followers + 1) as pool:
        leader = pool.submit(flight.run, "k", work)
        assert started.wait(WAIT)
        others = [pool.submit(flight.run, "k", work) for _ in range(followers)]
        while flight.joined < followers:  # every follower is waiting on the leader's flight
            threading.Event().wait(0.001)
        release.set()
        results = [leader.result(WAIT)] + [f.result(WAIT) for f in others]
    assert results == ["result"] * (followers + 1)
    assert runs == ["run"]
    assert flight.joined == followers


def test_different_keys_fly_separately():
    flight: SingleFlight[str, str] = SingleFlight()
    barrier = threading.Barrier(2, timeout=WAIT)

    def work(name: str) -> str:
        barrier.wait()  # both must be running at once, or this times out
        return name

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(flight.run, "a", lambda: work("a"))
        b = pool.submit(flight.run, "b", lambda: work("b"))
        assert (a.result(WAIT), b.result(WAIT)) == ("a", "b")
    assert flight.joined == 0


def test_an_error_reaches_every_caller_and_ends_the_flight():
    flight: SingleFlight[str, str] = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def fail() -> str:
        started.set()
        assert release.wait(WAIT)
        raise KeyError("boom")

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(flight.run, "k", fail)
        assert started.wait(WAIT)
        follower = pool.submit(flight.run, "k", fail)
        while flight.joined < 1:
            threading.Event().wait(0.001)
        release.set()
        for future in (leader, follower):
            with pytest.raises(KeyError, match="boom"):
                future.result(WAIT)
    assert flight.run("k", lambda: "again") == "again"  # the failed flight is forgotten


def test_run_async_shares_a_flight_with_threads():
    flight: SingleFlight[str, str] = SingleFlight()
    release = threading.Event()
    runs: list[str] = []

    def work() -> str:
        runs.append("run")
        assert release.wait(WAIT)
        return "result"

    async def main(executor: ThreadPoolExecutor) -> list[str]:
        first = asyncio.ensure_future(flight.run_async("k", work, executor))
        second = asyncio.ensure_future(flight.run_async("k", work, executor))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        follower = asyncio.get_running_loop().run_in_executor(None, flight.run, "k", work)
        while flight.joined < 2:
            await asyncio.sleep(0.001)
        release.set()
        return list(await asyncio.wait_for(asyncio.gather(first, second, follower), WAIT))

    with ThreadPoolExecutor(1) as executor:
        assert asyncio.run(main(executor)) == ["result"] * 3
    assert runs == ["run"]
    assert flight.joined == 2


def test_run_async_raises_the_work_error():
    flight: SingleFlight[str, str] = SingleFlight()

    def fail() -> str:
        raise ValueError("no")

    async def main(executor: ThreadPoolExecutor) -> str:
        return await flight.run_async("k", fail, executor)

    with ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="no"):
        asyncio.run(main(executor))
