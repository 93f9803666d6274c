"""Bayesian tree ensembles for cluster-randomised trials (optional extra ``bayes``: stochtree): BCF and BART.

``"bcf_re"``: y = mu(x) + tau(x) T + b_cluster + e with a random intercept
(stochtree's ``intercept_only`` random effects; the treatment-slope variant is only
prior-identified in a CRT, where each cluster sees one arm, so it is not offered);
``"bcf"``: the same without the random intercept (the cluster-ignoring twin). The
propensity is the treated share, known by design. The CATE draws are the
treatment forest's posterior draws (random intercept at 0), on one thread (2
threads were 12-28x slower on small data on 2-core machines).

``"bart_re"`` / ``"bart"``: an S-learner BART of y on (x, T), with and without the
random intercept; the CATE draws are f(x, 1) - f(x, 0) of the mean forest.
"""

from __future__ import annotations

import numpy as np

from mediationhte.core.immutable import readonly
from mediationhte.crt.design import CrtFit, variance_components
from mediationhte.errors import ParameterError

#: Grow-from-root warm-start sweeps, then retained MCMC draws (10 + 200, the settings of a pilot run).
NUM_GFR, NUM_MCMC = 10, 200


def _stochtree(name: str = "BCFModel"):
    try:
        import stochtree
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ParameterError("Parameter learner='bcf_re', 'bcf', 'bart_re' or 'bart' needs the optional extra: pip "
                             "install 'mediationhte[bayes]' (stochtree).", parameter="learner") from exc
    return getattr(stochtree, name)


def fit_bcf(d, seed: int, random_effects: bool):
    """Sample the BCF posterior on design ``d``; returns (model, codes or None, propensity)."""
    BCFModel = _stochtree()
    X, Z, y = np.array(d.features, copy=True), d.t.astype(float).copy(), np.array(d.y, copy=True)
    share = float(Z.mean())
    kwargs = _rfx(d, random_effects)
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


def fit_crt_bcf(d, lmm, seed: int, random_effects: bool):
    """A :class:`~mediationhte.crt.design.CrtFit` from the BCF posterior (means as point estimates)."""
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
                  components=variance_components(rows), em_fits=(), predictor=("bcf", model, rfx, share),
                  cate_draws=readonly(tau))


def _rfx(d, random_effects: bool) -> dict:
    if not random_effects:
        return {}
    _, codes = np.unique(d.groups, return_inverse=True)
    return dict(rfx_group_ids_train=codes.astype(int), random_effects_params={"model_spec": "intercept_only"})


def bart_draws(model, random_effects: bool, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws (n, S) of f(x, 1) - f(x, 0) and of f(x, 0) from the mean forest (random intercept at 0)."""
    n = len(features)
    draws = []
    for arm in (1.0, 0.0):
        X = np.column_stack([features, np.full(n, arm)])
        kwargs = dict(rfx_group_ids=np.zeros(n, dtype=int)) if random_effects else {}
        draws.append(np.asarray(model.predict(X=X, terms="mean_forest", **kwargs), dtype=float).reshape(n, -1))
    return draws[0] - draws[1], draws[1]


def fit_crt_bart(d, lmm, seed: int, random_effects: bool):
    """S-learner BART with (``bart_re``) or without (``bart``) a random intercept, as a CrtFit."""
    BARTModel = _stochtree("BARTModel")
    X = np.column_stack([d.features, d.t.astype(float)])
    model = BARTModel()
    model.sample(X_train=X, y_train=np.array(d.y, copy=True), num_gfr=NUM_GFR, num_burnin=0, num_mcmc=NUM_MCMC,
                 general_params={"random_seed": int(seed), "num_threads": 1}, **_rfx(d, random_effects))
    tau, mu0 = bart_draws(model, random_effects, d.features)
    sigma_b2 = float("nan")
    if random_effects:
        intercepts = np.asarray(model.rfx_container.extract_parameter_samples()["beta_samples"], dtype=float)
        sigma_b2 = float(np.mean(np.var(intercepts, axis=0, ddof=1))) * float(model.y_std) ** 2
    rows = [("bart_re" if random_effects else "bart", sigma_b2, float(np.mean(model.global_var_samples))),
            ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)]
    return CrtFit(mu0=readonly(mu0.mean(axis=1)), mu1=readonly((mu0 + tau).mean(axis=1)),
                  cate_se=readonly(tau.std(axis=1, ddof=1)), lmm=lmm, components=variance_components(rows), em_fits=(),
                  predictor=("bart", model, random_effects), cate_draws=readonly(tau))
