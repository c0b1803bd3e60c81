"""The smoke client: start a rendered project's server the documented way and talk to it.

    python scripts/automation/render_client.py PROJECT_DIR [--port PORT]

Starts `make run` in PROJECT_DIR with PORT set, waits for `GET /health`, checks
its answer, then stops the server with SIGTERM and expects it to exit. Exits 0 when every check
passed; otherwise prints the failing check and the server's output, and exits 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 15.0


class SmokeFailure(Exception):
    """A check found the server not doing what the contract says."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_health(base_url: str) -> None:
    response = httpx.get(f"{base_url}/health", timeout=5.0)
    if response.status_code != 200 or response.json() != {"status": "ok"}:
        raise SmokeFailure(f"GET /health answered {response.status_code} {response.text!r}")


def wait_until_serving(process: subprocess.Popen[str], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SmokeFailure(f"the server exited with {process.returncode} before serving")
        try:
            httpx.get(f"{base_url}/health", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SmokeFailure(f"the server did not answer within {STARTUP_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the whole `make run` process group and wait for it to exit."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise SmokeFailure(
            f"the server did not stop within {SHUTDOWN_TIMEOUT:.0f} s of SIGTERM"
        ) from None


def run(project: Path, port: int) -> int:
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=project,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        failure: str | None = None
        try:
            wait_until_serving(process, base_url)
            check_health(base_url)
            print("  ok  GET /health")
        except (SmokeFailure, httpx.HTTPError, OSError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                stop(process)
            except SmokeFailure as exc:
                failure = failure or str(exc)
        if failure:
            log.seek(0)
            print(
                f"smoke test failed: {failure}\n--- server output ---\n{log.read()}",
                file=sys.stderr,
            )
            return 1
    print(f"smoke test passed against {base_url}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a rendered project's root folder")
    parser.add_argument(
        "--port", type=int, default=0, help="port to serve on (default: a free one)"
    )
    args = parser.parse_args()
    return run(args.project.resolve(), args.port or free_port())


if __name__ == "__main__":
    sys.exit(main())
