"""Speed and accuracy of ``dynamic_mediation()`` on the semi-synthetic mobile-health design (spec dynamic_mediation.md).

Run from anywhere (the package must be installed)::

    python benchmarks/bench_dynamic.py                      # timing + bias study (R = 20), about 15 min on 2 cores
    python benchmarks/bench_dynamic.py --timing             # the timing part only
    python benchmarks/bench_dynamic.py --reps 5 --sizes 100 500   # a smoke run of the bias study
    python benchmarks/bench_dynamic.py --bias --n-folds 5   # the bias study with 5 folds
    python benchmarks/bench_dynamic.py --coverage           # interval coverage, R = 100 at N = 200, 500 (~9 min)
    python benchmarks/bench_dynamic.py --oracle             # coverage with true nuisances, R = 100 at N = 200 (~25 min)
    python benchmarks/bench_dynamic.py --bootstrap          # bootstrap SDs, R = 100, B = 6 at N = 200 (~30 min)

1. Timing (issue 6): one fit of the semi-synthetic design (spec section 3.3) at N = 1500, T = 25 (36,000
   transitions), n_mc = 50 (a 7 x 7 Gauss-Hermite rule for the two mediators), every estimator, default
   settings; goal <= 60 s on 2 cores.
   The peer: the reference implementation (github.com/linlinlin97/MediationRL) is not installable here (not on
   PyPI, numpy < 2 only), so the script times a row-by-row loop of the same Q step in the reference's structure
   (for each row and each draw: one mediator-model predict, one scalar B-spline evaluation per coordinate, one
   reward predict) on 100 rows and scales it linearly to the full size. The spec measured the reference itself at
   5-10 ms per (row x draw).
2. Bias (spec section 5.4, check 5): R replicates (seed 1000 + r) at N = 100, 500 and 1500, T = 25; truth from
   ``semi_synthetic_truth()`` (Monte Carlo, its SE printed). Per estimator and component: mean bias, its Monte Carlo
   SE (SD / sqrt(R)), RMSE, and for MR the mean cluster SE and 95% CI coverage. Checks printed with PASS/MISS:
   MR |bias| of DDE and DME at N = 500 within 3 MC SEs (+ the truth's MC SE), MR RMSE shrinking with N, MR RMSE
   no worse than DM's (within 10%) for every component at the largest N, and IDE + IME + DDE + DME = ATE to 1e-10
   for DM and MR in every fit.

3. Coverage (issue 17): R = 100 replicates (seed 1000 + r) at N = 200 and 500, T = 25, ``dynamic_mediation()`` at
   its defaults. Per MR component: bias, mean SE, replicate SD, coverage of the 95% interval with its Monte Carlo SE
   and |bias| / mean SE. Checks: coverage in [0.92, 0.98] and |bias| <= SE / 2 for IDE, IME, DDE and DME at each N.
   The table is written to ``benchmarks/results/dynamic_coverage.md`` (the committed one: ``--reps 200``, ~17 min on
   2 cores).
4. Oracle nuisances (issue 17, the diagnosis behind 3): the coverage study at one N (default 200) with the fitted
   nuisances replaced by the design's true ones (``semi_synthetic_nuisances()``) role by role: none (the defaults),
   the mediator law p_m, the reward mean r, both, and also the behaviour propensity b. The nuisances are still
   fitted and then swapped inside the pipeline, so everything else (folds, bases, Q-functions, ratios, standard
   errors) is as in a default fit. A role whose estimation error the standard error misses shows as an SD / SE
   ratio above 1 that falls to 1 when that role is true. Written to ``benchmarks/results/dynamic_oracle.md``.
5. Trajectory bootstrap (issue 17: would a refitting bootstrap SE cover where the sandwich does not?): R = 100
   replicates at one N (default 200), each the default fit plus ``bootstrap_ci(n_boot=B)`` (B = 6, every nuisance,
   Q-function and ratio refitted; random_state 10**6 + the data seed). Per MR component: the replicate SD of the
   estimate (the target), the mean sandwich SE, the root mean square of the bootstrap SD S (S^2 = mean over the B
   draws of (draw - estimate)^2, unbiased for the bootstrap variance at any B) and the coverage of the "cheap
   bootstrap" interval estimate +- t_{B, 0.975} S (Lam 2022, arXiv 2202.00090: valid for any B when the bootstrap
   variance is right), beside the sandwich interval's. Written to ``benchmarks/results/dynamic_bootstrap.md``.

The script exits 0 either way; ``tests/test_dynamic_validity.py`` (slow) runs a reduced version and fails on a MISS.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import pandas as pd

COMPONENTS = ("IDE", "IME", "DDE", "DME", "ATE")
Z_975 = 1.959963984540054  # the 97.5% normal quantile: the 95% intervals of the coverage study
ARGS = dict(id="id", time="time", state="state", action="action", mediator=["m1", "m2"], reward="reward")


def fit(N: int, T: int, seed: int, **kwargs):
    import mediationhte as mh
    from mediationhte.datasets.dynamic import semi_target_policy

    d = mh.simulate_dynamic("semi_synthetic", n_trajectories=N, horizon=T, random_state=seed)
    return mh.dynamic_mediation(d, target_policy=semi_target_policy, random_state=seed, **ARGS, **kwargs)


def _replicate(N: int, T: int, r: int, kwargs: dict) -> dict:
    t = fit(N, T, 1000 + r, **kwargs).to_frame()
    out = {}
    for est in ("MR", "DM"):
        parts = sum(t.loc[(est, c), "estimate"] for c in COMPONENTS[:4])
        out[f"{est}_additivity"] = abs(parts - t.loc[(est, "ATE"), "estimate"])
    for (est, comp), row in t.iterrows():
        out[(est, comp, "estimate")] = row["estimate"]
        out[(est, comp, "se")] = row["std_error"]
        out[(est, comp, "lo")], out[(est, comp, "hi")] = row["ci_lower"], row["ci_upper"]
    return out


def bias_study(sizes, reps: int, horizon: int, n_jobs: int, **kwargs) -> tuple[pd.DataFrame, dict]:
    from joblib import Parallel, delayed

    from mediationhte.datasets.dynamic import semi_synthetic_truth

    truth = semi_synthetic_truth()
    rows, additivity = [], 0.0
    for N in sizes:
        start = time.perf_counter()
        runs = Parallel(n_jobs=n_jobs)(delayed(_replicate)(N, horizon, r, kwargs) for r in range(reps))
        print(f"N = {N}: {reps} replicates in {time.perf_counter() - start:.0f} s", flush=True)
        additivity = max(additivity, max(max(run["MR_additivity"], run["DM_additivity"]) for run in runs))
        for est in ("MR", "DM", "MIS", "baseline"):
            for comp in COMPONENTS:
                if (est, comp, "estimate") not in runs[0]:
                    continue
                values = np.array([run[(est, comp, "estimate")] for run in runs])
                err = values - truth["effects"][comp]
                row = {"N": N, "estimator": est, "component": comp, "bias": err.mean(),
                       "mc_se": values.std(ddof=1) / np.sqrt(reps), "sd": values.std(ddof=1),
                       "rmse": np.sqrt(np.mean(err ** 2))}
                if est == "MR":
                    row["mean_se"] = np.mean([run[(est, comp, "se")] for run in runs])
                    row["coverage"] = np.mean([run[(est, comp, "lo")] <= truth["effects"][comp]
                                               <= run[(est, comp, "hi")] for run in runs])
                rows.append(row)
    return pd.DataFrame(rows), {"truth": truth, "additivity": additivity}


def checks(table: pd.DataFrame, info: dict) -> list[tuple[str, bool]]:
    truth_se = info["truth"]["mc_se"]
    mr = table[table.estimator == "MR"].set_index(["N", "component"])
    dm = table[table.estimator == "DM"].set_index(["N", "component"])
    sizes = sorted(table.N.unique())
    out = []
    mid = 500 if 500 in sizes else sizes[len(sizes) // 2]
    for comp in ("DDE", "DME"):
        row = mr.loc[(mid, comp)]
        limit = 3 * row["mc_se"] + truth_se[comp]
        out.append((f"MR {comp} |bias| {abs(row['bias']):.3f} <= {limit:.3f} at N = {mid}", abs(row["bias"]) <= limit))
    for comp in COMPONENTS:
        rmse = [mr.loc[(N, comp), "rmse"] for N in sizes]
        out.append((f"MR {comp} RMSE shrinks with N: {' > '.join(f'{v:.3f}' for v in rmse)}",
                    all(a > b for a, b in zip(rmse, rmse[1:]))))
    top = sizes[-1]
    for comp in COMPONENTS:
        a, b = mr.loc[(top, comp), "rmse"], dm.loc[(top, comp), "rmse"]
        out.append((f"MR RMSE {a:.3f} <= 1.1 x DM RMSE {b:.3f} for {comp} at N = {top}", a <= 1.1 * b))
    out.append((f"IDE + IME + DDE + DME = ATE for MR and DM (max error {info['additivity']:.1e})",
                info["additivity"] <= 1e-10))
    return out


COVERAGE_TABLE = Path(__file__).resolve().parent / "results" / "dynamic_coverage.md"


def coverage_study(sizes, reps: int, horizon: int, n_jobs: int, out: Path | None = COVERAGE_TABLE,
                   **kwargs) -> tuple[pd.DataFrame, list[tuple[str, bool]]]:
    """Coverage of MR's 95% intervals and bias against the Monte Carlo truth; returns the table and the checks."""
    start = time.perf_counter()
    table, info = bias_study(sizes, reps, horizon, n_jobs, **kwargs)
    seconds = time.perf_counter() - start
    mr = table[(table.estimator == "MR") & table.component.isin(COMPONENTS[:4])].copy()
    mr["coverage_mcse"] = np.sqrt(mr["coverage"] * (1 - mr["coverage"]) / reps)
    mr["bias_over_se"] = mr["bias"].abs() / mr["mean_se"]
    mr["sd_over_se"] = mr["sd"] / mr["mean_se"]
    shown = mr[["N", "component", "bias", "mean_se", "sd", "sd_over_se", "coverage", "coverage_mcse",
                "bias_over_se"]]
    results = []
    for _, row in mr.iterrows():
        results.append((f"N = {row.N} {row.component}: coverage {row.coverage:.2f} in [0.92, 0.98]",
                        0.92 <= row.coverage <= 0.98))
        results.append((f"N = {row.N} {row.component}: |bias| {abs(row.bias):.3f} <= SE / 2 = {row.mean_se / 2:.3f}",
                        abs(row.bias) <= row.mean_se / 2))
    verdict = np.where((mr["coverage"] >= 0.92) & (mr["coverage"] <= 0.98) & (mr["bias_over_se"] <= 0.5), "PASS",
                       "FAIL")
    _show_and_write(shown.assign(verdict=verdict), out,
                    f"Coverage of dynamic_mediation()'s MR intervals (semi-synthetic design, T = {horizon}, defaults"
                    f"{' ' + str(kwargs) if kwargs else ''}; R = {reps} replicates, seeds 1000..{999 + reps})\n\n"
                    + _provenance(n_jobs, seconds, f"--coverage --reps {reps}")
                    + f"Truth: semi_synthetic_truth() (Monte Carlo SE {max(info['truth']['mc_se'].values()):.4f}).\n\n")
    return shown, results


