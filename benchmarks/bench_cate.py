"""Accuracy, coverage and speed of ``cate()``: PEHE of S/T/X/DR under a 10:1 imbalance, AIPW coverage, 10^6 rows.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_cate.py                 # all four parts (about 20 min on 2 cores)
    python benchmarks/bench_cate.py --part pehe     # or coverage, speed, peer
    python benchmarks/bench_cate.py --quick         # smoke run
    python benchmarks/bench_cate.py --peer-python /path/to/econml-env/bin/python   # EconML in its own environment

EconML is a peer, not a dependency: ``benchmarks/peer_econml.py`` runs its S/T/X/DR learners under the interpreter
given by ``--peer-python`` (default: this one, if it can import EconML) on the same rows, in the same run.

(a) PEHE. Kuenzel et al. (2019, PNAS), simulation SI 1 ("unbalanced case with a simple CATE"): x ~ N(0, I_20),
    mu_0(x) = x'beta + 5 * 1(x_1 > 0.5) with beta ~ U(-5, 5)^20 (fixed seed), tau(x) = 8 * 1(x_2 > 0.1),
    Y = mu_T(x) + N(0, 1), P(T = 1) = 1/11 (10 controls per treated unit). The true tau is known, so
    PEHE = sqrt(mean((tau_hat - tau)^2)) per learner, averaged over replicates. Goals: X beats T, and X is
    within 10% of S (PEHE_X <= 1.1 PEHE_S); with the peer, our DR-learner at least as accurate as EconML's
    DRLearner with the same base learner (PEHE_DR <= PEHE_DR(EconML)).
(b) Coverage. The same design's true ATE is 8 * P(x_2 > 0.1) = 8 * (1 - Phi(0.1)); over R replicates (n = 2000)
    the share of AIPW 95% intervals that cover it, with its Monte Carlo SE; target: within 0.95 +- 2 MCSE.
(c) Speed. cate(learner=["s", "t", "x", "dr"]) with the default HistGradientBoosting base learner on 10^6 rows
    of the design (20 covariates), every average-effect estimator included, default n_jobs (one core); goal <= 5 min
    on 2 cores. Then learner="dr" with n_jobs=-1 against EconML's DRLearner with 5 folds (its boosting uses every core).
(d) Peer timing. n = 10^5 rows: cate(learner=["s", "t", "x", "dr"], n_jobs=-1) at its defaults (5 folds) and
    with EconML's 2 folds, against EconML's SLearner, TLearner, XLearner and DRLearner with the same base learner
    (each nuisance fitted once in ours: one cross-fitted outcome model serves S, DR and AIPW; the per-arm models
    serve T and X). Prints ours / EconML; the issue's goal is <= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from scipy import stats

D = 20
SPEED_GOAL_SECONDS = 300.0


def simulate(n: int, seed: int, beta_seed: int = 2019) -> pd.DataFrame:
    """Kuenzel et al.'s SI 1 design with 20 covariates and P(T = 1) = 1/11; adds the true ``tau``."""
    beta = np.random.default_rng(beta_seed).uniform(-5, 5, size=D)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D))
    t = (rng.uniform(size=n) < 1 / 11).astype(int)
    mu0 = x @ beta + 5 * (x[:, 0] > 0.5)
    tau = 8.0 * (x[:, 1] > 0.1)
    y = mu0 + t * tau + rng.standard_normal(n)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(1, D + 1)])
    return frame.assign(t=t, y=y, tau=tau)


FORMULA = "y ~ t + " + " + ".join(f"x{j}" for j in range(1, D + 1))
TRUE_ATE = 8.0 * (1.0 - stats.norm.cdf(0.1))


