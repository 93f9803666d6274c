"""The acceptance studies of the cluster-randomised CATE path (spec crt.md section 9, checks 1-4), with PASS/MISS.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_crt.py                  # R = 20 (checks 1-3) and 200 (check 4), about 6 min on 2 cores
    python benchmarks/bench_crt.py --reps 5 --coverage-reps 40     # a smoke run

Data: ``simulate_crt`` (spec section 4.2: 40 clusters, 20 per arm, 20-40 rows each), replicate r on seed 1000 + r,
CATE RMSE on the fixed 2000-point grid ``crt_test_grid(scenario, random_state=99)``. The formula gives every
covariate a treatment interaction (seven candidate modifiers, two of them cluster-level):
``y ~ treat * (x1 + x2 + x3 + x4 + x5 + v1 + v2) + (1 | cluster)``.

1. Scenario A (ICC 0.5, individual modifiers): mean paired ratio RMSE(merf, T, warm start) / RMSE(rf T-learner)
   <= 0.85, and RMSE(bcf_re) / RMSE(bcf) <= 0.85 when stochtree is installed; the best random-effects method's mean
   RMSE <= 0.80.
2. Scenario B (ICC 0.2, plus the cluster-level modifier v1; truth sigma_b^2 = 0.25): for merf, megb and (when
   installed) gpboost at their defaults, mean sigma_b^2 in [0.10, 0.50] and mean RMSE <= that of the
   cluster-ignoring boosting S-learner.
3. Scenario N (tau = 1, ICC 0.3), the default learner: mean SD(tau-hat) on the grid <= 0.25, |mean ATE - 1| <= 0.15,
   and the BLP heterogeneity test (CR2) rejects in <= 10% of replicates at alpha = 0.05.
4. Scenario A, R = 200: the 95% CI of the sample ATE (mean true tau over the training rows) covers in
   [0.91, 0.98] of replicates for the model-based intervals of "lmm" and "lmm_shrink" and for the CR2
   covariate-adjusted regression; the same regression with iid standard errors covers <= 0.60.

5. Small trials (issue 17): scenario A with 20 clusters of 5-10 units, R = 400: the 95% interval of the CR2
   covariate-adjusted regression (Bell-McCaffrey df) covers the sample ATE in >= 0.94 of replicates; the
   model-based intervals of "lmm" and "lmm_shrink" are reported.

The script exits 0 either way; ``tests/test_crt_validity.py`` (slow) runs it and fails on any MISS.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
import pandas as pd

FORMULA = "y ~ treat * (x1 + x2 + x3 + x4 + x5 + v1 + v2) + (1 | cluster)"
# Check 5's trials have 20 clusters: treatment x cluster-level interactions would be aliased in some of them.
SMALL_FORMULA = "y ~ treat * (x1 + x2) + x3 + x4 + x5 + v1 + v2 + (1 | cluster)"


def _rmse(fit, grid) -> float:
    return float(np.sqrt(np.mean((fit.predict(grid).to_numpy() - grid["tau"].to_numpy()) ** 2)))


def _replicate(scenario: str, r: int, learners) -> dict:
    import warnings

    import mediationhte as mh
    from mediationhte.datasets.crt import crt_test_grid

    d = mh.simulate_crt(scenario, random_state=1000 + r)
    grid = crt_test_grid(scenario, n=2000, random_state=99)
    out = {}
    for name in learners:
        fit = mh.cate(FORMULA, d, learner=name, random_state=r)
        out[f"rmse_{name}"] = _rmse(fit, grid)
        comp = fit.fit.components
        own = comp.loc[[i for i in comp.index if "reference" not in str(i)], "sigma_b2"]
        out[f"sigma_b2_{name}"] = float(own.mean())
        if scenario == "N" and name == learners[0]:
            tau = fit.predict(grid)
            out["sd_tau"] = float(tau.std())
            out["ate"] = float(fit.ate().loc["cate_mean_individual", "estimate"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out["blp_reject"] = float(fit.blp().attrs["wald_p_value"] < 0.05)
    return out


def _ate_coverage(formula: str, d: pd.DataFrame) -> dict:
    """Whether each 95% interval covers the sample ATE: model-based (lmm, lmm_shrink) and the CR2 regression."""
    import mediationhte as mh

    truth = float(d["tau"].mean())
    out = {}
    for learner in ("lmm", "lmm_shrink"):
        ate = mh.cate(formula, d, learner=learner).ate()
        for key, label in (("cate_mean_individual", learner), ("adjusted_individual", "cr2")):
            lo, hi = ate.loc[key, ["ci_lower", "ci_upper"]]
            out[label] = float(lo <= truth <= hi)
    est, se, df = ate.loc["adjusted_individual", ["estimate", "std_error", "df"]]
    half = stats.t.ppf(0.975, d["cluster"].nunique() - 1) * se   # the former G - 1 df interval
    out["cr2_g1"], out["cr2_df"] = float(est - half <= truth <= est + half), float(df)
    return out


def _coverage_replicate(r: int) -> dict:
    import statsmodels.api as sm

    import mediationhte as mh

    d = mh.simulate_crt("A", random_state=5000 + r)
    out = _ate_coverage(FORMULA, d)
    X = sm.add_constant(np.column_stack([d["treat"], d[["x1", "x2", "x3", "x4", "x5", "v1", "v2"]]]))
    lo, hi = sm.OLS(d["y"].to_numpy(), X).fit().conf_int()[1]
    out["iid"] = float(lo <= float(d["tau"].mean()) <= hi)
    return out


def _small_trial_replicate(r: int) -> dict:
    import mediationhte as mh

    return _ate_coverage(SMALL_FORMULA, mh.simulate_crt("A", n_clusters=20, cluster_size=(5, 10),
                                                        random_state=9000 + r))


def _study(scenario, reps, learners, n_jobs) -> pd.DataFrame:
    from joblib import Parallel, delayed

    return pd.DataFrame(Parallel(n_jobs=n_jobs)(delayed(_replicate)(scenario, r, learners) for r in range(reps)))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _has_stochtree() -> bool:
    return _importable("stochtree")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv=None) -> int:
    from joblib import Parallel, delayed

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=20, help="replicates of checks 1-3 (default 20)")
    p.add_argument("--coverage-reps", type=int, default=200, help="replicates of check 4 (default 200)")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--checks", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument("--small-reps", type=int, default=400, help="replicates of check 5 (default 400)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if 1 in args.checks:
        names = ("merf", "rf", "lmm_shrink", "lmm", "megb") + (("bcf_re", "bcf") if _has_stochtree() else ())
        a = _study("A", args.reps, names, args.n_jobs)
        ratio = float((a["rmse_merf"] / a["rmse_rf"]).mean())
        best = min(a[f"rmse_{k}"].mean() for k in names if k not in ("rf", "bcf"))
        print(f"check 1 (A, ICC 0.5, R = {args.reps}): mean RMSE "
              + ", ".join(f"{k} {a[f'rmse_{k}'].mean():.3f}" for k in names))
        print(f"  paired ratio merf / rf = {ratio:.3f} (goal <= 0.85): {_verdict(ratio <= 0.85)}; best random-effects "
              f"method {best:.3f} (goal <= 0.80): {_verdict(best <= 0.80)}")
        if "bcf" in names:
            bayes = float((a["rmse_bcf_re"] / a["rmse_bcf"]).mean())
            print(f"  paired ratio bcf_re / bcf = {bayes:.3f} (goal <= 0.85): {_verdict(bayes <= 0.85)}")
        else:
            print("  bcf_re / bcf: stochtree is not installed (pip install 'mediationhte[bayes]'), not run")
    if 2 in args.checks:
        boosted = ("merf", "megb") + (("gpboost",) if _importable("gpboost") else ())
        b = _study("B", args.reps, boosted + ("gbm",), args.n_jobs)
        gbm = b["rmse_gbm"].mean()
        print(f"check 2 (B, ICC 0.2, truth sigma_b^2 = 0.25, R = {args.reps}): cluster-ignoring gbm RMSE {gbm:.3f}")
        for k in boosted:
            sb2, rmse = b[f"sigma_b2_{k}"].mean(), b[f"rmse_{k}"].mean()
            print(f"  {k}: mean sigma_b^2 {sb2:.3f} (goal in [0.10, 0.50]): {_verdict(0.10 <= sb2 <= 0.50)}; RMSE "
                  f"{rmse:.3f} (goal <= {gbm:.3f}): {_verdict(rmse <= gbm)}")
    if 3 in args.checks:
        n = _study("N", args.reps, ("lmm_shrink",), args.n_jobs)
        sd, bias, rej = n["sd_tau"].mean(), abs(n["ate"].mean() - 1), n["blp_reject"].mean()
        print(f"check 3 (N, tau = 1, ICC 0.3, R = {args.reps}, default learner lmm_shrink): mean SD(tau-hat) {sd:.3f} "
              f"(goal <= 0.25): {_verdict(sd <= 0.25)}; |mean ATE - 1| {bias:.3f} (goal <= 0.15): "
              f"{_verdict(bias <= 0.15)}; BLP rejection {rej:.2f} (goal <= 0.10): {_verdict(rej <= 0.10)}")
    if 4 in args.checks:
        c = pd.DataFrame(Parallel(n_jobs=args.n_jobs)(delayed(_coverage_replicate)(r)
                                                      for r in range(args.coverage_reps)))
        cov = c.mean()
        inside = {k: _verdict(0.91 <= cov[k] <= 0.98) for k in ("lmm", "lmm_shrink", "cr2")}
        print(f"check 4 (A, R = {args.coverage_reps}): coverage of the sample ATE (goal in [0.91, 0.98]): lmm "
              f"{cov['lmm']:.3f} {inside['lmm']}, lmm_shrink {cov['lmm_shrink']:.3f} {inside['lmm_shrink']}, CR2 "
              f"regression {cov['cr2']:.3f} {inside['cr2']}; iid OLS {cov['iid']:.3f} (goal <= 0.60): "
              f"{_verdict(cov['iid'] <= 0.60)}")
    if 5 in args.checks:
        c = pd.DataFrame(Parallel(n_jobs=args.n_jobs)(delayed(_small_trial_replicate)(r)
                                                      for r in range(args.small_reps)))
        cov, mcse = c.mean(), np.sqrt(c.mean() * (1 - c.mean()) / len(c))
        print(f"check 5 (A, 20 clusters of 5-10 units, R = {args.small_reps}): CR2 regression with Bell-McCaffrey "
              f"df (mean {cov['cr2_df']:.1f}) covers {cov['cr2']:.3f} (MC SE {mcse['cr2']:.3f}; goal >= 0.94): "
              f"{_verdict(cov['cr2'] >= 0.94)} (with G - 1 df: {cov['cr2_g1']:.3f}); model-based lmm "
              f"{cov['lmm']:.3f}, lmm_shrink {cov['lmm_shrink']:.3f} (reported)")
    print(f"Wall time: {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
