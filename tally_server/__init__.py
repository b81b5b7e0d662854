"""Central aggregation server: signed ingest, ledger, tally, read API."""
