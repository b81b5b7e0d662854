"""The law in code: checks on counting minutes, tally, winners. Pure; no I/O."""
