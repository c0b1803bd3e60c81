"""The smoke client: start a rendered project's server the documented way and talk to it.

    python scripts/automation/render_client.py PROJECT_DIR [--port PORT]

Starts `make run` in PROJECT_DIR with PORT set and a fresh AUTH_SECRET_KEY, waits
for `GET /health`, checks that `GET /me` needs a token minted by `make token` and
answers with its claims, runs the checks that fit the modules enabled in the project's
module_catalog.json, then stops the server with SIGTERM and expects it to exit.

With the WebSocket module, it talks the contract with a plain `websockets`
client: an unauthenticated handshake to `/ws` is refused with 403; a user with
a token minted by `make token` gets `connection.ack`, an
echo carrying its correlation id, and a binary echo; two users join a room and
a broadcast from one reaches the other.

With the Redis backplane (`websocket_backplane: redis` in the answers), it
starts two instances on the Redis at SMOKE_REDIS_URL (default
redis://127.0.0.1:6379/0) under a prefix of their own, and checks that
`/health` reports the backplane up and that a broadcast and a direct message
from a client of one instance reach a client of the other, and that a client
that comes back on the other instance recovers the room messages it missed
(without the backplane, on the same instance). Without a Redis
answering there, it says so and skips those checks (fails with REQUIRE_REDIS=1).

Exits 0 when every check passed; otherwise prints the failing check and the
servers' output, and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx2 as httpx
import yaml
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 15.0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class SmokeFailure(Exception):
    """A check found the server not doing what the contract says."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_health(base_url: str, expected: dict[str, str]) -> None:
    response = httpx.get(f"{base_url}/health", timeout=5.0)
    if response.status_code != 200 or response.json() != expected:
        raise SmokeFailure(f"GET /health answered {response.status_code} {response.text!r}")


def check_me(base_url: str, token: str) -> None:
    anonymous = httpx.get(f"{base_url}/me", timeout=5.0)
    if anonymous.status_code != 401:
        raise SmokeFailure(f"GET /me without a token answered {anonymous.status_code}")
    response = httpx.get(f"{base_url}/me", headers={"Authorization": f"Bearer {token}"})
    claims = response.json() if response.status_code == 200 else {}
    if (claims.get("sub"), claims.get("scopes")) != ("smoke-me", ["smoke"]):
        raise SmokeFailure(f"GET /me answered {response.status_code} {response.text!r}")


def enabled_modules(project: Path) -> set[str]:
    catalog = json.loads((project / "module_catalog.json").read_text(encoding="utf-8"))
    return {module["name"] for module in catalog["modules"] if module["enabled"]}


def answers(project: Path) -> dict[str, str]:
    loaded: dict[str, str] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return loaded


def redis_for_backplane(project: Path) -> str | None:
    """The Redis to run two instances on, or None (said why) to run one."""
    if answers(project).get("websocket_backplane") != "redis":
        return None
    url = os.environ.get("SMOKE_REDIS_URL", DEFAULT_REDIS_URL)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
        if not answer.startswith(b"+PONG"):
            raise OSError(f"PING answered {answer!r}")
    except OSError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            raise SmokeFailure(f"REQUIRE_REDIS=1, but no Redis answers at {url}: {exc}") from exc
        print(f"  skip cross-instance checks: no Redis answers at {url} ({exc})")
        return None
    return url


