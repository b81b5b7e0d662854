"""Baseline: the barest aiohttp POST handler, to measure what HTTP alone costs here."""

from __future__ import annotations

import argparse

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(body=b'{"ok":true,"n":%d}' % len(body), content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=256 * 1024)
    app.router.add_post("/api/v1/batches", handle)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