def _pehe(args) -> None:
    import mediationhte as mh

    print(f"(a) PEHE, Kuenzel SI 1 (P(T=1) = 1/11, d = {D}), n = {args.n}, {args.reps} replicates")
    rows, peer_rows = [], []
    for r in range(args.reps):
        d = simulate(args.n, seed=100 + r)
        fit = mh.cate(FORMULA, d, learner=["s", "t", "x", "dr"], random_state=r, n_jobs=args.n_jobs)
        rows.append({k: _pehe_of(fit.effects[k], d.tau) for k in ("s", "t", "x", "dr")})
        peer = _run_peer(args, d, effects=True)
        same_folds = _run_peer(args, d, effects=True, learners=("DR",), cv=5)
        if peer is not None and same_folds is not None:
            row = {k: _pehe_of(peer["effects"][:, j], d.tau) for j, k in enumerate(("s", "t", "x", "dr"))}
            peer_rows.append({**row, "dr5": _pehe_of(same_folds["effects"][:, 0], d.tau)})
    table = pd.DataFrame(rows)
    mean, se = table.mean(), table.std(ddof=1) / np.sqrt(len(table))
    peer = pd.DataFrame(peer_rows) if peer_rows else None
    for k in table.columns:
        line = f"  PEHE {k:>2}: {mean[k]:.3f} (MC SE {se[k]:.3f})"
        if peer is not None:
            line += f"   EconML: {peer[k].mean():.3f}" + (" (DRLearner's default cv = 2)" if k == "dr" else "")
        print(line)
    x_beats_t = mean["x"] < mean["t"]
    x_near_s = mean["x"] <= 1.1 * mean["s"]
    print(f"goal: X beats T ({mean['x']:.3f} < {mean['t']:.3f}): {'PASS' if x_beats_t else 'MISS'}; "
          f"X within 10% of S ({mean['x']:.3f} <= 1.1 x {mean['s']:.3f}): {'PASS' if x_near_s else 'MISS'}")
    if peer is None:
        print("  peer: EconML not available (see --peer-python)")
    else:
        diff = table["dr"] - peer["dr5"]
        print(f"  EconML DRLearner with our 5 folds (cv = 5): {peer['dr5'].mean():.3f}; paired difference ours - "
              f"EconML {diff.mean():+.3f} (MC SE {diff.std(ddof=1) / np.sqrt(len(diff)):.3f})")
        dr_ok = mean["dr"] <= min(peer["dr5"].mean(), peer["dr"].mean())
        print(f"goal: DR at least as accurate as EconML's DRLearner ({mean['dr']:.3f} <= "
              f"{min(peer['dr5'].mean(), peer['dr'].mean()):.3f}): {'PASS' if dr_ok else 'MISS'}")
    print()


def _pehe_of(estimate, truth) -> float:
    return float(np.sqrt(np.mean((np.asarray(estimate) - np.asarray(truth)) ** 2)))


def _coverage_replicate(seed: int, n: int) -> tuple[float, float, float]:
    import mediationhte as mh

    d = simulate(n, seed=seed)
    row = mh.cate(FORMULA, d, learner="dr", random_state=seed).to_frame().loc["aipw"]
    return float(row["estimate"]), float(row["ci_lower"]), float(row["ci_upper"])


def _coverage(args) -> None:
    from joblib import Parallel, delayed

    print(f"(b) AIPW 95% CI coverage of the true ATE {TRUE_ATE:.4f}, n = {args.coverage_n}, "
          f"{args.coverage_reps} replicates, n_jobs = {args.n_jobs}")
    t0 = time.perf_counter()
    out = Parallel(n_jobs=args.n_jobs)(delayed(_coverage_replicate)(5000 + r, args.coverage_n)
                                       for r in range(args.coverage_reps))
    est, lo, hi = np.array(out).T
    cover = float(np.mean((lo <= TRUE_ATE) & (TRUE_ATE <= hi)))
    mcse = np.sqrt(0.95 * 0.05 / len(est))
    ok = abs(cover - 0.95) <= 2 * mcse
    print(f"  mean estimate {est.mean():.4f} (bias {est.mean() - TRUE_ATE:+.4f}, MC SE "
          f"{est.std(ddof=1) / np.sqrt(len(est)):.4f}); mean CI width {np.mean(hi - lo):.4f}")
    print(f"goal: coverage {cover:.3f} within 0.95 +- 2 MCSE ({0.95 - 2 * mcse:.3f}, {0.95 + 2 * mcse:.3f}): "
          f"{'PASS' if ok else 'MISS'} ({time.perf_counter() - t0:.0f} s)")
    print()


def _base_params() -> dict:
    from mediationhte.core.learners import registry_learner

    return registry_learner("boosting", "regression").get_params()


def _run_peer(args, d: pd.DataFrame, *, effects: bool = False, learners=("S", "T", "X", "DR"), cv: int = 2):
    """EconML's learners on ``d`` under ``args.peer_python``: {"seconds": ..., "effects": array or None} or None."""
    if args.no_peer:
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_econml.py")
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "data.npz"), os.path.join(tmp, "effects.npy")
        np.savez(data, X=d[[f"x{j}" for j in range(1, D + 1)]].to_numpy(), y=d.y.to_numpy(), t=d.t.to_numpy())
        command = [args.peer_python, script, data, json.dumps(_base_params()), "--learners", *learners,
                   "--cv", str(cv)] + (["--effects", out] if effects else [])
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            if not getattr(args, "_peer_reported", False):
                print(f"  peer: EconML did not run under {args.peer_python}: "
                      f"{(done.stderr.strip().splitlines() or ['?'])[-1]}")
                args._peer_reported = True
            return None
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["effects"] = np.load(out) if effects else None
    return result


