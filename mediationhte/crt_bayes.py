"""Bayesian causal forests for cluster-randomised trials (optional extra ``bayes``: stochtree).

``"bcf_re"``: y = mu(x) + tau(x) T + b_cluster + e with a random intercept
(stochtree's ``intercept_only`` random effects; the treatment-slope variant is only
prior-identified in a CRT, spec crt.md section 3.2, so it is not offered);
``"bcf"``: the same without the random intercept (the cluster-ignoring twin). The
propensity is the treated share, known by design. The CATE draws are the
treatment forest's posterior draws (random intercept at 0), one thread as the
spec advises (2 threads were 12-28x slower on small data on 2-core machines).
"""

from __future__ import annotations

import numpy as np

from ._immutable import readonly
from .errors import ParameterError

#: Grow-from-root warm-start sweeps, then retained MCMC draws (the spec's pilot settings: 10 + 200).
NUM_GFR, NUM_MCMC = 10, 200


def _stochtree():
    try:
        from stochtree import BCFModel
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ParameterError("Parameter learner='bcf_re' / 'bcf' needs the optional extra: pip install "
                             "'mediationhte[bayes]' (stochtree).", parameter="learner") from exc
    return BCFModel


def fit_bcf(d, seed: int, random_effects: bool):
    """Sample the BCF posterior on design ``d``; returns (model, codes or None, propensity)."""
    BCFModel = _stochtree()
    X, Z, y = np.array(d.features, copy=True), d.t.astype(float).copy(), np.array(d.y, copy=True)
    share = float(Z.mean())
    kwargs = {}
    if random_effects:
        _, codes = np.unique(d.groups, return_inverse=True)
        kwargs = dict(rfx_group_ids_train=codes.astype(int), random_effects_params={"model_spec": "intercept_only"})
    model = BCFModel()
    model.sample(X_train=X, Z_train=Z, y_train=y, propensity_train=np.full(len(y), share), num_gfr=NUM_GFR,
                 num_burnin=0, num_mcmc=NUM_MCMC, general_params={"random_seed": int(seed), "num_threads": 1},
                 **kwargs)
    return model, random_effects, share


def bcf_draws(model, random_effects: bool, share: float, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws (n, S) of tau(x) and of mu(x) (prognostic forest, random intercept at 0) for ``features``."""
    X = np.array(features, copy=True)
    n = len(X)
    kwargs = dict(rfx_group_ids=np.zeros(n, dtype=int)) if random_effects else {}  # tau and mu do not use it
    common = dict(X=X, Z=np.zeros(n), propensity=np.full(n, share), **kwargs)
    tau = np.asarray(model.predict(terms="cate", **common), dtype=float)
    mu = np.asarray(model.predict(terms="mu", **common), dtype=float)
    return tau.reshape(n, -1), mu.reshape(n, -1)


def fit_crt_bcf(d, lmm, seed: int, random_effects: bool, components):
    """A :class:`~mediationhte.crt_estimation.CrtFit` from the BCF posterior (means as point estimates)."""
    from .crt_estimation import CrtFit

    model, rfx, share = fit_bcf(d, seed, random_effects)
    tau, mu = bcf_draws(model, rfx, share, d.features)
    sigma2 = float(np.mean(model.global_var_samples))
    sigma_b2 = float("nan")
    if rfx:
        # the spread of the sampled cluster intercepts, averaged over the draws (the realised sigma_b^2)
        # (stochtree samples them on the standardised outcome scale; sigma^2 is reported on the original one)
        intercepts = np.asarray(model.rfx_container.extract_parameter_samples()["beta_samples"], dtype=float)
        sigma_b2 = float(np.mean(np.var(intercepts, axis=0, ddof=1))) * float(model.y_std) ** 2
    rows = [("bcf_re" if rfx else "bcf", sigma_b2, sigma2), ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)]
    mu0, mu1 = mu.mean(axis=1), (mu + tau).mean(axis=1)
    return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=readonly(tau.std(axis=1, ddof=1)), lmm=lmm,
                  components=components(rows), em_fits=(), predictor=("bcf", model, rfx, share),
                  cate_draws=readonly(tau))
