"""gunicorn as `make demo` runs it (pasar/gunicorn_conf.py), on the test database, for tests
that need a real server process: a burst of shoppers, a server killed mid-sale."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole process group (master and workers) and wait for it to end."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=20)


def start(
    log: Path, *, workers: int, threads: int, app_name: str, port: int | None = None
) -> Server:
    """Start gunicorn with the demo's configuration and wait until /readyz answers 200."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PASAR_ENV": "development",
        "DEBUG": "false",
        "PORT": str(port),
        "WEB_WORKERS": str(workers),
        "WEB_THREADS": str(threads),
        "SECRET_KEY": settings.SECRET_KEY,
        "PASAR_PLATFORM_DB_KEY": settings.PASAR_PLATFORM_DB_KEY,
        "PGAPPNAME": app_name,
    }
    environment.pop("REDIS_URL", None)  # the demo runs without Redis
    # The server logs every request: to a file, as a pipe nobody reads would fill and block it.
    process = subprocess.Popen(  # noqa: S603 - our own command line, no input in it
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:pasar.gunicorn_conf"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(process=process, base=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                server.kill(signal.SIGKILL)
            output = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"The server did not become ready:\n{output}")
        time.sleep(0.2)
