"""Why the BLP test uses one held-out half: the full-sample (cross-fitted) version of the same test is not valid.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_blp_crossfit.py --n-jobs 2        # 3 designs x R = 100 at n = 1000, ~25 min on 2 cores
    python benchmarks/bench_blp_crossfit.py --n-jobs 2 | tee benchmarks/results/blp_crossfit.txt

The default heterogeneity test (``fit.test_heterogeneity()``, ``subgroups()``) learns its proxy on a random half
(step 1 refitted there) and tests on the other half, so half of the units never enter the test. Testing on every
unit looks like a free doubling of the sample: learn a proxy on each half, predict the other half, and regress all
n pseudo-outcomes on the two out-of-half proxies (each centred within its half), as ``grf``'s ``test_calibration``
does with out-of-bag predictions. This script measures what that costs. Per replicate (seed s = 1..R, the
validity table's ``simulate(design, n = 1000, noise_sd, random_state=s)`` and step-1 fit): the two halves of the
package's split, step 1 refitted on each, the package's proxy learner (``effect_proxy``) from each half to the
other, and three one-sided z-statistics of the BLP slope (HC3):

* ``held-out half``: proxy from the first half, test on the second (the package's construction);
* ``swapped half``: proxy from the second half, test on the first;
* ``cross-fitted``: both, every unit in one regression.

Under a null design (the indirect effect the same for everyone) each z should be N(0, 1). The cross-fitted z is
not: the proxy learned on half A carries half A's noise, and half A's pseudo-outcomes are then tested against
half B's proxy, which carries B's noise, so the two halves' statistics are positively correlated and the
regression's standard error, which treats the n terms as independent, is too small. The correlation of the two
halves' z is printed: with it at rho, the cross-fitted z has SD about sqrt(1 + rho).
"""

from __future__ import annotations

import argparse
import sys

COVS = " + ".join(f"x{i}" for i in range(1, 11))
DESIGNS = (("simple_null1", 0.5), ("global", 0.5), ("outcome_path", 0.5))
NULLS = {"simple_null1", "simple_null2", "global", "global_nonlinear", "direct_only"}


def _replicate(design: str, noise: float, seed: int) -> tuple[float, float, float]:
    """(held-out half z, swapped half z, cross-fitted z) of the BLP slope of the indirect effect."""
    import warnings

    import numpy as np
    from threadpoolctl import threadpool_limits

    import mediationhte as mh
    from mediationhte.inference.heterogeneity import blp_test, effect_proxy
    from mediationhte.subgroups.calibration import blp_split

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        data = mh.simulate(design, n=1000, noise_sd=noise, random_state=seed)
        fit = mh.mediate(f"y ~ treat + m + {COVS}", f"m ~ treat + {COVS}", data=data, learner="boosting",
                         n_folds=5, random_state=seed)
        inputs = fit.search_inputs
        t = np.asarray(inputs.treatment)
        gamma = inputs.pseudo_outcomes["cie_treated"].to_numpy(dtype=float)
        first, second = blp_split(t, seed)
        proxy = np.empty(len(t))
        for k, (train_rows, test_rows) in enumerate(((first, second), (second, first))):
            units = inputs.rerun(t[train_rows], train_rows, np.random.default_rng([seed, k]), ("cie_treated",))
            train = np.zeros(len(t), dtype=bool)
            train[train_rows] = True
            predicted = effect_proxy(units["cie_treated"].to_numpy(dtype=float), inputs.features, train,
                                     seed=seed)
            # effect_proxy returns the rows outside `train` in row order
            proxy[np.flatnonzero(~train)] = predicted - predicted.mean()

    def z(rows):
        row = blp_test(gamma[rows], proxy[rows]).blp.loc["heterogeneity"]
        return float(row["estimate"] / row["std_error"]) if row["std_error"] > 0 else 0.0

    return z(np.sort(second)), z(np.sort(first)), z(np.arange(len(t)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="replicates per design, seeds 1..R (default 100)")
    parser.add_argument("--n-jobs", type=int, default=1, help="replicates in parallel (default 1)")
    args = parser.parse_args(argv)

    import time

    import numpy as np
    from joblib import Parallel, delayed
    from scipy import stats

    start = time.perf_counter()
    print(f"BLP test of the indirect effect: one held-out half against the cross-fitted full sample; n = 1000, "
          f"R = {args.reps} per design (seeds 1..{args.reps}), z = slope / HC3 SE, one-sided at 0.05")
    print(f"{'design':<14} {'noise':>5} {'statistic':<15} {'mean z':>7} {'SD z':>6} {'rejection':>9} {'(MC SE)':>8} "
          f"{'KS p':>6}")
    for design, noise in DESIGNS:
        z = np.array(Parallel(n_jobs=args.n_jobs)(delayed(_replicate)(design, noise, seed)
                                                  for seed in range(1, args.reps + 1)))
        for name, column in zip(("held-out half", "swapped half", "cross-fitted"), z.T):
            p = stats.norm.sf(column)
            rate = float(np.mean(p < 0.05))
            ks = f"{stats.kstest(p, 'uniform').pvalue:6.3f}" if design in NULLS else f"{'':>6}"
            print(f"{design:<14} {noise:5.2f} {name:<15} {column.mean():+7.3f} {column.std(ddof=1):6.3f} "
                  f"{rate:9.3f} {np.sqrt(rate * (1 - rate) / len(column)):8.3f} {ks}")
        rho = float(np.corrcoef(z[:, 0], z[:, 1])[0, 1])
        print(f"{design:<14} {noise:5.2f} correlation of the two halves' z: {rho:+.3f}")
    print(f"wall time {(time.perf_counter() - start) / 60:.1f} min on {args.n_jobs} process(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
