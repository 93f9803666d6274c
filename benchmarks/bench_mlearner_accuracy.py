"""Unit-level CIE accuracy of the M-learner step 1: ours (cross-fitted) against the authors' plug-in.

Designs: the paper's Simple-All and Complex-All (spec mlearner.md section 6), n = 2000, noise sd 0.01 and 0.5,
true unit CIE from ``simulate()``. For each learner ("forest", "boosting") we fit ``estimator="crossfit"`` (ours)
and ``estimator="plugin"`` (the authors' in-sample plug-in at the predicted mediator mean) on the same data and
print the RMSE of the unit CIE against the truth, averaged over replicates.

Goal (issue 3): ours beats the plug-in on Complex-All and is within 10% of it on Simple-All.

Usage: python benchmarks/bench_mlearner_accuracy.py [--replicates 3] [--n 2000] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mediationhte import mediate, simulate

COVS = " + ".join(f"x{i}" for i in range(1, 11))


def rmse(fit, truth) -> float:
    return float(np.sqrt(np.mean((fit.effects["cie_treated"].to_numpy() - truth) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--learners", default="forest,boosting")
    args = parser.parse_args()
    rows = []
    for scenario in ("simple_all", "complex_all"):
        for noise in (0.01, 0.5):
            for learner in args.learners.split(","):
                scores = {"crossfit": [], "plugin": []}
                seconds = {"crossfit": 0.0, "plugin": 0.0}
                for rep in range(args.replicates):
                    data = simulate(scenario, n=args.n, noise_sd=noise, random_state=1000 + rep)
                    for estimator in scores:
                        start = time.perf_counter()
                        fit = mediate(f"y ~ treat + m + {COVS}", f"m ~ treat + {COVS}", data, learner=learner,
                                      estimator=estimator, random_state=rep, n_jobs=args.n_jobs)
                        seconds[estimator] += time.perf_counter() - start
                        scores[estimator].append(rmse(fit, data["cie"].to_numpy()))
                ours, theirs = np.mean(scores["crossfit"]), np.mean(scores["plugin"])
                rows.append((scenario, noise, learner, ours, theirs, ours / theirs,
                             seconds["crossfit"] / args.replicates, seconds["plugin"] / args.replicates))
                print(f"{scenario:12s} sd={noise:<5} {learner:9s} ours {ours:.4f}  plug-in {theirs:.4f}  "
                      f"ratio {ours / theirs:.3f}", flush=True)
    print()
    print(f"Unit CIE RMSE against the truth, mean over {args.replicates} replicates, n = {args.n}")
    print(f"{'design':12s} {'noise':>6s} {'learner':9s} {'ours':>8s} {'plug-in':>8s} {'ratio':>6s} "
          f"{'ours s':>7s} {'plug s':>7s}  goal")
    for scenario, noise, learner, ours, theirs, ratio, s_ours, s_plug in rows:
        if scenario == "complex_all":
            verdict = "PASS" if ratio < 1 else "MISS"
            goal = f"beat plug-in: {verdict}"
        else:
            verdict = "PASS" if ratio <= 1.10 else "MISS"
            goal = f"within 10%: {verdict}"
        print(f"{scenario:12s} {noise:6.2f} {learner:9s} {ours:8.4f} {theirs:8.4f} {ratio:6.3f} {s_ours:7.1f} "
              f"{s_plug:7.1f}  {goal}")


if __name__ == "__main__":
    main()
