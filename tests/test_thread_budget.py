"""The native thread budget (issue 16): a public call uses at most n_jobs native threads, and numbers never change.

The reference is threadpoolctl's own report of the thread pools loaded in this process (OpenMP from
scikit-learn, BLAS from numpy), read from inside the call.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import mediationhte as mh
from mediationhte.core.parallel import native_thread_budget, native_threads, worker_threads


def _threads() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info()}


@native_thread_budget
def _report(*, n_jobs: int = 1):
    inside = _threads()
    with worker_threads(n_jobs):
        in_workers = _threads()
    return inside, in_workers


@native_thread_budget
def _report_without_n_jobs():
    return _threads()


def test_n_jobs_is_the_native_thread_budget():
    assert _report() == ({1}, {1})
    assert _report_without_n_jobs() == {1}
    inside, in_workers = _report(n_jobs=2)
    assert inside == {min(2, native_threads(-1))} and in_workers == {1}


@pytest.mark.parametrize("n_jobs, expected", [(1, 1), (-1, None), (10**6, None), (0, 1), ("2", 1), (True, 1)])
def test_native_threads_follows_joblib_conventions(n_jobs, expected):
    import os
    cores = os.cpu_count() or 1
    assert native_threads(n_jobs) == (cores if expected is None else expected)


def test_the_limit_is_lifted_after_the_call():
    before = _threads()
    _report()
    assert _threads() == before


def test_numbers_do_not_depend_on_n_jobs_for_a_boosting_cate_fit():
    data = mh.simulate("total_simple", n=400, noise_sd=0.5, random_state=1)
    formula = "y ~ treat + " + " + ".join(f"x{i}" for i in range(1, 6))
    one = mh.cate(formula, data, learner=["t", "dr"], random_state=3, n_jobs=1).effects
    two = mh.cate(formula, data, learner=["t", "dr"], random_state=3, n_jobs=2).effects
    np.testing.assert_array_equal(one.to_numpy(), two.to_numpy())
