"""The server's domain services: ingest, views, verify — free of any web framework."""
