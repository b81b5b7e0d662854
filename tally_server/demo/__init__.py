"""``tally-server demo``: the bundled Ho Chi Minh City 2011 sample, end to end.

A real server (``tally-server serve`` in a child process on 127.0.0.1),
stations that enrol and send signed batches over HTTP (the simulator, plus
three scripted stories: a rejected batch fixed, a conflict, a revoked key),
the committee dashboard in the foreground, then the ledger exported and
re-checked by ``tally-server verify`` and the official sheets printed.

    run_demo(DemoOptions(headless=True, stations=60, duration=5)) -> exit code
"""

from tally_server.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
