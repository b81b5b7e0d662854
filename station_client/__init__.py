"""Polling-team client: keys, double entry, signing, durable outbox, delivery."""