ORACLE_TABLE = Path(__file__).resolve().parent / "results" / "dynamic_oracle.md"
#: Which fitted nuisances each variant of the oracle study replaces by the design's true ones.
ORACLE_VARIANTS = {"none (defaults)": (), "p_m": ("mediator",), "r": ("reward",), "p_m and r": ("mediator", "reward"),
                   "b, p_m and r": ("behaviour", "mediator", "reward")}


@contextlib.contextmanager
def _true_nuisances(roles):
    """Inside the block, dynamic_mediation() uses the semi-synthetic design's true nuisances for ``roles``."""
    import dataclasses

    import mediationhte.dynamic.pipeline as pipeline
    from mediationhte.datasets.dynamic import semi_synthetic_nuisances
    from mediationhte.dynamic.nuisances import GaussianMediatorLaw

    truth = semi_synthetic_nuisances()
    fitted = pipeline.fit_nuisances

    def swapped(S, A, M, R, **kwargs):
        nuisances, continuous = fitted(S, A, M, R, **kwargs)
        true = {"behaviour": truth["behaviour"](S),
                "mediator": GaussianMediatorLaw(truth["mediator_mean"], truth["mediator_cov"]),
                "reward": truth["reward_mean"]}
        return dataclasses.replace(nuisances, **{role: true[role] for role in roles}), continuous

    pipeline.fit_nuisances = swapped
    try:
        yield
    finally:
        pipeline.fit_nuisances = fitted


