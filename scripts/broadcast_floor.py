"""The floor the module's broadcasts are compared with: a bare `websockets` server.

    python scripts/broadcast_floor.py --port 8765

Speaks just enough of the module's protocol for `python/scripts/loadtest.py`:
each connection gets a `connection.ack`; `room.join` answers `room.joined`;
`room.broadcast` builds one `room.message` (the same fields as the module's:
id, timestamp, room, payload, sender, offset and epoch) and hands it to
`websockets.broadcast()` for every other member of the room. No
authentication, validation, limits, heartbeats or history: what is left is
the least any Python server on `websockets` pays per copy. Run it with the
sample's virtual environment (it needs only `websockets`), on the same CPU
as the module's server when comparing (`scripts/loadtest.sh` does both:
`LOADTEST_SERVER=floor`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast, serve

EPOCH = secrets.token_hex(8)


def frame(kind: str, **fields: object) -> str:
    """A server frame with a fresh id and timestamp, as compact JSON."""
    envelope = {"type": kind, "id": secrets.token_hex(16), "ts": datetime.now(UTC).isoformat()}
    envelope.update(fields)
    return json.dumps(envelope, separators=(",", ":"))


class Floor:
    """Rooms of connections, and the room's count of messages (its offset)."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[ServerConnection]] = {}
        self.offsets: dict[str, int] = {}

    async def serve_one(self, connection: ServerConnection) -> None:
        """Acknowledge, then answer joins and fan out broadcasts until the client leaves."""
        user = f"user-{connection.id.hex[:8]}"
        await connection.send(frame("connection.ack", payload={"connection_id": user}))
        joined: set[str] = set()
        try:
            async for text in connection:
                message = json.loads(text)
                room = message.get("room", "")
                if message.get("type") == "room.join":
                    self.rooms.setdefault(room, set()).add(connection)
                    joined.add(room)
                    members = len(self.rooms[room])
                    await connection.send(
                        frame("room.joined", payload={"room": room, "members": members})
                    )
                elif message.get("type") == "room.broadcast" and room in joined:
                    self.offsets[room] = self.offsets.get(room, 0) + 1
                    relayed = frame(
                        "room.message",
                        room=room,
                        payload=message.get("payload"),
                        sender={"user_id": user, "connection_id": user},
                        offset=self.offsets[room],
                        epoch=EPOCH,
                    )
                    broadcast(self.rooms[room] - {connection}, relayed)
        finally:
            for room in joined:
                self.rooms[room].discard(connection)


async def main() -> None:
    """Serve on 127.0.0.1 until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    floor = Floor()
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(floor.serve_one, "127.0.0.1", port, ping_interval=None, max_queue=None):
        await stop


if __name__ == "__main__":
    asyncio.run(main())
