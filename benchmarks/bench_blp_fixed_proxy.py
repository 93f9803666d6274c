"""Why the BLP test's p-values lean towards 1 under some nulls: the same held-out test with proxies fixed in advance.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_blp_fixed_proxy.py --n-jobs 2           # Simple-Null1, noise 0.5, R = 40: ~3 min
    python benchmarks/bench_blp_fixed_proxy.py --n-jobs 2 | tee benchmarks/results/blp_fixed_proxy.txt

In the validity table (``bench_mlearner_calibration.py``) the default test's p-values are conservative in several
null designs (medians 0.57-0.69). This script separates the two candidate causes. For each replicate it fits step 1
as the table does (``mediate(..., learner="boosting", n_folds=5, random_state=s)``), takes the cross-fitted
pseudo-outcomes of the indirect effect on a random half, and runs the BLP test there with proxies that depend on
nothing estimated: x1, sin(2 x2) + x3^2, and pure noise. The true indirect effect is the same for everyone, so each
z-statistic (slope / HC3 standard error) should be N(0, 1) if the pseudo-outcomes and the HC3 errors are sound.
Centred, uniform z here and a negative shift with the learned proxy (the table) locate the lean in the learned
proxy's dependence on the data, not in the pseudo-outcomes' distribution.
"""

from __future__ import annotations

import argparse
import sys

COVS = [f"x{i}" for i in range(1, 11)]
PROXIES = ("x1", "sin(2 x2) + x3^2", "noise")


def _replicate(design: str, noise: float, seed: int) -> list[float]:
    """The held-out z-statistic of the BLP slope for each fixed proxy, in PROXIES order."""
    import warnings

    import numpy as np
    from threadpoolctl import threadpool_limits

    import mediationhte as mh
    from mediationhte.inference.heterogeneity import blp_test

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        data = mh.simulate(design, n=1000, noise_sd=noise, random_state=seed)
        fit = mh.mediate(f"y ~ treat + m + {' + '.join(COVS)}", f"m ~ treat + {' + '.join(COVS)}", data=data,
                         learner="boosting", n_folds=5, random_state=seed)
    gamma = fit.search_inputs.pseudo_outcomes["cie_treated"].to_numpy()
    rng = np.random.default_rng(seed + 999)
    held = rng.permutation(len(gamma))[: len(gamma) // 2]
    X = data[COVS].to_numpy()
    proxies = (X[:, 0], np.sin(2 * X[:, 1]) + X[:, 2] ** 2, rng.normal(size=len(gamma)))
    z = []
    for proxy in proxies:
        row = blp_test(gamma[held], proxy[held]).blp.loc["heterogeneity"]
        z.append(float(row["estimate"] / row["std_error"]))
    return z


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="simple_null1", help="a null design of simulate() (default simple_null1)")
    parser.add_argument("--noise", type=float, default=0.5, help="noise sd (default 0.5)")
    parser.add_argument("--reps", type=int, default=40, help="replicates, seeds 1..R (default 40)")
    parser.add_argument("--n-jobs", type=int, default=1, help="replicates in parallel (default 1)")
    args = parser.parse_args(argv)

    import numpy as np
    from joblib import Parallel, delayed
    from scipy import stats

    z = np.array(Parallel(n_jobs=args.n_jobs)(delayed(_replicate)(args.design, args.noise, seed)
                                              for seed in range(1, args.reps + 1)))
    print(f"BLP test of the indirect effect on a held-out half with fixed proxies: {args.design}, noise "
          f"{args.noise:g}, n = 1000, R = {args.reps} (seeds 1..{args.reps}); z = slope / HC3 SE, N(0, 1) if sound")
    print(f"{'proxy':<18} {'mean z':>7} {'(MC SE)':>8} {'SD z':>6} {'rejection':>9} {'KS p':>6}")
    for name, column in zip(PROXIES, z.T):
        p = stats.norm.sf(column)
        print(f"{name:<18} {column.mean():+7.3f} {column.std(ddof=1) / np.sqrt(len(column)):8.3f} "
              f"{column.std(ddof=1):6.3f} {np.mean(p < 0.05):9.3f} {stats.kstest(p, 'uniform').pvalue:6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