def _speed(args) -> None:
    import mediationhte as mh

    n = args.speed_n
    print(f"(c) speed: cate(learner=['s', 't', 'x', 'dr'], base_learner='boosting'), n = {n:,}, d = {D}")
    d = simulate(n, seed=7)
    t0 = time.perf_counter()
    fit = mh.cate(FORMULA, d, learner=["s", "t", "x", "dr"], random_state=1)
    ours = time.perf_counter() - t0
    print(f"  mediationhte: {ours:.1f} s (four learners, propensity, AIPW, IPTW, RA, matching)")
    print(f"  AIPW {fit.to_frame().loc['aipw', 'estimate']:.4f} (truth {TRUE_ATE:.4f})")
    t0 = time.perf_counter()
    mh.cate(FORMULA, d, learner="dr", random_state=1, n_jobs=-1)
    ours_dr = time.perf_counter() - t0
    # EconML's boosting runs OpenMP on every core, so the like-for-like call gives ours every core too.
    print(f"  mediationhte learner='dr' alone, n_jobs=-1: {ours_dr:.1f} s (still with every average estimator)")
    peer = _run_peer(args, d, learners=("DR",), cv=5)
    if peer is not None:
        seconds = peer["seconds"]["DR"]
        print(f"  peer EconML {peer['econml']} DRLearner (cv = 5): {seconds:.1f} s")
        print(f"  ratio, DR like for like: mediationhte learner='dr' ({ours_dr:.1f} s) / EconML DRLearner "
              f"({seconds:.1f} s) = {ours_dr / seconds:.2f}")
    print(f"goal: n = {n:,} in <= 5 min on 2 cores: {'PASS' if ours <= SPEED_GOAL_SECONDS else 'MISS'} "
          f"({ours / 60:.1f} min)")
    print()


def _peer_timing(args) -> None:
    import mediationhte as mh

    n = args.peer_n
    print(f"(d) ours vs EconML, four meta-learners, base learner HistGradientBoosting {_base_params()['max_iter']} "
          f"trees, n = {n:,}, d = {D}, {os.cpu_count()} cores")
    d = simulate(n, seed=7)
    peer = _run_peer(args, d)
    if peer is None:
        print("  peer: EconML not available (see --peer-python); nothing to compare")
        print()
        return
    theirs = sum(peer["seconds"].values())
    print(f"  EconML {peer['econml']} (scikit-learn {peer['sklearn']}): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in peer["seconds"].items()) + f"; total {theirs:.2f} s")
    for folds in (5, 2):
        t0 = time.perf_counter()
        mh.cate(FORMULA, d, learner=["s", "t", "x", "dr"], n_folds=folds, random_state=1, n_jobs=-1)
        ours = time.perf_counter() - t0
        label = "defaults (5 folds)" if folds == 5 else "2 folds, as EconML's DRLearner"
        print(f"  mediationhte, {label}, n_jobs=-1, every average estimator included: {ours:.2f} s; "
              f"ours / EconML = {ours / theirs:.2f} (goal <= 0.5: {'PASS' if ours <= 0.5 * theirs else 'MISS'})")
    print()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("pehe", "coverage", "speed", "peer"), nargs="+",
                   default=["pehe", "coverage", "speed", "peer"])
    p.add_argument("--n", type=int, default=5000, help="(a) rows per replicate (default 5000)")
    p.add_argument("--reps", type=int, default=10, help="(a) replicates (default 10)")
    p.add_argument("--coverage-n", type=int, default=2000, help="(b) rows per replicate (default 2000)")
    p.add_argument("--coverage-reps", type=int, default=200, help="(b) replicates (default 200)")
    p.add_argument("--speed-n", type=int, default=1_000_000, help="(c) rows (default 10^6)")
    p.add_argument("--peer-n", type=int, default=100_000, help="(d) rows (default 10^5)")
    p.add_argument("--n-jobs", type=int, default=2, help="(a) threads per fit, (b) replicates in parallel (default 2)")
    p.add_argument("--peer-python", default=sys.executable,
                   help="interpreter of an environment with EconML (default: this one)")
    p.add_argument("--no-peer", action="store_true", help="skip EconML everywhere")
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.reps, args.coverage_n, args.coverage_reps = 1000, 2, 1000, 10
        args.speed_n, args.peer_n = 20_000, 20_000
    import mediationhte

    print(f"mediationhte cate(): Python {platform.python_version()} on {platform.machine()}, "
          f"mediationhte {mediationhte.__version__}")
    t0 = time.perf_counter()
    for part in args.part:
        {"pehe": _pehe, "coverage": _coverage, "speed": _speed, "peer": _peer_timing}[part](args)
    print(f"Wall time: {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
