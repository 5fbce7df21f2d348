"""Running one per-partition function over many partitions: in this process, on all cores, or on Dask.

Every batch command (export, validate, import of many inputs) cuts its work into
partitions and names a top-level function that turns one partition into one result.
:func:`run_partitions` runs that same function

- in this process (``jobs == 1``);
- in ``jobs`` worker processes forked from this one (``engine="local"``), after
  ``warm`` has loaded what every worker needs (definitions, the mapping), so that no
  worker loads it again;
- on a Dask distributed cluster (``engine="dask"``): the scheduler at ``scheduler``,
  or a local cluster of worker processes when none is named.  Workers load what
  they need once each, on first use.

Results come back in the order of the partitions, whatever the scheduling, so the
output of a run does not depend on the engine or the number of jobs.  At most a
window of partitions is in flight at once: the caller may read its input lazily and
memory stays flat however long the input is.

``shared`` is a value every call needs and that is too large to send with each
partition (the id index of a bulk export): forked workers inherit it, Dask workers
get it once by broadcast.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fhirconv.errors import FhirconvError, InputError, SchedulerUnreachable

P = TypeVar("P")
R = TypeVar("R")

ENGINES = ("local", "dask")
# Partitions in flight per worker: enough to keep every worker busy, few enough to keep memory flat.
WINDOW_PER_WORKER = 4
SCHEDULER_TIMEOUT = 10.0  # seconds to wait for a named scheduler to answer

_shared: Any = None  # what forked workers inherit (see run_partitions)


@dataclass(frozen=True)
class Engine:
    """Where partitions run. ``jobs`` is the number of worker processes (local) or of
    local-cluster workers (Dask without a scheduler)."""

    kind: Literal["local", "dask"] = "local"
    jobs: int = 1
    scheduler: str | None = None

    def describe(self) -> str:
        if self.kind == "dask":
            where = f"scheduler {self.scheduler}" if self.scheduler else f"local cluster of {self.jobs}"
            return f"Dask {where}"
        return f"{self.jobs} process" + ("es" if self.jobs != 1 else "")


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def make_engine(kind: str, jobs: int | None, scheduler: str | None) -> Engine:
    """The engine the options ask for; ``--scheduler`` only makes sense with Dask."""
    if scheduler is not None and kind != "dask":
        raise InputError("--scheduler needs --engine dask")
    return Engine("dask" if kind == "dask" else "local", jobs or default_jobs(), scheduler)


def run_partitions(
    fn: Callable[[P, Any], R],
    partitions: Iterable[P],
    engine: Engine,
    *,
    shared: Any = None,
    warm: Callable[[], None] | None = None,
) -> Iterator[R]:
    """``fn(partition, shared)`` for every partition, results in partition order."""
    if engine.kind == "dask":
        yield from _dask(fn, partitions, engine, shared)
        return
    if engine.jobs <= 1:
        for partition in partitions:
            yield fn(partition, shared)
        return
    yield from _forked(fn, partitions, engine.jobs, shared, warm)


def batches(items: Iterable[P], size: int) -> Iterator[list[P]]:
    """``items`` in lists of ``size`` (the last may be shorter), read lazily."""
    batch: list[P] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to the parent (which stops the pool) and dies quietly when the
    pool ends it: the parent's handlers, inherited by fork, would print a traceback each."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _call(fn: Callable[[Any, Any], Any], partition: Any) -> Any:
    return fn(partition, _shared)


def _forked(
    fn: Callable[[P, Any], R],
    partitions: Iterable[P],
    jobs: int,
    shared: Any,
    warm: Callable[[], None] | None,
) -> Iterator[R]:
    import multiprocessing

    global _shared
    if warm is not None:
        warm()  # loaded once here, inherited by every worker
    _shared = shared
    # fork: workers start with what this process has loaded; spawn would load it all again.
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(jobs, initializer=_worker_signals) as pool:
            window: deque[Any] = deque()
            for partition in partitions:
                window.append(pool.apply_async(_call, (fn, partition)))
                if len(window) >= jobs * WINDOW_PER_WORKER:
                    yield window.popleft().get()
            while window:
                yield window.popleft().get()
    finally:
        _shared = None


def _dask(fn: Callable[[P, Any], R], partitions: Iterable[P], engine: Engine, shared: Any) -> Iterator[R]:
    client, close = _dask_client(engine)
    try:
        # In a list: scatter would send the members of a set or list one by one.
        shared_future = client.scatter([shared], broadcast=True)[0] if shared is not None else None
        workers = max(1, len(client.nthreads()))
        window: deque[Any] = deque()
        for partition in partitions:
            window.append(client.submit(fn, partition, shared_future, pure=False))
            if len(window) >= workers * WINDOW_PER_WORKER:
                yield _dask_result(window.popleft())
        while window:
            yield _dask_result(window.popleft())
    finally:
        close()


def _dask_result(future: Any) -> Any:
    try:
        return future.result()
    finally:
        future.release()


def _dask_client(engine: Engine) -> tuple[Any, Callable[[], None]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError(
            "--engine dask needs Dask's distributed scheduler: pip install 'fhirconv[dask]'"
        ) from None
    if engine.scheduler is None:
        cluster = LocalCluster(
            n_workers=engine.jobs,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)

        def close_local() -> None:
            client.close()
            cluster.close()

        return client, close_local
    _handshake(engine.scheduler)
    try:
        client = Client(engine.scheduler, timeout=SCHEDULER_TIMEOUT)
    except FhirconvError:
        raise
    except (OSError, TimeoutError) as err:
        raise _unreachable(engine.scheduler, err) from None
    except ValueError as err:
        raise InputError(f"--scheduler {engine.scheduler}: not a scheduler address ({err})") from None
    except Exception as err:  # the other end spoke Dask but is no scheduler (a worker's address)
        raise SchedulerUnreachable(
            f"{engine.scheduler} answered, but not as a Dask scheduler (it refused a client: "
            f"{_reason(err)}); is it a worker's address? A scheduler listens on port 8786 by default"
        ) from None
    return client, client.close


def _handshake(address: str) -> None:
    """Dask's handshake with ``address``, within a deadline, before any client starts.

    distributed waits for the handshake without one: a server that accepts the connection
    and stays silent (a web server waiting for its request) would hang the command, and one
    that answers in another protocol makes it read a frame length out of text (a MemoryError).
    """
    import asyncio

    from distributed.comm.core import connect
    from distributed.security import Security

    # The connection attempts stop at SCHEDULER_TIMEOUT (an OSError); the handshake gets half as long again.
    deadline = 1.5 * SCHEDULER_TIMEOUT

    async def shake() -> None:
        args = Security().get_connection_args("client")
        comm = await asyncio.wait_for(connect(address, timeout=SCHEDULER_TIMEOUT, **args), deadline)
        await comm.close()

    try:
        asyncio.run(shake())
    except ValueError as err:
        raise InputError(f"--scheduler {address}: not a scheduler address ({err})") from None
    except TimeoutError:
        raise SchedulerUnreachable(
            f"the Dask scheduler at {address} did not answer: something accepts connections there but "
            f"said nothing in {deadline:g} s; check the address (a scheduler listens on port 8786 by default)"
        ) from None
    except OSError as err:
        raise _unreachable(address, err) from None
    except Exception as err:  # whatever the bytes of another protocol make of the reader
        raise SchedulerUnreachable(
            f"{address} answered, but not as a Dask scheduler (not in Dask's protocol: "
            f"{type(err).__name__}); check the address (a scheduler listens on port 8786 by default)"
        ) from None


def _unreachable(address: str, err: BaseException) -> SchedulerUnreachable:
    return SchedulerUnreachable(
        f"the Dask scheduler at {address} could not be reached "
        f"({_reason(err)}); start it with `dask scheduler` or check the address"
    )


def _reason(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text if len(text) < 160 else text[:157] + "..."
