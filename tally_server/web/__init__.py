"""The tally server's HTTP API (aiohttp): thin handlers over tally_server.service."""

from tally_server.web.app import create_app

__all__ = ["create_app"]
