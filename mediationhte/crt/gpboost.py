"""GPBoost with an LMM warm start for cluster-randomised trials (optional extra ``gpboost``).

GPBoost (Sigrist 2022) boosts the fixed function against the marginal Gaussian
likelihood of a random-intercept model. Started naively in a CRT it lets the
random intercept absorb the cluster-level treatment (in a pilot run: sigma_b^2
about 4x the truth, CATE attenuated; GPBoost issue #117). So it is always warm
started here: the REML LMM's fixed part (with the treatment x modifier terms) is
the ``init_score`` offset and its variance components the starting covariance
parameters; the boosted trees model only the remainder (S-learner, treatment
as a feature). Settings are those of that pilot: learning rate 0.05, depth 3,
8 leaves, 300 rounds, one thread.
"""

from __future__ import annotations

import numpy as np

from mediationhte.core.immutable import readonly
from mediationhte.crt.design import CrtFit, variance_components
from mediationhte.errors import ParameterError

PARAMS = {"learning_rate": 0.05, "max_depth": 3, "num_leaves": 8, "min_data_in_leaf": 20, "verbose": -1,
          "num_threads": 1}
NUM_ROUNDS = 300


def _gpboost():
    try:
        import gpboost
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ParameterError("Parameter learner='gpboost' needs the optional extra: pip install "
                             "'mediationhte[gpboost]'.", parameter="learner") from exc
    return gpboost


def gpboost_cate(booster, lmm, X_treated, X_control, features) -> np.ndarray:
    """CATE for rows: the LMM offset's treatment terms plus the boosted fixed part at T = 1 minus T = 0."""
    n = len(features)
    parts = []
    for arm in (1.0, 0.0):
        pred = booster.predict(data=np.column_stack([features, np.full(n, arm)]), group_data_pred=np.zeros(n),
                               pred_latent=True)
        parts.append(np.asarray(pred["fixed_effect"], dtype=float))
    return lmm.fixed_part(X_treated) - lmm.fixed_part(X_control) + parts[0] - parts[1]


def fit_crt_gpboost(d, lmm, seed: int):
    """Warm-started GPBoost S-learner on design ``d`` as a CrtFit."""
    gpb = _gpboost()
    gp = gpb.GPModel(group_data=np.asarray(d.groups), likelihood="gaussian", num_parallel_threads=1)
    gp.set_optim_params(params={"init_cov_pars": np.array([max(lmm.sigma2, 1e-6), max(lmm.sigma_b2, 1e-6)])})
    X = np.column_stack([d.features, d.t.astype(float)])
    data = gpb.Dataset(X, np.asarray(d.y, dtype=float), init_score=lmm.fixed_part(d.X_fixed))
    booster = gpb.train(params=dict(PARAMS, seed=int(seed)), train_set=data, gp_model=gp, num_boost_round=NUM_ROUNDS)
    sigma2, sigma_b2 = (float(v) for v in np.asarray(gp.get_cov_pars()).ravel()[:2])
    n = len(d.y)
    fixed0 = booster.predict(data=np.column_stack([d.features, np.zeros(n)]), group_data_pred=np.zeros(n),
                             pred_latent=True)["fixed_effect"]
    mu0 = lmm.fixed_part(d.X_control) + np.asarray(fixed0, dtype=float)
    mu1 = mu0 + gpboost_cate(booster, lmm, d.X_treated, d.X_control, d.features)
    rows = [("gpboost", sigma_b2, sigma2), ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)]
    return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=None, lmm=lmm, components=variance_components(rows),
                  em_fits=(), predictor=("gpboost", booster))
