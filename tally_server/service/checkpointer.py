"""``python -m tally_server.service.checkpointer DB``: the running server's periodic
checkpoint payload, worked out apart from the serving process (see
``integrity.checkpoint_payload_apart``). Prints the entry, a newline, the payload."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tally_server.service.integrity import checkpoint_payload
from tally_server.store import db


def main(argv: list[str]) -> int:
    # Housekeeping: the serving process and its checkers come first on a busy night.
    os.nice(19)
    conn = db.connect(Path(argv[0]), readonly=True)
    try:
        upto, payload = checkpoint_payload(conn)
    finally:
        conn.close()
    sys.stdout.buffer.write(b"%d\n%s" % (upto, payload))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
