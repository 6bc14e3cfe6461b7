#!/usr/bin/python3
"""A peer server for the benchmarks: a Python websockets echo server.

Debian's python3-websockets (10.4, the asyncio server). Every message comes
back as it came (text stays text, binary stays binary), on any path; the
subprotocol switchyard.echo.v1 is accepted when offered.

    /usr/bin/python3 bench/peers/py-echo.py [--port N]   prints "listening PORT"

permessage-deflate is off (Switchyard never negotiates it; only the browser
offers it) and the message limit is raised from 1 MiB so that the 1 MiB
messages of the large scenario fit with room to spare. Everything else is
websockets' default.
"""

import argparse
import asyncio
import signal
import sys

import websockets

PROTOCOL = "switchyard.echo.v1"


async def echo(websocket):
    try:
        async for message in websocket:
            await websocket.send(message)
    except websockets.ConnectionClosed:
        pass


async def serve(port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))

    async with websockets.serve(echo, "127.0.0.1", port,
                                subprotocols=[PROTOCOL],
                                compression=None,
                                max_size=64 * 1024 * 1024,
                                close_timeout=1) as server:
        print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
        await stop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (0 picks a free one)")
    args = parser.parse_args()
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
