"""Replicates through a Dask cluster give the numbers of n_jobs=1 (issue 16: "runs on Dask" is tested, not claimed).

A ``distributed.LocalCluster`` with two worker processes stands in for a real cluster; the README shows the same
code with ``Client("scheduler-address")``. The reference is the same call run serially in this process.
"""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest

import mediationhte as mh

distributed = pytest.importorskip("distributed")   # the `dask` extra, part of the `test` extra

Y = "depress2 ~ treat + job_seek + econ_hard + sex + age"
M = "job_seek ~ treat + econ_hard + sex + age"


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # distributed's start-up chatter (ports, deprecations) is not ours
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, scheduler_port=0)
        client = distributed.Client(cluster)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close()
        cluster.close()


def _on_dask(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with joblib.parallel_backend("dask"):
            return call()


def test_bootstrap_on_dask_equals_serial(client):
    fit = mh.mediate(Y, M, mh.load_jobs(), random_state=1)
    serial = fit.bootstrap_ci(200, random_state=5, n_jobs=1)
    on_dask = _on_dask(lambda: fit.bootstrap_ci(200, random_state=5, n_jobs=2))
    np.testing.assert_array_equal(serial.to_frame().to_numpy(), on_dask.to_frame().to_numpy())
    assert len(client.scheduler_info()["workers"]) == 2


def test_permutation_calibration_on_dask_equals_serial(client):
    fit = mh.mediate("depress2 ~ treat + job_seek + econ_hard + age", "job_seek ~ treat + econ_hard + age",
                     mh.load_jobs(), learner="boosting", n_folds=2, random_state=1)
    kwargs = dict(calibration="permutation", n_permutations=4, alpha=0.25, k=[2], random_state=3)
    serial = fit.subgroups(**kwargs, n_jobs=1)
    on_dask = _on_dask(lambda: fit.subgroups(**kwargs, n_jobs=2))
    assert on_dask.p_value == serial.p_value
    pd.testing.assert_frame_equal(serial.to_frame(), on_dask.to_frame(), check_exact=True)


def test_unpicklable_replicates_are_refused_instead_of_hanging(client):
    # An outcome design that is not affine in the mediator keeps patsy's DesignInfo, which cannot be pickled
    # (pydata/patsy#26); joblib's Dask backend would wait forever for the task it failed to send.
    fit = mh.mediate("depress2 ~ treat + job_seek + I(job_seek ** 2) + age", "job_seek ~ treat + age",
                     mh.load_jobs(), random_state=1)
    with pytest.raises(mh.ParameterError, match="cannot be pickled"):
        _on_dask(lambda: fit.bootstrap_ci(20, random_state=5, n_jobs=2))
    assert fit.bootstrap_ci(20, random_state=5, n_jobs=2).to_frame().shape[0] > 0   # loky and threads are fine
