"""Speed on a shared machine: each main fit timed idle and beside a busy process, in the same run (issue 16).

Run from anywhere (the package must be installed)::

    python benchmarks/bench_contention.py            # every fit, about 1 minute on 2 cores
    python benchmarks/bench_contention.py | tee benchmarks/results/contention.txt
    python benchmarks/bench_contention.py --quick    # smaller data, a smoke run

A "busy process" is another Python process spinning on one core (``while True: pass``), as a second user or a
browser tab would. Every public fit of the package runs its native thread pools (OpenMP, BLAS) single-threaded
(``mediationhte.core.parallel.native_thread_budget``), so beside a busy process it keeps one core to itself:
the goal is a ratio (busy / idle wall time) of at most 2.5 for every fit, where 2 is what losing one of two cores
would cost a fit that used both. Before the budget, HistGradientBoosting's spin-waiting OpenMP threads made
``bench_dynamic.py --timing`` 6x slower beside a busy process (150 s against 24 s idle).

The fits: a linear ``mediate()`` on Jobs II with 5000 bootstrap resamples; M-learner step 1 (boosting) plus the
default ``subgroups()``; ``cate()`` with the four meta-learners; a ``(1 | cluster)`` fit with the mixed-effects
boosting learner; ``dynamic_mediation()`` on the semi-synthetic design. Each is timed once idle, then once with
the busy process running (after a second to let it take its core); the ratio and PASS/FAIL are printed.
The script exits 0 either way.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings


def fits(quick: bool) -> dict:
    """Name -> zero-argument callable running one fit."""
    import mediationhte as mh

    n_ml, n_cate, n_crt, n_dyn = (400, 800, 40, 100) if quick else (1000, 2000, 100, 500)
    jobs = mh.load_jobs()
    sim = mh.simulate("simple_all", n=n_ml, noise_sd=0.5, random_state=1)
    xs = " + ".join(f"x{i}" for i in range(1, 11))
    total = mh.simulate("total_simple", n=n_cate, noise_sd=0.5, random_state=2)
    crt = mh.simulate_crt("A", n_clusters=n_crt, random_state=3)
    dyn = mh.simulate_dynamic("semi_synthetic", n_trajectories=n_dyn, horizon=25, random_state=4)

    def linear():
        fit = mh.mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
                         "job_seek ~ treat + econ_hard + sex + age", jobs, random_state=1)
        return fit.bootstrap_ci(5000, random_state=1)

    def mlearner():
        fit = mh.mediate(f"y ~ treat + m + {xs}", f"m ~ treat + {xs}", sim, learner="boosting", random_state=1)
        return fit.subgroups(random_state=2)

    def metalearners():
        return mh.cate(f"y ~ treat + {xs}", total, learner=["s", "t", "x", "dr"], random_state=1)

    def cluster():
        return mh.cate("y ~ treat + x1 + x2 + x3 + (1 | cluster)", crt, learner="megb", random_state=1)

    def dynamic():
        return mh.dynamic_mediation(dyn, id="id", time="time", state="state", action="action",
                                    mediator=["m1", "m2"], reward="reward", target_policy=0.8, random_state=1)

    return {f"mediate linear + bootstrap_ci(5000), n = {len(jobs)}": linear,
            f"M-learner step 1 + subgroups(), n = {n_ml}": mlearner,
            f"cate() s/t/x/dr, n = {n_cate}": metalearners,
            f"(1 | cluster) megb, {n_crt} clusters": cluster,
            f"dynamic_mediation(), N = {n_dyn}, T = 25": dynamic}


def timed(call) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data (a smoke run)")
    parser.add_argument("--goal", type=float, default=2.5, help="largest acceptable busy / idle ratio")
    args = parser.parse_args(argv)
    import mediationhte as mh

    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"mediationhte {mh.__version__}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{'fit':48s} {'idle s':>8s} {'busy s':>8s} {'ratio':>6s}  verdict (goal <= {args.goal:g})")
    worst = 0.0
    for name, call in fits(args.quick).items():
        idle = timed(call)
        busy_process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1.0)
            busy = timed(call)
        finally:
            busy_process.kill()
            busy_process.wait()
        ratio = busy / idle
        worst = max(worst, ratio)
        print(f"{name:48s} {idle:8.1f} {busy:8.1f} {ratio:6.2f}  {'PASS' if ratio <= args.goal else 'FAIL'}",
              flush=True)
    print(f"worst ratio {worst:.2f}: {'PASS' if worst <= args.goal else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