def _oracle_replicate(N: int, T: int, r: int, roles) -> dict:
    from threadpoolctl import threadpool_limits

    with _true_nuisances(roles), threadpool_limits(1):
        table = fit(N, T, 1000 + r).to_frame().loc["MR"]
    return {(comp, key): table.loc[comp, col] for comp in COMPONENTS[:4]
            for key, col in (("estimate", "estimate"), ("se", "std_error"))}


def oracle_study(N: int, reps: int, horizon: int, n_jobs: int, out: Path | None = ORACLE_TABLE) -> pd.DataFrame:
    """The coverage study at one N with the fitted nuisances replaced by the true ones, role by role."""
    from joblib import Parallel, delayed

    from mediationhte.datasets.dynamic import semi_synthetic_truth

    truth = semi_synthetic_truth()["effects"]
    start = time.perf_counter()
    jobs = [(name, r) for name in ORACLE_VARIANTS for r in range(reps)]
    runs = Parallel(n_jobs=n_jobs)(delayed(_oracle_replicate)(N, horizon, r, ORACLE_VARIANTS[name])
                                   for name, r in jobs)
    seconds = time.perf_counter() - start
    rows = []
    for name in ORACLE_VARIANTS:
        mine = [run for (variant, _), run in zip(jobs, runs) if variant == name]
        for comp in COMPONENTS[:4]:
            est = np.array([run[(comp, "estimate")] for run in mine])
            se = np.array([run[(comp, "se")] for run in mine])
            covered = np.abs(est - truth[comp]) <= Z_975 * se
            rows.append({"true nuisances": name, "component": comp, "bias": est.mean() - truth[comp],
                         "mean_se": se.mean(), "sd": est.std(ddof=1), "sd_over_se": est.std(ddof=1) / se.mean(),
                         "coverage": covered.mean(), "coverage_mcse": np.sqrt(covered.mean() * (1 - covered.mean())
                                                                               / reps)})
    table = pd.DataFrame(rows)
    _show_and_write(table, out, f"MR intervals with true nuisances in place of fitted ones (semi-synthetic design, "
                    f"N = {N}, T = {horizon}, defaults otherwise; R = {reps} replicates per row, seeds "
                    f"1000..{999 + reps})\n\n" + _provenance(n_jobs, seconds, "--oracle"))
    return table


