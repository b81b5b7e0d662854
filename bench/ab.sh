#!/bin/bash
# One short A/B point: a fresh server for bench's 20k night (run `bench/run.py
# --areas 20000` once to make it), serve --workers W, every envelope posted once
# by wrk -c64; prints wrk's p50, p99 and requests/s. With PYSPY=1, py-spy (if
# installed) samples the serving process into /tmp/ab-spy-W.txt. With THINK_MS=N each
# of the 64 connections pauses a random 0-2N ms between batches (the ack latency at
# a given load rather than flat out).
#   bench/ab.sh 0; bench/ab.sh 1; THINK_MS=20 bench/ab.sh 1
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-0}
R=bench/work/seed-2026-areas-20000
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
.venv/bin/tally-server init --dir "$D/srv" --election $R/election.json >/dev/null
.venv/bin/tally-server station enroll-csv --dir "$D/srv" $R/stations.csv >/dev/null
.venv/bin/tally-server serve --dir "$D/srv" --port 0 --log-level warning --workers "$W" \
    >"$D/out" 2>"$D/err" &
SP=$!
until grep -q listening "$D/out"; do sleep 0.2; done
URL=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['url'])" "$D/out")
PS=
if [ "${PYSPY:-0}" = 1 ]; then
    .venv/bin/py-spy record -p $SP -d 6 -r 200 -f raw -o /tmp/ab-spy-$W.txt --nonblocking \
        >/dev/null 2>&1 &
    PS=$!
fi
rm -f $R/envelopes.done
WRK_THINK_MS=${THINK_MS:-0} timeout 120 wrk -t1 -c64 -d100s --latency -s bench/post_envelopes.lua "$URL/api/v1/batches" \
    -- $R/envelopes.jsonl $R/envelopes.done >"$D/wrk" &
WP=$!
while [ ! -e $R/envelopes.done ] && kill -0 $WP 2>/dev/null; do sleep 0.1; done
kill -INT $WP 2>/dev/null || true
wait $WP || true
[ -n "$PS" ] && { wait $PS || true; }
kill $SP 2>/dev/null || true
echo "workers $W, think ${THINK_MS:-0} ms: $(grep -E '50%|90%|99%|Requests/sec' "$D/wrk" | tr -s ' ' | tr '\n' ' ')"
