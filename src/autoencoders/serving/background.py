"""``autoencoders serve RUN`` in a child process, for scripts that drive a live server
(the browser tests, the load benchmark, the README's screenshot).

>>> with serve_in_background("runs/conv") as url:   # doctest: +SKIP
...     httpx.get(f"{url}/health")
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path


@contextlib.contextmanager
def serve_in_background(
    run: str | Path, *, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> Iterator[str]:
    """Start the server on a free loopback port and yield its URL once ``/health``
    answers; stop it on leaving the block. A server that exits first, or does not
    answer within ``timeout`` seconds, raises RuntimeError with what it printed
    (its output goes to a file, so a chatty server never blocks on a full pipe)."""
    import httpx  # the serve extra

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "autoencoders", "serve", str(run), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    printed = output.read().decode(errors="replace").strip()
                    how = (
                        f"stopped with exit code {process.returncode}"
                        if process.poll() is not None
                        else f"did not answer /health within {timeout:.0f} s"
                    )
                    raise RuntimeError(f"the server {how}: {printed}")
                time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
