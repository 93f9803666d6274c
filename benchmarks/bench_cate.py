"""Accuracy, coverage and speed of ``cate()``: PEHE of S/T/X/DR under a 10:1 imbalance, AIPW coverage, 10^6 rows.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_cate.py                 # all three parts (about 15 min on 2 cores)
    python benchmarks/bench_cate.py --part pehe     # or coverage, speed
    python benchmarks/bench_cate.py --quick         # smoke run

(a) PEHE. Kuenzel et al. (2019, PNAS), simulation SI 1 ("unbalanced case with a simple CATE"): x ~ N(0, I_20),
    mu_0(x) = x'beta + 5 * 1(x_1 > 0.5) with beta ~ U(-5, 5)^20 (fixed seed), tau(x) = 8 * 1(x_2 > 0.1),
    Y = mu_T(x) + N(0, 1), P(T = 1) = 1/11 (10 controls per treated unit). The true tau is known, so
    PEHE = sqrt(mean((tau_hat - tau)^2)) per learner, averaged over replicates. Goal (issue 4): X beats T, and X is
    within 10% of S (PEHE_X <= 1.1 PEHE_S).
(b) Coverage. The same design's true ATE is 8 * P(x_2 > 0.1) = 8 * (1 - Phi(0.1)); over R replicates (n = 2000)
    the share of AIPW 95% intervals that cover it, with its Monte Carlo SE; target: within 0.95 +- 2 MCSE.
(c) Speed. cate(learner=["s", "t", "x", "dr"]) with the default HistGradientBoosting base learner on 10^6 rows
    of the design (20 covariates), every average-effect estimator included; goal <= 5 min on 2 cores. When EconML
    is importable the script times its DRLearner and XLearner (same base learner, same rows) as the peer and
    prints the ratio; otherwise it says so.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

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
    rows = []
    for r in range(args.reps):
        d = simulate(args.n, seed=100 + r)
        fit = mh.cate(FORMULA, d, learner=["s", "t", "x", "dr"], random_state=r)
        rows.append({k: float(np.sqrt(np.mean((fit.effects[k] - d.tau) ** 2))) for k in ("s", "t", "x", "dr")})
    table = pd.DataFrame(rows)
    mean, se = table.mean(), table.std(ddof=1) / np.sqrt(len(table))
    for k in table.columns:
        print(f"  PEHE {k:>2}: {mean[k]:.3f} (MC SE {se[k]:.3f})")
    x_beats_t = mean["x"] < mean["t"]
    x_near_s = mean["x"] <= 1.1 * mean["s"]
    print(f"goal: X beats T ({mean['x']:.3f} < {mean['t']:.3f}): {'PASS' if x_beats_t else 'MISS'}; "
          f"X within 10% of S ({mean['x']:.3f} <= 1.1 x {mean['s']:.3f}): {'PASS' if x_near_s else 'MISS'}")
    print()


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


def _econml_peer(d: pd.DataFrame):
    try:
        from econml.dr import DRLearner
        from econml.metalearners import XLearner
    except ImportError:
        return None
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mediationhte.core.learners import registry_learner

    X = d[[f"x{j}" for j in range(1, D + 1)]].to_numpy()
    y, t = d.y.to_numpy(), d.t.to_numpy()
    base = registry_learner("boosting", "regression")
    ps = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    times = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        DRLearner(model_propensity=ps, model_regression=HistGradientBoostingRegressor(**base.get_params()),
                  model_final=HistGradientBoostingRegressor(**base.get_params()), cv=5,
                  random_state=0).fit(y, t, X=X).effect(X)
        times["DRLearner"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        XLearner(models=HistGradientBoostingRegressor(**base.get_params()),
                 propensity_model=HistGradientBoostingClassifier()).fit(y, t, X=X).effect(X)
        times["XLearner"] = time.perf_counter() - t0
    return times


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
    mh.cate(FORMULA, d, learner="dr", random_state=1)
    ours_dr = time.perf_counter() - t0
    print(f"  mediationhte learner='dr' alone: {ours_dr:.1f} s (still with every average estimator)")
    peer = _econml_peer(d) if not args.no_peer else None
    if peer is None:
        print("  peer: EconML is not importable here (pip install econml to time it in the same run)")
    else:
        for name, seconds in peer.items():
            print(f"  peer EconML {name}: {seconds:.1f} s")
        print(f"  ratio: EconML DRLearner + XLearner ({sum(peer.values()):.1f} s) / mediationhte all four learners "
              f"and every average estimator ({ours:.1f} s) = {sum(peer.values()) / ours:.2f}x")
        print(f"  ratio, DR like for like: EconML DRLearner ({peer['DRLearner']:.1f} s) / mediationhte "
              f"learner='dr' ({ours_dr:.1f} s) = {peer['DRLearner'] / ours_dr:.2f}x")
    print(f"goal: n = {n:,} in <= 5 min on 2 cores: {'PASS' if ours <= SPEED_GOAL_SECONDS else 'MISS'} "
          f"({ours / 60:.1f} min)")
    print()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("pehe", "coverage", "speed"), nargs="+", default=["pehe", "coverage", "speed"])
    p.add_argument("--n", type=int, default=5000, help="(a) rows per replicate (default 5000)")
    p.add_argument("--reps", type=int, default=5, help="(a) replicates (default 5)")
    p.add_argument("--coverage-n", type=int, default=2000, help="(b) rows per replicate (default 2000)")
    p.add_argument("--coverage-reps", type=int, default=200, help="(b) replicates (default 200)")
    p.add_argument("--speed-n", type=int, default=1_000_000, help="(c) rows (default 10^6)")
    p.add_argument("--n-jobs", type=int, default=2, help="(b) replicates in parallel (default 2)")
    p.add_argument("--no-peer", action="store_true", help="(c) skip the EconML timing")
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.reps, args.coverage_n, args.coverage_reps, args.speed_n = 1000, 2, 1000, 10, 20_000
    import mediationhte

    print(f"mediationhte cate(): Python {platform.python_version()} on {platform.machine()}, "
          f"mediationhte {mediationhte.__version__}")
    t0 = time.perf_counter()
    for part in args.part:
        {"pehe": _pehe, "coverage": _coverage, "speed": _speed}[part](args)
    print(f"Wall time: {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
