"""Each nuisance is fitted once per call (issue 16, item 3), counted with learners that record their fits.

The counts are derived from the estimators' definitions, not from the code: the four meta-learners with the
average effects need the cross-fitted per-arm outcome models (2K fits: T-learner, X-learner first stage, AIPW),
the cross-fitted outcome model with the treatment as a feature (K fits: S-learner, DR pseudo-outcome), two
X-learner second-stage models and one DR final model: 3K + 3 fits, where each learner and AIPW fitting their own
models would need 3K + 8 (an S model; two arm models each for the T-learner and the X-learner's first stage). A dynamic_mediation() call fits the
behaviour propensity, the reward model and the mediator law once whichever estimators it reports.
"""

import threading

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

import mediationhte as mh

_LOCK = threading.Lock()
FITS: list[tuple[str, int, int]] = []


class CountingRegression(LinearRegression):
    def fit(self, X, y, sample_weight=None):
        with _LOCK:
            FITS.append(("regression", X.shape[0], X.shape[1]))
        return super().fit(X, y, sample_weight)


class CountingClassifier(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        with _LOCK:
            FITS.append(("classifier", X.shape[0], X.shape[1]))
        return super().fit(X, y, sample_weight)


def _design(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = (rng.uniform(size=n) < 0.4).astype(int)
    y = x[:, 0] + t * (1 + x[:, 1]) + rng.normal(size=n)
    return pd.DataFrame({"y": y, "t": t, "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2]})


def test_cate_fits_each_outcome_nuisance_once():
    data = _design()
    FITS.clear()
    mh.cate("y ~ t + x1 + x2 + x3", data, learner=["s", "t", "x", "dr"], base_learner=CountingRegression(),
            n_folds=5, random_state=1, n_jobs=2)
    joint = [f for f in FITS if f[2] == 4]      # covariates and the treatment
    plain = sorted(rows for _, rows, width in FITS if width == 3)
    n1 = int(data.t.sum())
    # one joint model per fold on the other four (folds stratified by arm: 119-121 rows each)
    assert len(joint) == 5 and sum(rows for _, rows, _ in joint) == 4 * 600
    # per fold, each arm's model on that arm's other folds; X second stage on each arm; DR final on all rows
    assert len(plain) == 10 + 2 + 1
    assert sum(plain[:-1]) == 4 * 600 + 600 and plain[-1] == 600 and {n1, 600 - n1} <= set(plain)
    assert len(FITS) == 3 * 5 + 3


def test_cate_single_learner_fits_only_what_it_needs():
    data = _design()
    FITS.clear()
    mh.cate("y ~ t + x1 + x2 + x3", data, learner="t", base_learner=CountingRegression(), n_folds=5,
            random_state=1)
    # the T-learner and the average effects (AIPW) share the cross-fitted per-arm models: 2K fits, nothing else
    assert len(FITS) == 2 * 5


def test_dynamic_mediation_fits_each_nuisance_once_for_all_estimators():
    data = mh.simulate_dynamic("semi_synthetic", n_trajectories=30, horizon=8, random_state=3)
    args = dict(id="id", time="time", state="state", action="action", mediator=["m1", "m2"], reward="reward",
                target_policy=0.7, random_state=2,
                learner={"behaviour": CountingClassifier(), "reward": CountingRegression(),
                         "mediator": CountingRegression()})
    counts = {}
    for estimators in (("MR",), ("MR", "DM", "MIS", "baseline")):
        FITS.clear()
        mh.dynamic_mediation(data, estimators=estimators, **args)
        counts[estimators] = sorted(FITS)
    one, every = counts.values()
    assert one == every
    kinds = [kind for kind, _, _ in every]
    # defaults: behaviour and reward cross-fitted on 5 folds (one classifier and one regression per fold); the
    # Gaussian mediator (two columns) fitted on all rows (a mean model per column plus, per column, the 3
    # out-of-fold fits behind the residual covariance) and, for its density, cross-fitted (5 per column)
    assert kinds.count("classifier") == 5
    assert kinds.count("regression") == 5 + 2 * (1 + 3) + 2 * 5
