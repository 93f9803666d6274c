"""The package's two REML engines against each other and against statsmodels' variance components, on CRT designs.

Run from anywhere (the package must be installed)::

    python benchmarks/bench_reml_engines.py              # scenarios A, B, N with seeds 1-3, about 3 min on 2 cores
    python benchmarks/bench_reml_engines.py --seeds 1    # a smoke run
    python benchmarks/bench_reml_engines.py --plain-only # part 1 only, about 30 s

It records the REML problems that ``cate()`` solves (learners ``"lmm_shrink"`` and ``"gamm"`` on ``simulate_crt``
data; each also fits the plain random-intercept LMM as its reference; plus learner ``"lmm"`` on the same scenarios
with ``icc=0``) and refits each one:

1. Plain random-intercept LMM: ``fit_random_intercept_lmm`` (statsmodels ``MixedLM``, the package's numbers)
   against ``fit_variance_components`` with no extra block, both measured against the REML optimum from a tight
   (xatol 1e-14) bounded search of the profiled likelihood. Columns: relative error in sigma_b^2 and the REML
   log-likelihood left below the optimum.
2. Models with extra variance-component blocks (the shrunk treatment x modifier slopes of ``"lmm_shrink"``, the
   smooth blocks of ``"gamm"``): ``fit_variance_components`` against statsmodels ``MixedLM(..., exog_vc=VCSpec)``
   (one group holding every row, the cluster intercepts as one more component), with statsmodels' default and a
   tight (bfgs, gtol 1e-9) fit. Columns ``llf ours - sm`` and ``- sm tight``: the profiled REML log-likelihood of our
   solution minus that of statsmodels' fit, both evaluated by one function; a positive value means statsmodels
   stopped short of the optimum.

The measured results are quoted at the top of ``mediationhte/crt/mixed_models.py`` and
``mediationhte/crt/penalized_lmm.py``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import optimize

FORMULA_SHRINK = "y ~ treat * (x1 + x2 + x3 + x4 + x5 + v1 + v2) + (1 | cluster)"
FORMULA_GAMM = "y ~ treat * (x1 + s(x3)) + x2 + (1 | cluster)"


def record_problems(seeds):
    """Run cate() and keep every (kind, y, X, groups, blocks) handed to the two engines."""
    import mediationhte as mh
    import mediationhte.crt.estimation as estimation

    problems, real_lmm, real_vc = [], estimation.fit_random_intercept_lmm, estimation.fit_variance_components

    def lmm(y, X, groups, **kwargs):
        problems.append(("plain", np.array(y), np.array(X), np.array(groups), []))
        return real_lmm(y, X, groups, **kwargs)

    def vc(y, X, blocks=(), groups=None):
        problems.append(("blocks", np.array(y), np.array(X), np.array(groups), [np.array(b) for b in blocks]))
        return real_vc(y, X, blocks, groups=groups)

    estimation.fit_random_intercept_lmm, estimation.fit_variance_components = lmm, vc
    tags = []
    try:
        for scenario in ("A", "B", "N"):
            for seed in seeds:
                d = mh.simulate_crt(scenario, random_state=seed)
                for formula, learner in ((FORMULA_SHRINK, "lmm_shrink"), (FORMULA_GAMM, "gamm")):
                    start = len(problems)
                    mh.cate(formula, d, learner=learner)
                    tags += [f"{scenario}{seed} {learner}" + (" (its plain LMM)" if p[0] == "plain" else "")
                             for p in problems[start:]]
                # no cluster effect: the REML optimum is at or next to the boundary sigma_b^2 = 0
                mh.cate(FORMULA_SHRINK, mh.simulate_crt(scenario, icc=0.0, random_state=seed), learner="lmm")
                tags.append(f"{scenario}{seed} icc=0 lmm")
    finally:
        estimation.fit_random_intercept_lmm, estimation.fit_variance_components = real_lmm, real_vc
    return list(zip(tags, problems))


def plain(problems) -> None:
    from mediationhte.crt.mixed_models import _RandomIntercept, fit_random_intercept_lmm
    from mediationhte.crt.penalized_lmm import fit_variance_components

    print("1. Plain random-intercept LMM: error against the REML optimum\n")
    print(f"{'problem':32s} {'sb2 statsmodels':>15s} {'rel err':>8s} {'llf gap':>8s} {'sb2 VC engine':>13s} "
          f"{'rel err':>8s} {'llf gap':>8s} {'ms sm':>6s} {'ms VC':>6s}")
    worst, total = np.zeros(2), np.zeros(2)
    for tag, (_, y, X, g, _) in problems:
        t0 = time.perf_counter()
        sm = fit_random_intercept_lmm(y, X, g)
        t1 = time.perf_counter()
        vc = fit_variance_components(y, X, (), groups=g)
        t2 = time.perf_counter()
        total += (t1 - t0, t2 - t1)
        codes = np.unique(g, return_inverse=True)[1]
        problem = _RandomIntercept(y, X, codes, int(codes.max()) + 1)
        res = optimize.minimize_scalar(lambda rho: -problem.llf(rho / (1 - rho)), bounds=(0, 1 - 1e-12),
                                       method="bounded", options={"xatol": 1e-14})
        lam = res.x / (1 - res.x) if -res.fun > problem.llf(0.0) else 0.0
        best, sb2 = problem.llf(lam), lam * problem.solve(lam)[3]
        rows = []
        for sb2_fit, s2_fit in ((sm.sigma_b2, sm.sigma2), (vc.variances[0], vc.sigma2)):
            lam_fit = sb2_fit / s2_fit
            rel = abs(sb2_fit - sb2) / sb2 if sb2 > 0 else abs(sb2_fit)
            rows.append((sb2_fit, rel, best - problem.llf(lam_fit)))
        worst = np.maximum(worst, [rows[0][1], rows[1][1]])
        print(f"{tag:32s} {rows[0][0]:15.6g} {rows[0][1]:8.1e} {rows[0][2]:8.1e} {rows[1][0]:13.6g} {rows[1][1]:8.1e} "
              f"{rows[1][2]:8.1e} {1e3 * (t1 - t0):6.0f} {1e3 * (t2 - t1):6.0f}")
    print(f"\nlargest relative error in sigma_b^2: statsmodels {worst[0]:.1e}, VC engine {worst[1]:.1e}; "
          f"time {total[0]:.1f} s against {total[1]:.1f} s\n")


def blocks(problems) -> None:
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    from mediationhte.crt.penalized_lmm import LOG_LAMBDA_BOUNDS, _pieces, _reml, fit_variance_components

    print("2. Extra variance-component blocks: fit_variance_components against statsmodels MixedLM(exog_vc=...)\n")
    print(f"{'problem':16s} {'K':>2s} {'max rel diff variances':>22s} {'llf ours - sm':>13s} {'- sm tight':>10s} "
          f"{'sm converged':>12s} {'s ours':>7s} {'s sm':>6s} {'s sm tight':>10s}")
    total, short, short_tight = np.zeros(3), 0, 0
    for tag, (_, y, X, g, extra) in problems:
        t0 = time.perf_counter()
        ours = fit_variance_components(y, X, extra, groups=g)
        t1 = time.perf_counter()
        ids = np.unique(g)
        mats = [(g[:, None] == ids[None, :]).astype(float), *extra]
        names = ["cluster"] + [f"block{k}" for k in range(len(extra))]
        spec = VCSpec(names, [[f"{n}_{i}" for i in range(m.shape[1])] for n, m in zip(names, mats)],
                      [[m] for m in mats])
        model = MixedLM(y, X, groups=np.ones(len(y)), exog_vc=spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t2 = time.perf_counter()
            sm = model.fit(reml=True)
            t3 = time.perf_counter()
            tight = model.fit(reml=True, method="bfgs", gtol=1e-9)
            t4 = time.perf_counter()
        # Both solutions scored by one function, the profiled REML objective our engine maximises (over log variance
        # ratios floored at its lower bound): MixedLM.loglike agrees with it in the interior, but loses digits for
        # a component near 0 (the boundary solutions of scenario N).
        codes = np.unique(g, return_inverse=True)[1]
        gram, rhs, yy = _pieces(y, X, codes, len(ids), np.column_stack(extra))
        sizes = np.array([len(ids)] + [b.shape[1] for b in extra], dtype=float)
        at = [-_reml(np.maximum(np.log(np.maximum(np.asarray(v) / s, 1e-300)), LOG_LAMBDA_BOUNDS[0]), gram, rhs, yy,
                     sizes, len(y), X.shape[1])[0]
              for v, s in ((ours.variances, ours.sigma2), (sm.vcomp, sm.scale), (tight.vcomp, tight.scale))]
        total += (t1 - t0, t3 - t2, t4 - t3)
        gap = at[0] - at[1]
        short += gap > 1e-6
        short_tight += at[0] - at[2] > 1e-6
        rel = np.max(np.abs(ours.variances - sm.vcomp) / np.maximum(np.maximum(ours.variances, sm.vcomp), 1e-8))
        print(f"{tag:16s} {len(mats):2d} {rel:22.1e} {gap:13.2e} {at[0] - at[2]:10.2e} {str(sm.converged):>12s} "
              f"{t1 - t0:7.2f} {t3 - t2:6.2f} {t4 - t3:10.2f}")
    print(f"\nstatsmodels stops more than 1e-6 below our REML optimum in {short} of {len(problems)} problems "
          f"({short_tight} with gtol 1e-9); time: "
          f"ours {total[0]:.1f} s, statsmodels {total[1]:.1f} s (default) and {total[2]:.1f} s (gtol 1e-9)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..SEEDS per scenario")
    parser.add_argument("--plain-only", action="store_true", help="part 1 only (seconds instead of minutes)")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problems = record_problems(range(1, args.seeds + 1))
    plain([p for p in problems if p[1][0] == "plain"])
    if not args.plain_only:
        blocks([p for p in problems if p[1][0] == "blocks"])


if __name__ == "__main__":
    main()
