"""Speed and memory of propensity-score matching (``match_on_score`` + ``matching_estimates``) at large n.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_matching.py              # 10^5 and 10^6 units
    python benchmarks/bench_matching.py --sizes 100000

Two designs per size n: (a) continuous scores X ~ N(0, 1), P(T = 1 | X) = expit(X), M = 2 neighbours, caliper
0.1 SD (no ties); (b) heavy ties: scores on 50 values, every value in both arms, so each unit has about n / 100 tied
matches (an (n, #ties) array would need O(n^2 / 100) memory). Times with ``time.perf_counter``; peak traced
memory with ``tracemalloc``. Goals (the former timed assertions of tests/test_matching.py, whose correctness
checks stay there): n = 10^5 continuous <= 2 s, n = 10^5 heavy ties <= 10 s, on 2 cores. Goal lines print PASS or
MISS; the script never fails on a missed goal. It writes nothing.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np

GOALS = {("continuous", 100_000): 2.0, ("heavy ties", 100_000): 10.0}


def _data(design: str, n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    if design == "continuous":
        score = rng.normal(size=n)
        t = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)
        return score, t, score + t + rng.normal(size=n), dict(n_neighbors=2, caliper=0.1)
    cell = rng.integers(0, 50, size=n)
    score = cell / 49.0
    t = (rng.random(n) < 0.3 + 0.4 * score).astype(int)
    return score, t, np.sin(cell) + t * (1 + score) + rng.normal(size=n), dict(n_neighbors=2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], metavar="N")
    args = p.parse_args(argv)
    import mediationhte
    from mediationhte.cate.matching import match_on_score, matching_estimates

    print(f"mediationhte matching: Python {platform.python_version()} on {platform.machine()}, "
          f"mediationhte {mediationhte.__version__}")
    for n in args.sizes:
        for design in ("continuous", "heavy ties"):
            score, t, y, kwargs = _data(design, n)
            tracemalloc.start()
            start = time.perf_counter()
            est = matching_estimates(y, t, match_on_score(score, t, **kwargs))
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            line = (f"n = {n:>9,} {design:<10}: {elapsed:6.2f} s, peak traced {peak / 2**20:7.1f} MB, "
                    f"ATE {est.loc['matching_ate', 'estimate']:.4f}")
            goal = GOALS.get((design, n))
            if goal is not None:
                line += f"  [goal <= {goal:g} s: {'PASS' if elapsed <= goal else 'MISS'}]"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