BOOTSTRAP_TABLE = Path(__file__).resolve().parent / "results" / "dynamic_bootstrap.md"


def _bootstrap_replicate(N: int, T: int, r: int, n_boot: int) -> dict:
    from threadpoolctl import threadpool_limits

    seed = 1000 + r
    with threadpool_limits(1):
        result = fit(N, T, seed)
        draws = result.bootstrap_ci(n_boot=n_boot, random_state=10**6 + seed).draws
    table = result.to_frame().loc["MR"]
    return {comp: (table.loc[comp, "estimate"], table.loc[comp, "std_error"], draws[("MR", comp)].to_numpy())
            for comp in COMPONENTS[:4]}


def bootstrap_study(N: int, reps: int, n_boot: int, horizon: int, n_jobs: int,
                    out: Path | None = BOOTSTRAP_TABLE) -> pd.DataFrame:
    """Trajectory-bootstrap SDs against the replicate SD and the sandwich SE; cheap-bootstrap coverage."""
    from joblib import Parallel, delayed
    from scipy import stats

    from mediationhte.datasets.dynamic import semi_synthetic_truth

    truth = semi_synthetic_truth()["effects"]
    start = time.perf_counter()
    runs = Parallel(n_jobs=n_jobs)(delayed(_bootstrap_replicate)(N, horizon, r, n_boot) for r in range(reps))
    seconds = time.perf_counter() - start
    t_quantile = stats.t.ppf(0.975, n_boot)
    rows = []
    for comp in COMPONENTS[:4]:
        est = np.array([run[comp][0] for run in runs])
        se = np.array([run[comp][1] for run in runs])
        boot_sd = np.sqrt(np.mean((np.array([run[comp][2] for run in runs]) - est[:, None]) ** 2, axis=1))
        error, rms_boot_sd = np.abs(est - truth[comp]), np.sqrt(np.mean(boot_sd ** 2))
        rows.append({"component": comp, "sd": est.std(ddof=1), "mean_se": se.mean(), "rms_boot_sd": rms_boot_sd,
                     "boot_sd_over_sd": rms_boot_sd / est.std(ddof=1),
                     "coverage_sandwich": np.mean(error <= Z_975 * se),
                     "coverage_cheap_bootstrap": np.mean(error <= t_quantile * boot_sd),
                     "width_ratio": np.mean(t_quantile * boot_sd) / np.mean(Z_975 * se)})
    table = pd.DataFrame(rows)
    _show_and_write(table, out, f"Trajectory bootstrap of dynamic_mediation() (semi-synthetic design, N = {N}, "
                    f"T = {horizon}, defaults; R = {reps} replicates, seeds 1000..{999 + reps}, B = {n_boot} bootstrap "
                    "refits each)\n\n" + _provenance(n_jobs, seconds, "--bootstrap")
                    + f"Cheap-bootstrap interval: estimate +- t_(B, 0.975) S = {t_quantile:.3f} S; width_ratio is its "
                    "mean width over the sandwich interval's.\n\n")
    return table


