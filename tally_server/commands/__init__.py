"""Sub-commands of ``tally-server``, one module per group."""
