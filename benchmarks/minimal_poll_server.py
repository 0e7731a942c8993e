"""The polling baseline: the least an aiohttp handler can do to answer a poll.

It answers `GET /v1/responses/{id}` with one fixed body, captured from a real bgr poll (byte-identical),
so the only difference from bgr is the work bgr does per poll (journal, lookup, status, encoding).

Usage: python benchmarks/minimal_poll_server.py --port 0 --body FILE
Prints `minimal poll serving http://127.0.0.1:PORT/v1` once it is listening; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from aiohttp import web

BODY = web.AppKey("body", bytes)


async def poll(request: web.Request) -> web.Response:
    return web.Response(body=request.app[BODY], content_type="application/json")


def build_app(body: bytes) -> web.Application:
    app = web.Application()
    app[BODY] = body
    app.router.add_get("/v1/responses/{response_id}", poll)
    return app


async def serve(app: web.Application, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)  # bgr keeps no access log either
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    print(f"minimal poll serving http://{host}:{runner.addresses[0][1]}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--body", type=Path, required=True, help="file holding a captured poll body")
    args = parser.parse_args()
    asyncio.run(serve(build_app(args.body.read_bytes()), args.host, args.port))


if __name__ == "__main__":
    main()