def _provenance(n_jobs: int, seconds: float, flag: str) -> str:
    import platform

    import mediationhte as mh
    from mediationhte.dynamic.nuisances import DEFAULT_LEARNER

    return (f"Python {platform.python_version()}, mediationhte {mh.__version__}, {n_jobs} process(es), "
            f"{seconds / 60:.1f} min. Command: `python benchmarks/bench_dynamic.py {flag}`. Default learner for "
            f"continuous data: {DEFAULT_LEARNER!r}.\n\n")


def _show_and_write(table: pd.DataFrame, out: Path | None, head: str) -> None:
    """Print the table; with ``out``, write ``head`` and the table as Markdown there."""
    with pd.option_context("display.width", 160):
        print(table.round(3).to_string(index=False))
    if not out:
        return
    lines = [f"| {' | '.join(table.columns)} |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |"
              for row in table.itertuples(index=False)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(head + "\n".join(lines) + "\n")
    print(f"table written to {out}")


def _row_loop_peer(n_rows: int = 100, n_mc: int = 50) -> float:
    """Seconds per (row x draw) of the Q step written as the reference does (per-row, per-draw Python calls)."""
    from scipy.interpolate import BSpline
    from sklearn.tree import DecisionTreeRegressor

    import mediationhte as mh

    d = mh.simulate_dynamic("semi_synthetic", n_trajectories=200, horizon=25, random_state=5)
    S, A = d["state"].to_numpy(), d["action"].to_numpy(dtype=float)
    M, R = d[["m1", "m2"]].to_numpy(), d["reward"].to_numpy()
    SA = np.column_stack([S, A])
    med = [DecisionTreeRegressor(max_depth=5).fit(SA, M[:, j]) for j in range(2)]
    rew = DecisionTreeRegressor(max_depth=5).fit(np.column_stack([S, A, M]), R)
    knots = {j: np.quantile(x, np.linspace(0, 1, 8)) for j, x in enumerate((S, M[:, 0], M[:, 1]))}
    splines = {j: [BSpline.basis_element(k[i:i + 5], extrapolate=True) for i in range(len(k) - 4)]
               for j, k in knots.items()}
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(n_rows):
        for _ in range(n_mc):
            for a in (0.0, 1.0):
                x = np.array([[S[i], a]])
                m = np.array([mdl.predict(x)[0] for mdl in med]) + 2.0 * rng.standard_normal(2)
                feats = [b(v) for j, v in ((0, S[i]), (1, m[0]), (2, m[1])) for b in splines[j]]
                rew.predict(np.array([[S[i], a, m[0], m[1]]]))
                np.asarray(feats)
    return (time.perf_counter() - start) / (n_rows * n_mc)


def timing() -> list[tuple[str, bool]]:
    start = time.perf_counter()
    res = fit(1500, 25, 7)
    ours = time.perf_counter() - start
    per = _row_loop_peer()
    peer = per * res.n_transitions * 50
    print(f"ours: N = 1500, T = 25 ({res.n_transitions} transitions), 49 mediator nodes, every estimator: {ours:.1f} s")
    print(f"row-loop peer: {1e3 * per:.2f} ms per (row x draw) -> {peer / 3600:.1f} h for the Q step alone "
          f"(ratio peer / ours = {peer / ours:.0f}x)")
    return [(f"semi-synthetic N = 1500, T = 25, 49 mediator nodes in {ours:.1f} s <= 60 s", ours <= 60.0)]


def main(argv=None) -> list[tuple[str, bool]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", action="store_true", help="run the timing part only")
    parser.add_argument("--bias", action="store_true", help="run the bias study only")
    parser.add_argument("--coverage", action="store_true",
                        help="run the coverage study only (R = 100 at N = 200, 500 unless --reps / --sizes)")
    parser.add_argument("--reps", type=int, default=None, help="replicates (bias: 20, coverage: 100)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="trajectories (bias: 100 500 1500, coverage: 200 500)")
    parser.add_argument("--horizon", type=int, default=25)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-folds", type=int, default=None, help="cross-fitting folds (default: the package's)")
    parser.add_argument("--oracle", action="store_true",
                        help="the coverage study with true nuisances, role by role (R = 100 at N = 200 unless "
                             "--reps / --sizes)")
    parser.add_argument("--bootstrap", action="store_true",
                        help="trajectory-bootstrap SDs and cheap-bootstrap coverage (R = 100, B = 6 at N = 200 "
                             "unless --reps / --n-boot / --sizes)")
    parser.add_argument("--n-boot", type=int, default=6, help="bootstrap refits per replicate (--bootstrap)")
    parser.add_argument("--out", default=None, help="table file ('' writes nothing; default: results/"
                                                    "dynamic_coverage.md, dynamic_oracle.md or dynamic_bootstrap.md)")
    args = parser.parse_args(argv)

    def table_file(default: Path) -> Path | None:
        return default if args.out is None else (Path(args.out) if args.out else None)

    if args.bootstrap:
        bootstrap_study((args.sizes or [200])[0], args.reps or 100, args.n_boot, args.horizon, args.n_jobs,
                        table_file(BOOTSTRAP_TABLE))
        return []
    if args.oracle:
        oracle_study((args.sizes or [200])[0], args.reps or 100, args.horizon, args.n_jobs, table_file(ORACLE_TABLE))
        return []
    kwargs = {} if args.n_folds is None else {"n_folds": args.n_folds}
    results = []
    if args.coverage:
        results += coverage_study(args.sizes or [200, 500], args.reps or 100, args.horizon, args.n_jobs,
                                  table_file(COVERAGE_TABLE),
                                  **kwargs)[1]
    if not (args.bias or args.coverage):
        results += timing()
    if not (args.timing or args.coverage):
        table, info = bias_study(args.sizes or [100, 500, 1500], args.reps or 20, args.horizon, args.n_jobs,
                                 **kwargs)
        print("truth (Monte Carlo):", {k: round(v, 4) for k, v in info["truth"]["effects"].items()},
              "MC SE", {k: round(v, 4) for k, v in info["truth"]["mc_se"].items()})
        with pd.option_context("display.width", 160, "display.max_rows", 200):
            print(table.round(4).to_string(index=False))
        results += checks(table, info)
    for label, ok in results:
        print(("PASS " if ok else "MISS ") + label)
    return results


if __name__ == "__main__":
    main()
