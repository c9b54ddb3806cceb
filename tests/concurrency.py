"""Run the same work on many threads at once, each with its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def at_once[T](
    count: int, work: Callable[[int], T], *, timeout: float = 120
) -> list[T | Exception]:
    """`work(0)` ... `work(count - 1)`, each on its own thread and connection, released
    together; each one's result, or the exception it raised."""
    barrier = threading.Barrier(count)
    outcomes: list[T | Exception] = [RuntimeError("did not finish")] * count

    def run(index: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            outcomes[index] = work(index)
        except Exception as error:  # the caller's assertions look at it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes
