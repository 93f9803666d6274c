"""Running replicates in parallel: joblib in a fixed task order, native thread limits, an optional progress bar.

Every replicate loop of the package (bootstrap resamples, permutations,
refutations) goes through :func:`run_replicates`. Seeds are drawn before the
tasks are made and results come back in task order, so the numbers are the same
for any ``n_jobs`` and any joblib backend.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

from joblib import Parallel
from threadpoolctl import threadpool_limits

from mediationhte.errors import warn_at_caller

#: Below this many design-matrix cells (n x p) a multi-threaded BLAS costs more than it saves.
SMALL_PROBLEM_CELLS = 2_000_000


def blas_limit(n: int, p: int, parallel: bool = False, user_api: str | None = "blas"):
    """Single-threaded BLAS (``user_api=None``: also OpenMP) for small problems or inside parallel workers.

    Multi-threaded BLAS on an 899 x 26 matrix costs more in thread start-up and
    contention than it saves (measured 2x slower on 2 cores), and joblib threads plus
    BLAS threads oversubscribe the cores. OpenMP learners (HistGradientBoosting) are
    worse: with the other core busy, their spin-waiting threads made a Jobs II fit
    take minutes instead of seconds.
    """
    if parallel or n * p < SMALL_PROBLEM_CELLS:
        return threadpool_limits(limits=1, user_api=user_api)
    return nullcontext()


def native_thread_budget(func):
    """Decorator: run a public fit or method with its native thread pools (OpenMP, BLAS) on one thread.

    The package's parallelism is ``n_jobs`` workers (joblib threads or processes),
    each running its learners single-threaded, so workers x native threads never
    exceed the cores the user gave. Multi-threaded OpenMP inside one fit bought
    little on two cores and cost a lot beside another busy process: the
    spin-waiting threads of HistGradientBoosting made ``bench_dynamic.py --timing``
    6x slower (150 s against 24 s idle); single-threaded it is at most what losing
    one core costs (``benchmarks/bench_contention.py``). Numbers never depend on it.
    """
    @functools.wraps(func)
    def budgeted(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)
    return budgeted


def run_replicates(tasks, *, total: int, n_jobs: int = 1, progress: bool = False, desc: str = "replicates",
                   prefer: str | None = None) -> list:
    """Run joblib ``delayed`` tasks in order, with an optional tqdm bar; returns their results as a list.

    With ``n_jobs != 1`` the native thread pools (BLAS, OpenMP) of the workers run
    single-threaded: nested threads oversubscribe the cores, and OpenMP's
    spin-waiting then costs far more than it gains.
    """
    limit = threadpool_limits(limits=1) if n_jobs != 1 else nullcontext()
    with limit:
        results = Parallel(n_jobs=n_jobs, prefer=prefer, return_as="generator")(tasks)
        if progress:
            results = progress_bar(results, total=total, desc=desc)
        return list(results)


def progress_bar(iterable, total: int, desc: str):
    """Wrap ``iterable`` in a tqdm bar (the optional extra ``progress``), or warn and return it unchanged."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        warn_at_caller("progress=True needs tqdm (pip install 'mediationhte[progress]'); continuing without a bar.")
        return iterable
    return tqdm(iterable, total=total, desc=desc)
