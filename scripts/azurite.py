"""A local Azurite blob service for tests, the Azure demo and the bench.

Azurite is pinned in package.json / package-lock.json (`make node` installs it into
node_modules). It runs in memory on 127.0.0.1 with a port the OS picks, so parallel runs never
collide, and is stopped with its whole process group.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from azure.storage.blob import BlobServiceClient, ContainerClient

ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB = ROOT / "node_modules" / ".bin" / "azurite-blob"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_LISTENING = re.compile(r"listens on https?://[\d.]+:(\d+)")


def connection_string(port: int, host: str = "127.0.0.1", key: str = DEV_KEY) -> str:
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={DEV_ACCOUNT};AccountKey={key};"
        f"BlobEndpoint=http://{host}:{port}/{DEV_ACCOUNT};"
    )


class Azurite:
    """`with Azurite() as az:` starts azurite-blob and stops it on exit."""

    def __init__(self, binary: Path = AZURITE_BLOB, startup_timeout: float = 30.0):
        self.binary = Path(binary)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        assert self.port is not None, "Azurite is not running"
        return connection_string(self.port)

    def service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)

    def start(self) -> Azurite:
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: run `make node` (npm ci) first")
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        self.proc = subprocess.Popen(
            [
                str(self.binary),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
                "--inMemoryPersistence",
                "--extentMemoryLimit",
                "2048",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            cwd=self._workdir.name,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stop() ends node and its children
        )
        port: list[int] = []
        ready = threading.Event()

        def pump() -> None:
            # keep draining the pipe so a chatty Azurite never blocks on a full buffer
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self._output.append(line.rstrip())
                m = _LISTENING.search(line)
                if m and not port:
                    port.append(int(m.group(1)))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, name="azurite-output", daemon=True).start()
        if not ready.wait(self.startup_timeout) or not port:
            self.stop()
            raise RuntimeError(
                "azurite-blob did not start within "
                f"{self.startup_timeout:.0f}s: {' | '.join(self._output[-5:])}"
            )
        self.port = port[0]
        self._wait_answering()
        return self

    def _wait_answering(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /devstoreaccount1?comp=list HTTP/1.1\r\nHost: x\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/1.1"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("azurite-blob listens but does not answer HTTP")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        self.proc = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def upload_folder(
    container: ContainerClient,
    folder: str | os.PathLike,
    prefix: str = "",
    *,
    only: str | None = None,
) -> list[str]:
    """Upload every file of `folder` (recursively) under `prefix/`, same relative layout.

    `only` restricts the upload to one top-level sub-folder (a dataset). Returns blob names.
    """
    folder = Path(folder)
    base = folder / only if only else folder
    if not container.exists():
        container.create_container()
    paths = sorted(p for p in base.rglob("*") if p.is_file())
    names = [f"{prefix.strip('/')}/{p.relative_to(folder).as_posix()}".lstrip("/") for p in paths]

    def put(path: Path, name: str) -> None:
        with open(path, "rb") as fh:
            container.upload_blob(name, fh, overwrite=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, paths, names))
    return names
