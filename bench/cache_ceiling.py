"""The most a shared cache can answer of the public's reads, whatever the server does.

    .venv/bin/python bench/cache_ceiling.py --election FILE [--rate 5000] [--share 0.2]

A page kept T seconds is asked of the server at least once per T while people read
it, and once at its first read. For the mix ``bench/public.py`` reads (its ``MIX``,
and ``--share`` of the reads on the constituency pages, each weighted by its polling
areas) this prints, for several lifetimes of a constituency page (the other pages
keep theirs):

- **steady**: reads arriving at random (Poisson) at ``--rate`` for hours, the cache
  warm: page i, read r_i times a second, misses r_i / (1 + r_i T) times a second;
- **cold**: the paths ``bench/public.py`` draws, read in order for ``--seconds`` from
  an empty cache, as in one bench pass.

A miss here is a request the server must answer: the lock merges only misses of the
same instant, and a stale answer given while one request refreshes (UPDATING) still
sends that request. So these are the ceilings of the hit ratio for that mix, and at
least 1 − ceiling of the reads reach the server, whatever it answers with.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests" / "functional"))

import public  # noqa: E402

from tally_server.web.cache import CONSTITUENCY, LIVE, RESULTS, max_age  # noqa: E402

LIFETIMES = (2, 10, 30, 60, 120, 300, 600, 3600)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--election", type=Path, required=True, help="the definition read")
    parser.add_argument("--rate", type=int, default=5000, help="the public's reads/s")
    parser.add_argument("--share", type=float, default=0.2, help="of reads on constituency pages")
    parser.add_argument("--seconds", type=int, default=100, help="the cold pass's length")
    args = parser.parse_args()

    definition = json.loads(args.election.read_bytes())
    areas = [len(c["polling_area_ids"]) for r in definition["races"] for c in r["constituencies"]]
    total_areas = sum(areas)
    total_mix = sum(w for _, w in public.MIX)
    live = max_age(LIVE)
    drawn = public.paths(args.election, args.share, args.rate * args.seconds, seed=1)
    print(
        f"{len(areas):,} constituency pages, {args.share:.0%} of {args.rate:,} reads/s on them; "
        f"other pages kept {live} s (the whole results {max_age(RESULTS)} s); the server "
        f"today keeps a constituency page "
        f"{max_age(CONSTITUENCY)} s"
    )
    print(f"{'kept (s)':>9} {'steady: misses/s':>17} {'hit ratio':>10} {'cold pass':>10}")
    for kept in LIFETIMES:
        misses = 0.0
        for n in areas:
            r = args.rate * args.share * n / total_areas
            misses += r / (1 + r * kept)
        for page, w in public.MIX:
            r = args.rate * (1 - args.share) * w / total_mix
            misses += r / (1 + r * public.period(page))
        steady = 1 - misses / args.rate
        last: dict[str, float] = {}
        cold = 0
        for i, page in enumerate(drawn):
            t = i / args.rate
            period = kept if public.one_constituency(page) else public.period(page)
            seen = last.get(page)
            if seen is None or t - seen >= period:
                cold += 1
                last[page] = t
        print(f"{kept:>9} {misses:>17,.0f} {steady:>10.2%} {1 - cold / len(drawn):>10.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
