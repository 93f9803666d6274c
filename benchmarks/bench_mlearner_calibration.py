"""Validity and power of the M-learner subgroup test: rejection rates of ``fit.subgroups()`` over replicates.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_mlearner_calibration.py --quick --n-jobs 2 # smoke test, ~3 min on 2 cores
    python benchmarks/bench_mlearner_calibration.py --n-jobs 2         # the full study (~12 days, see below)
    python benchmarks/bench_mlearner_calibration.py --modes split threshold --reps 200 --n-jobs 2

What is measured. For every replicate seed s = 1..R, every design and every noise sd, the script simulates
``simulate(design, n, noise_sd, random_state=s)``, fits step 1 once with ``mediate(..., learner, n_folds,
random_state=s)`` and then runs ``fit.subgroups(effect="indirect", embedding, calibration=mode, n_boot=0,
random_state=s)`` for every calibration mode on that same fit ("threshold" uses ``p_threshold=0.0043``, the
paper's p*). Seeds do not depend on ``--n-jobs`` (replicates run in joblib loky processes), so any ``--n-jobs``
gives the same table.

* Type I error, designs simple_null1, simple_null2 and global (no heterogeneity of the T -> M path, so the
  indirect-effect test should not reject): rejection rate a = #{heterogeneous} / R, its Monte Carlo SE
  sqrt(a(1-a)/R), and PASS/FAIL for a <= alpha + 2 MCSE. "threshold" is the paper's uncalibrated rule p_leaf <
  p*; its rate is printed but its check is informational only (it is not meant to hold the level).
* Power and recovery, designs simple_all and simple_part (true subgroup S = {x1 > 0 and x2 > 0}): the rate at
  which heterogeneity is declared AND the chosen profile (``sub.fit.profile.split_variables``) splits on both
  x1 and x2; target >= 80%, PASS/FAIL. The "declared" column is the rate of declaring heterogeneity alone.

Cost. Each "permutation" replicate reruns step 1 and the whole search ``--n-permutations`` times, which dominates
everything else. Measured on the 2-core development machine (2 replicates in parallel, other jobs running),
n = 1000, boosting, 5 folds, t-SNE: step 1 about 10 s, the split search 8 s, the threshold search 5 s, and about
10 s per permutation, so one replicate with B = 200 takes about 10 + 8 + 5 + 200 x 10 s, roughly 34 min of one
core. The full default run (5 designs x 2 noise levels x 100 replicates = 1000 replicates) therefore takes about
1000 x 34 min / 2 processes, roughly 280 hours (12 days) with ``--n-jobs 2``; without "permutation" (``--modes
split threshold``) it is about 1000 x 23 s / 2, roughly 3.5 hours. ``--quick --n-jobs 2`` (15 replicates: R = 3,
n = 400, B = 9, no embedding, 2 folds, noise 0.5) took 3.2 min; with B = 9 the smallest permutation p-value is
0.1, so "permutation" cannot reject there (the script says so). The script prints the measured mean time per
replicate and per mode at the end, so these estimates can be refreshed on other machines.

The verdict columns print PASS or FAIL; the script never fails on a missed target. It writes nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import traceback

NULL_DESIGNS = ("simple_null1", "simple_null2", "global")
POWER_DESIGNS = ("simple_all", "simple_part")
MODES = ("permutation", "split", "threshold")
COVS = " + ".join(f"x{i}" for i in range(1, 11))
TRUE_SPLIT = frozenset({"x1", "x2"})

DEFAULTS = dict(reps=100, n=1000, noise=[0.01, 0.5], n_permutations=200, embedding="tsne", n_folds=5)
QUICK = dict(reps=3, n=400, noise=[0.5], n_permutations=9, embedding="none", n_folds=2)


def _parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=None, metavar="R", help="replicates (seeds 1..R) per design and "
                   f"noise level (default {DEFAULTS['reps']}; --quick: {QUICK['reps']})")
    p.add_argument("--n", type=int, default=None, help=f"rows per data set (default {DEFAULTS['n']})")
    p.add_argument("--noise", type=float, nargs="+", default=None, metavar="SD",
                   help=f"noise sds (default {' '.join(map(str, DEFAULTS['noise']))})")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="calibration modes (default all)")
    p.add_argument("--designs", nargs="+", choices=NULL_DESIGNS + POWER_DESIGNS,
                   default=list(NULL_DESIGNS + POWER_DESIGNS), help="designs (default all five)")
    p.add_argument("--n-permutations", type=int, default=None, metavar="B",
                   help=f"permutations for calibration='permutation' (default {DEFAULTS['n_permutations']})")
    p.add_argument("--embedding", choices=("tsne", "none"), default=None,
                   help=f"subgroups(embedding=...) (default {DEFAULTS['embedding']})")
    p.add_argument("--learner", default="boosting", help="mediate(learner=...) (default boosting)")
    p.add_argument("--n-folds", type=int, default=None, help=f"cross-fitting folds (default {DEFAULTS['n_folds']})")
    p.add_argument("--alpha", type=float, default=0.05, help="level of the calibrated tests (default 0.05)")
    p.add_argument("--p-threshold", type=float, default=0.0043, help="p* of the threshold rule (default 0.0043)")
    p.add_argument("--power-target", type=float, default=0.80, help="power target (default 0.80)")
    p.add_argument("--n-jobs", type=int, default=1, help="replicates run in parallel (loky processes; default 1)")
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke-test configuration: " + ", ".join(f"{k}={v}" for k, v in QUICK.items())
                   + " (explicit options still win)")
    args = p.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for name in ("reps", "n", "n_permutations", "n_folds", "n_jobs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if not 0 < args.alpha < 1 or not 0 < args.p_threshold < 1:
        p.error("--alpha and --p-threshold must lie in (0, 1)")
    return args


def _replicate(design: str, noise: float, seed: int, cfg: dict) -> dict:
    """One data set: step 1 once, then every calibration mode on that fit. Never raises."""
    import warnings

    import mediationhte as mh

    out = {"design": design, "noise": noise, "seed": seed, "modes": {}, "error": None, "seconds": {}}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = mh.simulate(design, n=cfg["n"], noise_sd=noise, random_state=seed)
            fit = mh.mediate(f"y ~ treat + m + {COVS}", f"m ~ treat + {COVS}", data=data, learner=cfg["learner"],
                             n_folds=cfg["n_folds"], random_state=seed)
    except Exception:  # record and carry on: one failure must not end a long run
        out["error"] = traceback.format_exc()
        return out
    out["seconds"]["mediate"] = time.perf_counter() - start
    for mode in cfg["modes"]:
        extra = {"p_threshold": cfg["p_threshold"]} if mode == "threshold" else {}
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sub = fit.subgroups(effect="indirect", k=range(2, 6), embedding=cfg["embedding"], calibration=mode,
                                    n_permutations=cfg["n_permutations"], alpha=cfg["alpha"], profile="smallest",
                                    n_boot=0, random_state=seed, n_jobs=1, progress=False, **extra)
            profile = sub.fit.profile
            out["modes"][mode] = {
                "heterogeneous": bool(sub.heterogeneous), "p_value": float(sub.p_value), "p_leaf": float(sub.p_leaf),
                "split_variables": tuple(profile.split_variables) if profile is not None else (), "error": None,
            }
        except Exception:  # same: record it
            out["modes"][mode] = {"error": traceback.format_exc()}
        out["seconds"][mode] = time.perf_counter() - t0
    return out


def _mcse(rate: float, reps: int) -> float:
    return math.sqrt(rate * (1 - rate) / reps) if reps else float("nan")


def _summarise(results: list[dict], args) -> list[tuple]:
    rows = []
    for design in args.designs:
        power = design in POWER_DESIGNS
        for noise in args.noise:
            reps = [r for r in results if r["design"] == design and r["noise"] == noise]
            for mode in args.modes:
                ok = [r["modes"][mode] for r in reps if mode in r["modes"] and r["modes"][mode]["error"] is None]
                n_ok = len(ok)
                declared = sum(o["heterogeneous"] for o in ok) / n_ok if n_ok else float("nan")
                if power:
                    hits = sum(o["heterogeneous"] and TRUE_SPLIT <= set(o["split_variables"]) for o in ok)
                else:
                    hits = sum(o["heterogeneous"] for o in ok)
                rate = hits / n_ok if n_ok else float("nan")
                se = _mcse(rate, n_ok)
                if not n_ok:
                    check, verdict = "-", "no data"
                elif power:
                    check = f">= {args.power_target:.2f}"
                    verdict = "PASS" if rate >= args.power_target else "FAIL"
                else:
                    bound = args.alpha + 2 * se
                    check = f"<= {bound:.3f}"
                    holds = rate <= bound
                    verdict = ("PASS" if holds else "FAIL") if mode != "threshold" else \
                        f"info ({'holds' if holds else 'exceeds'}; uncalibrated)"
                rows.append((design, "power" if power else "null", noise, mode, n_ok, len(reps) - n_ok, rate, se,
                             declared, check, verdict))
    return rows


def main(argv=None) -> int:
    """Run the study and print the report; always returns 0."""
    args = _parse_args(argv)
    wall0 = time.perf_counter()

    import joblib
    import numpy as np
    import sklearn

    import mediationhte

    cfg = dict(n=args.n, learner=args.learner, n_folds=args.n_folds, modes=list(args.modes),
               embedding=args.embedding, n_permutations=args.n_permutations, alpha=args.alpha,
               p_threshold=args.p_threshold)
    tasks = [(design, noise, seed) for design in args.designs for noise in args.noise
             for seed in range(1, args.reps + 1)]

    print("M-learner subgroup test: rejection rates over replicates (effect='indirect', n_boot=0)")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; numpy "
          f"{np.__version__}, scikit-learn {sklearn.__version__}, joblib {joblib.__version__}, "
          f"mediationhte {mediationhte.__version__}")
    print(f"designs {', '.join(args.designs)}; noise sd {', '.join(map(str, args.noise))}; n = {args.n}; "
          f"R = {args.reps} (seeds 1..{args.reps}); learner {args.learner}, {args.n_folds} folds; embedding "
          f"{args.embedding}; modes {', '.join(args.modes)}; B = {args.n_permutations}; alpha = {args.alpha}; "
          f"p* = {args.p_threshold}; {len(tasks)} replicates on {args.n_jobs} process(es)"
          + ("  [--quick]" if args.quick else ""))
    if "permutation" in args.modes and 1 / (1 + args.n_permutations) >= args.alpha:
        print(f"note: with B = {args.n_permutations} the smallest permutation p-value is "
              f"{1 / (1 + args.n_permutations):.3g} >= alpha, so 'permutation' cannot reject here")
    print()

    def show(i: int, res: dict) -> None:
        head = f"[{i:>{len(str(len(tasks)))}}/{len(tasks)}] {res['design']:<12} sd={res['noise']:<5} " \
               f"seed={res['seed']:<4}"
        if res["error"] is not None:
            print(f"{head} step 1 FAILED: {res['error'].strip().splitlines()[-1]}", flush=True)
            return
        parts = []
        for mode, o in res["modes"].items():
            if o["error"] is not None:
                parts.append(f"{mode} FAILED")
            else:
                split = "+".join(o["split_variables"]) or "-"
                parts.append(f"{mode} p={o['p_value']:.3g}{'*' if o['heterogeneous'] else ''} [{split}]")
        print(f"{head} {'; '.join(parts)}  ({sum(res['seconds'].values()):.1f} s)", flush=True)

    results = []
    if args.n_jobs == 1:
        for i, task in enumerate(tasks, 1):
            results.append(_replicate(*task, cfg))
            show(i, results[-1])
    else:
        parallel = joblib.Parallel(n_jobs=args.n_jobs, backend="loky", return_as="generator")
        for i, res in enumerate(parallel(joblib.delayed(_replicate)(*task, cfg) for task in tasks), 1):
            results.append(res)
            show(i, res)
    print("(p = calibrated p-value, or p_leaf for threshold; * = heterogeneity declared; [split variables])")
    print()

    rows = _summarise(results, args)
    header = ("design", "kind", "noise", "mode", "R", "fail", "rate", "MCSE", "declared", "check", "verdict")
    cells = [(d, k, f"{s:g}", m, str(r), str(f), f"{a:.3f}", f"{se:.3f}", f"{dec:.3f}", c, v)
             for d, k, s, m, r, f, a, se, dec, c, v in rows]
    widths = [max(len(h), *(len(c[j]) for c in cells)) if cells else len(h) for j, h in enumerate(header)]
    print("Rates. null rows: rejection rate, check rate <= alpha + 2 MCSE; power rows: declared AND profile "
          f"splits on x1 and x2, check rate >= {args.power_target:.2f}. MCSE = sqrt(rate (1 - rate) / R); "
          "fail = replicates that raised.")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for c in cells:
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())
    print()

    failures = [(r, None) for r in results if r["error"] is not None]
    failures += [(r, m) for r in results for m, o in r["modes"].items() if o["error"] is not None]
    if failures:
        print(f"{len(failures)} failure(s); first traceback ({failures[0][0]['design']}, sd={failures[0][0]['noise']}, "
              f"seed={failures[0][0]['seed']}, {failures[0][1] or 'step 1'}):")
        first = failures[0][0]["error"] if failures[0][1] is None else failures[0][0]["modes"][failures[0][1]]["error"]
        print(first)

    timed = [r for r in results if r["error"] is None]
    if timed:
        keys = ["mediate"] + list(args.modes)
        means = {k: float(np.mean([r["seconds"][k] for r in timed if k in r["seconds"]])) for k in keys}
        per_rep = float(np.mean([sum(r["seconds"].values()) for r in timed]))
        print("Mean seconds per replicate (one core each): "
              + ", ".join(f"{k} {v:.1f}" for k, v in means.items()) + f"; total {per_rep:.1f}")
        if "permutation" in args.modes:
            print(f"  permutation per null data set: {means['permutation'] / args.n_permutations:.2f} s "
                  f"(B = {args.n_permutations})")
    wall = time.perf_counter() - wall0
    print(f"Wall time: {wall:.1f} s ({wall / 3600:.2f} h) for {len(tasks)} replicates on {args.n_jobs} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
