"""``tally-server verify``: re-check a ledger export with nothing but the ledger and the election.

1. the chain: every index in order, every ``prev`` the hash before it, every
   hash recomputed from the entry's bytes;
2. the first entry opens the ledger for this very election definition and
   names the server key; enrolments in the ledger name the station keys;
3. every batch envelope is decided again (signature, enrolment, sequence,
   correction, the law's checks) and the recorded outcome must be the same
   bytes; every receipt must be the server's signature over exactly the
   receipt that entry implies. A refusal before a valid signature keeps a
   digest of what came, not the bytes: its signature cannot be re-checked, so
   its claim (S201, S202, S203) is taken as recorded and everything else about
   it (the key id against the keys enrolled, the outcome's bytes) is rebuilt;
4. the accepted minutes are tallied from scratch and the results digest
   printed, to compare with what the server published at that head.

By concern:

- ``reading``: the export's lines, each line as an entry, the keys it enrolls;
- ``precheck``: what does not depend on the entries before (hashes, the two
  Ed25519 signatures of each batch entry: the station's and the receipt's);
- ``pool``: the prechecks worked out by a pool of forked processes, in order,
  while the main process replays (and helps when it catches up);
- ``entries``: each entry checked against those before it, each batch decided
  again; ``replay``: ``verify_ledger``, which drives them and tallies;
- ``report``: what was found, and its JSON.
"""

from __future__ import annotations

from pathlib import Path

from tally_server.core.definition import Election
from tally_server.service.verify.reading import KeysAhead, read_lines
from tally_server.service.verify.replay import verify_ledger
from tally_server.service.verify.report import BadEntry, Report

__all__ = ["BadEntry", "KeysAhead", "Report", "load_election_source", "read_lines", "verify_ledger"]


def load_election_source(path: Path) -> Election:
    from tally_server.service.folder import load_election_source as load

    return load(path)