def mint_token(project: Path, env: dict[str, str], user: str) -> str:
    """A token from the project's own command, signed with the server's key."""
    result = subprocess.run(
        ["make", "--no-print-directory", "token", f"USER={user}", "SCOPES=smoke"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SmokeFailure(f"the token command failed: {result.stderr}")
    return result.stdout.strip()


async def receive_json(websocket: object, timeout: float = 5.0) -> dict[str, object]:
    async with asyncio.timeout(timeout):
        frame = json.loads(await websocket.recv())  # type: ignore[attr-defined]
    if not isinstance(frame, dict):
        raise SmokeFailure(f"expected a JSON object, got {frame!r}")
    return frame


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


async def check_rooms(ws_url: str, websocket: Any, other_token: str) -> None:
    """Two clients join a room; a broadcast from one reaches the other, not the sender."""
    headers = {"Authorization": f"Bearer {other_token}"}
    async with connect(f"{ws_url}/ws", additional_headers=headers, open_timeout=5) as other:
        await receive_json(other)  # connection.ack
        for client in (websocket, other):
            await client.send(json.dumps({"type": "room.join", "room": "smoke", "id": "join"}))
            joined = await receive_json(client)
            expect(joined.get("type") == "room.joined", f"join answered {joined}")
        expect(joined["payload"]["members"] == 2, f"second join answered {joined}")  # type: ignore[index]
        print("  ok  WS /ws room.join")
        frame = {"type": "room.broadcast", "room": "smoke", "payload": {"n": 1}}
        await websocket.send(json.dumps(frame))
        message = await receive_json(other)
        expect(
            message.get("type") == "room.message"
            and message.get("payload") == {"n": 1}
            and message.get("sender", {}).get("user_id") == "smoke-user",  # type: ignore[union-attr]
            f"broadcast arrived as {message}",
        )
        try:
            extra = await receive_json(websocket, timeout=0.3)
        except TimeoutError:
            pass
        else:
            raise SmokeFailure(f"the sender got its own broadcast back: {extra}")
        print("  ok  WS /ws room.broadcast between two clients")


async def check_websocket(ws_url: str, token: str, token_of_other: str) -> None:
    try:
        async with connect(f"{ws_url}/ws", open_timeout=5):
            pass
    except InvalidStatus as exc:
        expect(
            exc.response.status_code == 403, f"unauthenticated /ws got {exc.response.status_code}"
        )
    else:
        raise SmokeFailure("an unauthenticated handshake to /ws was accepted")
    print("  ok  WS /ws without a token: 403")

    headers = {"Authorization": f"Bearer {token}"}
    async with connect(f"{ws_url}/ws", additional_headers=headers, open_timeout=5) as websocket:
        ack = await receive_json(websocket)
        expect(ack.get("type") == "connection.ack", f"first frame was {ack}")
        expect(ack["payload"]["user_id"] == "smoke-user", f"ack names {ack['payload']}")  # type: ignore[index]
        print("  ok  WS /ws connection.ack")
        await websocket.send(
            json.dumps({"type": "message.text", "id": "smoke-1", "payload": {"text": "hi"}})
        )
        echo = await receive_json(websocket)
        expect(
            echo.get("type") == "message.text"
            and echo.get("correlation_id") == "smoke-1"
            and echo.get("payload") == {"text": "hi"},
            f"echo was {echo}",
        )
        print("  ok  WS /ws echo with correlation id")
        await websocket.send(b"\x00\x01smoke")
        async with asyncio.timeout(5):
            data = await websocket.recv()
        expect(data == b"\x00\x01smoke", f"binary echo was {data!r}")
        print("  ok  WS /ws binary echo")
        await check_rooms(ws_url, websocket, token_of_other)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def check_across_instances(first_url: str, second_url: str, token: str, other: str) -> None:
    """A broadcast and a direct message from a client of one instance reach the other's."""
    async with (
        connect(f"{first_url}/ws", additional_headers=bearer(token)) as here,
        connect(f"{second_url}/ws", additional_headers=bearer(other)) as there,
    ):
        for client in (here, there):
            await receive_json(client)  # connection.ack
            await client.send(json.dumps({"type": "room.join", "room": "across"}))
            joined = await receive_json(client)
            expect(joined.get("type") == "room.joined", f"join answered {joined}")
        expect(joined["payload"]["members"] == 2, f"members across instances: {joined}")  # type: ignore[index]
        print("  ok  room.joined counts the members of both instances")
        await here.send(
            json.dumps({"type": "room.broadcast", "room": "across", "payload": {"n": 2}})
        )
        message = await receive_json(there)
        expect(
            message.get("type") == "room.message" and message.get("payload") == {"n": 2},
            f"the broadcast arrived on the other instance as {message}",
        )
        print("  ok  room.broadcast from one instance reaches the other")
        direct = {"type": "direct.send", "payload": {"to_user": "smoke-other", "data": "psst"}}
        await here.send(json.dumps(direct))
        message = await receive_json(there)
        expect(
            message.get("type") == "direct.message" and message.get("payload") == {"data": "psst"},
            f"the direct message arrived on the other instance as {message}",
        )
        print("  ok  direct.send from one instance reaches the other")


async def check_recovery(left_url: str, back_url: str, token: str, other: str) -> None:
    """A client that leaves and comes back with `since` gets the room messages it missed."""
    room = f"recovery-{uuid.uuid4().hex[:8]}"
    async with connect(f"{left_url}/ws", additional_headers=bearer(token)) as sender:
        await receive_json(sender)  # connection.ack
        await sender.send(json.dumps({"type": "room.join", "room": room}))
        await receive_json(sender)
        async with connect(f"{left_url}/ws", additional_headers=bearer(other)) as leaving:
            await receive_json(leaving)  # connection.ack
            await leaving.send(json.dumps({"type": "room.join", "room": room}))
            joined = (await receive_json(leaving))["payload"]
        since = {"offset": joined["offset"], "epoch": joined["epoch"]}  # type: ignore[index]
        for number in (1, 2):
            payload = {"n": number, "exclude_sender": False}
            frame = {"type": "room.broadcast", "room": room, "payload": payload}
            await sender.send(json.dumps(frame))
        # The sender's own copies come back once the history holds them: only then is
        # "missed" certain to count both (a later join would see one live instead).
        for number in (1, 2):
            own = await receive_json(sender)
            expect(own.get("payload") == {"n": number}, f"the sender's own copy was {own}")
        async with connect(f"{back_url}/ws", additional_headers=bearer(other)) as back:
            await receive_json(back)  # connection.ack
            join = {"type": "room.join", "room": room, "payload": {"since": since}}
            await back.send(json.dumps(join))
            answer = await receive_json(back)
            expect(
                answer.get("type") == "room.joined"
                and answer["payload"].get("recovered") is True  # type: ignore[union-attr]
                and answer["payload"].get("missed") == 2,  # type: ignore[union-attr]
                f"the join with since answered {answer}",
            )
            missed = [await receive_json(back) for _ in range(2)]
            expect(
                [message.get("payload") for message in missed] == [{"n": 1}, {"n": 2}],
                f"the missed messages arrived as {missed}",
            )
    where = "on the other instance" if back_url != left_url else "on the same instance"
    print(f"  ok  room.join with since recovers the missed messages {where}")


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


def start(project: Path, env: dict[str, str], log: IO[str]) -> subprocess.Popen[str]:
    """`make run` in its own process group, its output into `log`."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run(project: Path, port: int) -> int:
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "AUTH_SECRET_KEY": secrets.token_urlsafe(32),
    }
    failure: str | None = None
    with ExitStack() as stack:
        logs: list[IO[str]] = []
        processes: list[subprocess.Popen[str]] = []
        try:
            redis_url = redis_for_backplane(project)
            ports = [port] if redis_url is None else [port, free_port()]
            if redis_url is not None:
                env |= {
                    "WS_BACKPLANE_URL": redis_url,
                    "WS_BACKPLANE_PREFIX": f"smoke-{uuid.uuid4().hex[:8]}",
                }
            for each_port in ports:
                logs.append(stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8")))
                processes.append(start(project, env | {"PORT": str(each_port)}, logs[-1]))
            for process, each_port in zip(processes, ports, strict=True):
                wait_until_serving(process, f"http://127.0.0.1:{each_port}")
            expected = (
                {"status": "ok"} if redis_url is None else {"status": "ok", "backplane": "up"}
            )
            check_health(base_url, expected)
            print(f"  ok  GET /health {json.dumps(expected)}")
            check_me(base_url, mint_token(project, env, "smoke-me"))
            print("  ok  GET /me")
            if "websocket" in enabled_modules(project):
                token = mint_token(project, env, "smoke-user")
                other = mint_token(project, env, "smoke-other")
                asyncio.run(check_websocket(f"ws://127.0.0.1:{port}", token, other))
                urls = [f"ws://127.0.0.1:{each_port}" for each_port in ports]
                if len(ports) == 2:
                    asyncio.run(check_across_instances(*urls, token, other))
                asyncio.run(check_recovery(urls[0], urls[-1], token, other))
        except (SmokeFailure, httpx.HTTPError, OSError, TimeoutError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            for process in processes:
                try:
                    stop(process)
                except SmokeFailure as exc:
                    failure = failure or str(exc)
        if failure:
            output = ""
            for number, log in enumerate(logs, 1):
                log.seek(0)
                output += f"--- server {number} output ---\n{log.read()}"
            print(f"smoke test failed: {failure}\n{output}", file=sys.stderr)
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
