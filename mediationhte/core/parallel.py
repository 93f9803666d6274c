"""Running replicates in parallel: joblib in a fixed task order, native thread limits, an optional progress bar.

Every replicate loop of the package (bootstrap resamples, permutations,
refutations) goes through :func:`run_replicates`. Seeds are drawn before the
tasks are made and results come back in task order, so the numbers are the same
for any ``n_jobs`` and any joblib backend.
"""

from __future__ import annotations

import functools
import inspect
import os
from contextlib import nullcontext

from joblib import Parallel
from joblib.parallel import get_active_backend
from threadpoolctl import threadpool_limits

from mediationhte.errors import ParameterError, warn_at_caller

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
    """Decorator: run a public fit or method with at most ``n_jobs`` native threads (OpenMP, BLAS) in total.

    ``n_jobs`` (the call's argument; 1 when it has none) is the number of cores the
    call may use. Joblib workers inside it run their native pools single-threaded
    (:func:`worker_threads`, :func:`run_replicates`), so workers x native threads
    never exceed ``n_jobs``; code outside the workers gets ``n_jobs`` native threads.
    The default ``n_jobs=1`` is the setting that survives a busy machine:
    HistGradientBoosting's spin-waiting OpenMP threads made ``bench_dynamic.py
    --timing`` 6x slower beside one busy process (150 s against 24 s idle), while a
    single-threaded fit keeps a core to itself (``benchmarks/bench_contention.py``).
    Numbers never depend on the thread count.
    """
    signature = inspect.signature(func)
    default = signature.parameters["n_jobs"].default if "n_jobs" in signature.parameters else 1

    @functools.wraps(func)
    def budgeted(*args, **kwargs):
        n_jobs = kwargs.get("n_jobs", default)
        if "n_jobs" not in kwargs and "n_jobs" in signature.parameters:
            n_jobs = signature.bind_partial(*args, **kwargs).arguments.get("n_jobs", default)
        with threadpool_limits(limits=native_threads(n_jobs)):
            return func(*args, **kwargs)
    return budgeted


def native_threads(n_jobs) -> int:
    """Native threads a call with ``n_jobs`` may use: 1 for 1 (or anything invalid), the cores for -1, ..."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        return 1   # the call's own check reports a bad n_jobs
    cores = os.cpu_count() or 1
    return max(1, min(cores, n_jobs if n_jobs > 0 else cores + 1 + n_jobs))


def worker_threads(n_jobs):
    """Context for a joblib loop of ``n_jobs`` thread workers: each runs its native pools single-threaded."""
    return threadpool_limits(limits=1) if n_jobs != 1 else nullcontext()


def run_replicates(tasks, *, total: int, n_jobs: int = 1, progress: bool = False, desc: str = "replicates",
                   prefer: str | None = None) -> list:
    """Run joblib ``delayed`` tasks in order, with an optional tqdm bar; returns their results as a list.

    With ``n_jobs != 1`` the native thread pools (BLAS, OpenMP) of the workers run
    single-threaded: nested threads oversubscribe the cores, and OpenMP's
    spin-waiting then costs far more than it gains.
    """
    tasks = list(tasks)
    if n_jobs != 1 and tasks:
        _check_shippable(tasks[0])
    limit = threadpool_limits(limits=1) if n_jobs != 1 else nullcontext()
    with limit:
        results = Parallel(n_jobs=n_jobs, prefer=prefer, return_as="generator")(tasks)
        if progress:
            results = progress_bar(results, total=total, desc=desc)
        return list(results)


#: joblib backends that run tasks in this machine's processes or threads (loky reports a pickling error itself).
LOCAL_BACKENDS = ("LokyBackend", "ThreadingBackend", "SequentialBackend", "MultiprocessingBackend")


def _check_shippable(task) -> None:
    """Under a cluster backend (Dask, Ray), refuse a task that cannot be pickled, instead of hanging.

    joblib's Dask backend waits forever when a task fails to serialise (the error is
    only logged by the scheduler), so the first task is pickled here to turn that
    into the package's error.
    """
    backend = type(get_active_backend()[0]).__name__
    if backend in LOCAL_BACKENDS:
        return
    try:
        import cloudpickle   # what Dask and Ray serialise with; installed with them, not a dependency of ours
    except ImportError:  # pragma: no cover
        import pickle as cloudpickle
    try:
        cloudpickle.dumps(task)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same thing here
        raise ParameterError(
            f"Parameter n_jobs: the active joblib backend ({backend}) sends every replicate to other processes, but "
            f"this fit's replicates cannot be pickled ({type(exc).__name__}: {exc}). A formula whose outcome design "
            "is not affine in the mediator (e.g. I(m**2)) keeps patsy objects that do not pickle. Run with "
            "n_jobs=1, or outside the backend.", parameter="n_jobs") from exc


def progress_bar(iterable, total: int, desc: str):
    """Wrap ``iterable`` in a tqdm bar (the optional extra ``progress``), or warn and return it unchanged."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        warn_at_caller("progress=True needs tqdm (pip install 'mediationhte[progress]'); continuing without a bar.")
        return iterable
    return tqdm(iterable, total=total, desc=desc)
