"""The throughput baseline: the least an aiohttp handler can do to serve a fixed SSE stream.

It answers `POST /v1/responses` with frames captured from a real bgr response (byte-identical),
so the only difference from bgr is the work bgr does per request. Four modes:

- `per-event`: one `await resp.write(frame)` per event of pre-built bytes;
- `per-stream`: one write of all pre-built frames joined: the best any streaming handler can do;
- `encode-per-event` / `encode-per-stream`: what a minimal SSE handler usually is: it encodes its
  events (the same payloads, with orjson) for every request, then writes them per event or at once.

Usage: python benchmarks/minimal_sse_server.py --port 0 --mode per-stream --frames FILE
Prints `minimal sse serving http://127.0.0.1:PORT/v1` once it is listening; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

# Same headers as bgr's streams (mock_server/streaming.py), so clients parse the same thing.
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
MODES = ("per-event", "per-stream", "encode-per-event", "encode-per-stream")
FRAMES = web.AppKey("frames", list[bytes])
BODY = web.AppKey("body", bytes)
PAYLOADS = web.AppKey("payloads", list[dict[str, Any]])


def split_frames(raw: bytes) -> list[bytes]:
    """Frames of a captured SSE body, each with its terminating blank line.

    Splitting on b"\\n\\n" is exact: JSON data lines never hold a raw newline.
    """
    blocks = raw.split(b"\n\n")
    if blocks[-1]:
        raise ValueError("captured body does not end with a complete frame")
    return [block + b"\n\n" for block in blocks[:-1]]


async def per_event(request: web.Request) -> web.StreamResponse:
    await request.read()  # bgr reads and parses the body; the baseline at least drains it
    frames = request.app[FRAMES]
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    for frame in frames:
        await resp.write(frame)
    await resp.write_eof()
    return resp


async def per_stream(request: web.Request) -> web.StreamResponse:
    await request.read()
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    await resp.write(request.app[BODY])
    await resp.write_eof()
    return resp


def encode(payloads: list[dict[str, Any]]) -> list[bytes]:
    return [b"event: " + p["type"].encode() + b"\ndata: " + orjson.dumps(p) + b"\n\n" for p in payloads]


async def encode_per_event(request: web.Request) -> web.StreamResponse:
    await request.read()
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    for frame in encode(request.app[PAYLOADS]):
        await resp.write(frame)
    await resp.write_eof()
    return resp


async def encode_per_stream(request: web.Request) -> web.StreamResponse:
    await request.read()
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    await resp.write(b"".join(encode(request.app[PAYLOADS])))
    await resp.write_eof()
    return resp


HANDLERS = {
    "per-event": per_event,
    "per-stream": per_stream,
    "encode-per-event": encode_per_event,
    "encode-per-stream": encode_per_stream,
}


def build_app(frames: list[bytes], mode: str) -> web.Application:
    app = web.Application()
    app[FRAMES] = frames
    app[BODY] = b"".join(frames)  # joined once: the per-stream handler does no per-request copying
    app[PAYLOADS] = [orjson.loads(frame.split(b"\ndata: ", 1)[1]) for frame in frames]
    if encode(app[PAYLOADS]) != frames:
        raise ValueError("re-encoding the captured payloads does not give the captured bytes")
    app.router.add_post("/v1/responses", HANDLERS[mode])
    return app


async def serve(app: web.Application, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # No access log: bgr runs without one too, and logging would dominate the cost.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"minimal sse serving http://{host}:{bound}/v1", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--frames", type=Path, required=True, help="file holding a captured SSE body")
    args = parser.parse_args()
    frames = split_frames(args.frames.read_bytes())
    asyncio.run(serve(build_app(frames, args.mode), args.host, args.port))


if __name__ == "__main__":
    main()
