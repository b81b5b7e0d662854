"""SQLite storage of the server: the hash-chained ledger and what is derived from it."""
