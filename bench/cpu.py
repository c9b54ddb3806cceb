"""Where the CPU went during a measurement: load client, gunicorn, PostgreSQL, everything else.

On a small machine the client, the server and the database share the cores, so every result
records how many cores each used: a client that needs a large share would be throttling the
server it measures, and work outside the benchmark (a test run, a build) makes the figures
unreliable, which the `other` share shows.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSnapshot:
    taken_at: float
    machine_cpus: int
    machine_busy: int
    machine_total: int
    client: int
    server: int
    database: int


@dataclass(frozen=True)
class Process:
    parent: int
    name: str
    ticks: int  # user + system CPU so far
    path: Path


def _process_table() -> dict[int, Process]:
    table = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = Process(
            int(fields[1]), name, int(fields[11]) + int(fields[12]), entry
        )
    return table


def _serves_database(process: Process, database: str) -> bool:
    """A PostgreSQL backend connected to `database` (its title: `postgres: user database ...`)."""
    if process.name != "postgres":
        return False
    try:
        title = (
            (process.path / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return False
    return title.startswith("postgres: ") and f" {database} " in title


def _descendants(table: dict[int, Process], root: int) -> set[int]:
    family = {root}
    grew = True
    while grew:
        children = {pid for pid, process in table.items() if process.parent in family}
        grew = not children <= family
        family |= children
    return family


def snapshot(server_pid: int, database: str) -> CpuSnapshot:
    """CPU ticks so far: gunicorn's master and workers, and the backends serving `database`."""
    lines = (PROC / "stat").read_text().splitlines()
    ticks = [int(value) for value in lines[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    table = _process_table()
    own = os.getpid()
    return CpuSnapshot(
        taken_at=time.perf_counter(),
        machine_cpus=sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit()),
        machine_busy=sum(ticks) - idle,
        machine_total=sum(ticks),
        client=table[own].ticks if own in table else 0,
        server=sum(table[pid].ticks for pid in _descendants(table, server_pid) if pid in table),
        database=sum(
            process.ticks for process in table.values() if _serves_database(process, database)
        ),
    )


def cores_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Average number of cores each party kept busy between two snapshots."""
    seconds = after.taken_at - before.taken_at

    def cores(ticks: int) -> float:
        return ticks / CLOCK_TICKS / seconds

    # /proc/stat counts every core's ticks: its busy share of all ticks times the core count.
    total = after.machine_total - before.machine_total
    busy = (after.machine_busy - before.machine_busy) / total if total else 0.0
    used = {
        "client": cores(after.client - before.client),
        "gunicorn": cores(after.server - before.server),
        "postgresql": cores(after.database - before.database),
    }
    used["other"] = max(0.0, busy * after.machine_cpus - sum(used.values()))
    return {party: round(value, 2) for party, value in used.items()}
