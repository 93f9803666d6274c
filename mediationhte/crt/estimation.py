"""CATE learners for cluster-randomised trials: REML LMM, random-intercept EM (MERF, MEGB), cluster-ignoring twins.

Every learner predicts the *fixed part* of the outcome at T = 1 and at T = 0, with
the random intercept at its mean 0, so a unit's CATE never depends on which
cluster it belongs to (known, unknown or new). The cluster id is never a feature.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.ensemble import RandomForestRegressor

from mediationhte.core.immutable import readonly
from mediationhte.core.learners import registry_learner, seeded_clone
from mediationhte.core.random_state import spawn_seeds
from mediationhte.crt.bayes import bart_draws, bcf_draws, fit_crt_bart, fit_crt_bcf
from mediationhte.crt.design import CrtDesign, CrtFit, CrtSettings, variance_components
from mediationhte.crt.gpboost import fit_crt_gpboost, gpboost_cate
from mediationhte.crt.mixed_learners import fit_random_intercept_em
from mediationhte.crt.mixed_models import fit_random_intercept_lmm
from mediationhte.crt.penalized_lmm import fit_variance_components
from mediationhte.errors import ParameterError

CRT_LEARNERS = ("lmm", "lmm_shrink", "gamm", "merf", "megb", "rf", "gbm", "bcf_re", "bcf", "bart_re", "bart",
                "gpboost")
#: Default learner type of each learner: T (one model per arm) or S (treatment as a feature). MEGB defaults to S:
#: per-arm boosting of the small nonlinear remainder overfits each arm's noise (CATE RMSE 1.27 against 0.78 for S
#: on a ``simulate_crt("A")`` data set), while the forest's OOB fits keep MERF's T mode sound.
DEFAULT_TYPE = {"lmm": "s", "lmm_shrink": "s", "gamm": "s", "merf": "t", "megb": "s", "rf": "t", "gbm": "s",
                "bcf_re": "s", "bcf": "s", "bart_re": "s", "bart": "s", "gpboost": "s"}


def forest_template():
    """Random forest for MERF and its twin: 100 trees, min leaf 5, half the features per split, OOB fits.

    One thread per forest: a multi-threaded forest sums its trees' predictions in
    whatever order the threads finish, so its last digits would vary from run to run.
    """
    return RandomForestRegressor(n_estimators=100, min_samples_leaf=5, max_features=0.5, oob_score=True, n_jobs=1)


def boosting_template():
    """Gradient boosting for MEGB and its twin (the package's ``"boosting"`` settings)."""
    return registry_learner("boosting", "regression")


def check_learner(learner, learner_type, warm_start) -> tuple[str, str, str | None]:
    """Validate the CRT learner options; returns (learner, learner_type, warm_start)."""
    if not isinstance(learner, str) or learner not in CRT_LEARNERS:
        raise ParameterError(f"Parameter learner must be one of {', '.join(map(repr, CRT_LEARNERS))} for a formula "
                             f"with '(1 | cluster)'; got {learner!r}.", parameter="learner")
    kind = DEFAULT_TYPE[learner] if learner_type is None else learner_type
    fixed_type = learner not in ("merf", "megb")
    if kind not in ("t", "s") or (fixed_type and kind != DEFAULT_TYPE[learner]):
        raise ParameterError(f"Parameter learner_type must be 't' or 's' for learner 'merf' or 'megb' (others have a "
                             f"fixed type: rf t, the others s); got {learner_type!r} with "
                             f"learner={learner!r}.",
                             parameter="learner_type")
    if warm_start not in ("lmm", None):
        raise ParameterError(f"Parameter warm_start must be 'lmm' or None; got {warm_start!r}.",
                             parameter="warm_start")
    if warm_start is None and kind == "s" and learner in ("merf", "megb"):
        raise ParameterError("Parameter warm_start=None with learner_type='s': in a cluster-randomised trial the "
                             "random intercept is aliased with the cluster-level treatment, so an S-learner EM loop "
                             "needs the LMM warm start (warm_start='lmm').", parameter="warm_start")
    return learner, kind, warm_start


def fit_crt(design: CrtDesign, settings: CrtSettings, rng: np.random.Generator) -> CrtFit:
    """Fit the reference REML LMM and the chosen learner; all randomness from ``rng``."""
    d = design
    lmm = fit_random_intercept_lmm(d.y, d.X_fixed, d.groups, names=list(d.fixed_names))
    reference = ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)
    seeds = spawn_seeds(rng, 4)
    delta = d.X_treated - d.X_control
    if settings.learner == "lmm":
        mu1, mu0 = lmm.fixed_part(d.X_treated), lmm.fixed_part(d.X_control)
        se = np.sqrt(np.einsum("ij,jk,ik->i", delta, lmm.cov_beta, delta))
        return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=readonly(se), lmm=lmm,
                      components=variance_components([("lmm", lmm.sigma_b2, lmm.sigma2)]), em_fits=(),
                      predictor=("lmm", lmm), cate_L=readonly(delta), cate_cov=lmm.cov_beta)
    if settings.learner == "lmm_shrink":
        return _fit_shrunk_lmm(d, lmm)
    if settings.learner == "gamm":
        return _fit_gamm(d, lmm)
    if settings.learner in ("bcf_re", "bcf"):
        return fit_crt_bcf(d, lmm, int(seeds[0]), settings.learner == "bcf_re")
    if settings.learner == "gpboost":
        return fit_crt_gpboost(d, lmm, int(seeds[0]))
    if settings.learner in ("bart_re", "bart"):
        return fit_crt_bart(d, lmm, int(seeds[0]), settings.learner == "bart_re")
    if settings.learner == "rf":
        models = Parallel(n_jobs=settings.n_jobs, prefer="threads")(  # the two arms in parallel
            delayed(seeded_clone(forest_template(), seeds[a]).fit)(d.features[d.t == a], d.y[d.t == a]) for a in (0, 1))
        mu0, mu1 = (np.asarray(m.predict(d.features), dtype=float) for m in models)
        return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=None, lmm=lmm,
                      components=variance_components([reference]), em_fits=(), predictor=("t_ignore", models))
    if settings.learner == "gbm":
        model = seeded_clone(boosting_template(), seeds[0]).fit(np.column_stack([d.features, d.t]), d.y)
        n = len(d.y)
        mu0 = np.asarray(model.predict(np.column_stack([d.features, np.zeros(n)])), dtype=float)
        mu1 = np.asarray(model.predict(np.column_stack([d.features, np.ones(n)])), dtype=float)
        return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=None, lmm=lmm,
                      components=variance_components([reference]), em_fits=(), predictor=("s_ignore", model))
    template = forest_template() if settings.learner == "merf" else boosting_template()
    warm = settings.warm_start == "lmm"
    em = dict(max_iter=settings.max_iter, tol=settings.tol, n_folds=settings.n_folds)
    if settings.learner_type == "t":
        offsets, tasks = [], []
        for arm, X_arm in ((0, d.X_control), (1, d.X_treated)):
            rows = d.t == arm
            offset = lmm.fixed_part(X_arm) if warm else np.zeros(len(d.y))
            init = lmm.blup_for(d.groups[rows]) if warm else np.zeros(int(rows.sum()))
            s_b2, s2 = (lmm.sigma_b2, lmm.sigma2) if warm else (np.var(d.y[rows]) / 2, np.var(d.y[rows]) / 2)
            offsets.append(offset)
            tasks.append(delayed(fit_random_intercept_em)(
                d.features[rows], d.y[rows], d.groups[rows], template, offset=offset[rows], init_blups=init,
                init_sigma_b2=s_b2, init_sigma2=s2, rng=np.random.default_rng(seeds[arm]), **em))
        fits = Parallel(n_jobs=settings.n_jobs, prefer="threads")(tasks)  # the two arms in parallel
        mus = [offset + fit.predict(d.features) for offset, fit in zip(offsets, fits)]
        rows_out = [(f"{settings.learner} ({'treated' if arm else 'control'} arm)", fit.sigma_b2, fit.sigma2)
                    for arm, fit in enumerate(fits)]
        return CrtFit(mu0=readonly(mus[0]), mu1=readonly(mus[1]), cate_se=None, lmm=lmm,
                      components=variance_components(rows_out + [reference]), em_fits=tuple(fits),
                      predictor=("t_em", fits, warm))
    n = len(d.y)
    XT = np.column_stack([d.features, d.t])
    fit = fit_random_intercept_em(XT, d.y, d.groups, template, offset=lmm.fixed_part(d.X_fixed),
                                  init_blups=lmm.blup_for(d.groups), init_sigma_b2=lmm.sigma_b2,
                                  init_sigma2=lmm.sigma2, rng=np.random.default_rng(seeds[0]), **em)
    mu0 = lmm.fixed_part(d.X_control) + fit.predict(np.column_stack([d.features, np.zeros(n)]))
    mu1 = lmm.fixed_part(d.X_treated) + fit.predict(np.column_stack([d.features, np.ones(n)]))
    return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=None, lmm=lmm,
                  components=variance_components([(settings.learner, fit.sigma_b2, fit.sigma2), reference]),
                  em_fits=(fit,), predictor=("s_em", fit))


def _interaction_columns(X_treated: np.ndarray, X_control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Treatment x modifier columns of the fixed design (their T = 1 minus T = 0 difference varies) and their SDs."""
    delta = X_treated - X_control
    scale = delta.std(axis=0)
    columns = np.flatnonzero(scale > 1e-12 * np.maximum(1.0, np.abs(delta).max(axis=0)))
    return columns, scale[columns]


def _fit_shrunk_lmm(d: CrtDesign, lmm) -> CrtFit:
    """REML LMM whose treatment x modifier coefficients are random (one shared variance): REML-chosen shrinkage.

    With the interactions' coefficients u ~ N(0, omega^2) on standardised
    modifiers, REML decides how much heterogeneity the data support; under a
    constant effect omega^2 goes to about 0 and the CATE to the common effect.
    """
    inter, scale = _interaction_columns(d.X_treated, d.X_control)
    if len(inter) == 0:  # nothing to shrink: the plain LMM
        mu1, mu0 = lmm.fixed_part(d.X_treated), lmm.fixed_part(d.X_control)
        return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=None, lmm=lmm,
                      components=variance_components([("lmm_shrink", lmm.sigma_b2, lmm.sigma2)]), em_fits=(),
                      predictor=("lmm", lmm))
    fixed = np.setdiff1d(np.arange(d.X_fixed.shape[1]), inter)
    vc = fit_variance_components(d.y, d.X_fixed[:, fixed], [d.X_fixed[:, inter] / scale], groups=d.groups)
    m = len(vc.u[0])

    def part(X):
        return X[:, fixed] @ vc.beta + (X[:, inter] / scale) @ vc.u[1]

    mu1, mu0 = part(d.X_treated), part(d.X_control)
    # prediction-error variance of the CATE from the joint (beta, u) covariance sigma^2 C^-1
    delta = d.X_treated - d.X_control
    L = np.column_stack([delta[:, fixed], np.zeros((len(d.y), m)), delta[:, inter] / scale])
    se = np.sqrt(np.maximum(vc.sigma2 * np.einsum("ij,jk,ik->i", L, vc.precision_inverse, L), 0.0))
    comp = variance_components([("lmm_shrink", float(vc.variances[0]), vc.sigma2),
                                ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)])
    comp["slope_variance"] = [float(vc.variances[1]), np.nan]
    return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=readonly(se), lmm=lmm, components=comp,
                  em_fits=(), predictor=("shrink", vc, fixed, inter, scale, m), cate_L=readonly(L),
                  cate_cov=readonly(vc.sigma2 * vc.precision_inverse))


def _fit_gamm(d: CrtDesign, lmm) -> CrtFit:
    """GAMM by REML: the formula's fixed part, a smooth block per s() term, a treatment x smooth block per modifier.

    The model: y = b0 + bA A + sum s_k(x_k) + A sum g_k(x_k) + linear terms + b_cluster + e;
    the CATE is the fixed part's treatment terms plus the g_k, with the pointwise
    prediction-error variance of the coefficients and BLUPs.
    """
    if not d.smooths:
        raise ParameterError("Parameter learner='gamm' needs at least one smooth term in the formula, e.g. "
                             "'y ~ treat * (s(age) + sex) + (1 | clinic)'; without one use learner='lmm'.",
                             parameter="learner")
    main = d.smooth_blocks()
    inter = [d.t[:, None] * b for b, term in zip(main, d.smooths) if term.interacts]
    vc = fit_variance_components(d.y, d.X_fixed, main + inter, groups=d.groups)
    mu1, mu0, L = _gamm_parts(vc, d, d.X_treated, d.X_control, d.features, main)
    se = np.sqrt(np.maximum(vc.sigma2 * np.einsum("ij,jk,ik->i", L, vc.precision_inverse, L), 0.0))
    comp = variance_components([("gamm", float(vc.variances[0]), vc.sigma2),
                                ("REML LMM (reference)", lmm.sigma_b2, lmm.sigma2)])
    return CrtFit(mu0=readonly(mu0), mu1=readonly(mu1), cate_se=readonly(se), lmm=lmm, components=comp, em_fits=(),
                  predictor=("gamm", vc, d), cate_L=readonly(L), cate_cov=readonly(vc.sigma2 * vc.precision_inverse))


def _gamm_parts(vc, d: CrtDesign, X_treated, X_control, features, main=None):
    """Fixed part at T = 1 and T = 0 for rows with these designs, and the CATE's coefficient map L.

    ``main`` are the smooth bases at ``features`` when the caller has them already.
    """
    main = d.smooth_blocks(features) if main is None else main
    n_groups = len(vc.u[0])
    interacting = [b for b, term in zip(main, d.smooths) if term.interacts]
    u_main, u_inter = vc.u[1:1 + len(main)], vc.u[1 + len(main):]
    smooth = sum((b @ u for b, u in zip(main, u_main)), np.zeros(len(features)))
    bend = sum((b @ u for b, u in zip(interacting, u_inter)), np.zeros(len(features)))
    mu1 = X_treated @ vc.beta + smooth + bend
    mu0 = X_control @ vc.beta + smooth
    L = np.column_stack([X_treated - X_control, np.zeros((len(features), n_groups)),
                         *[np.zeros_like(b) for b in main], *interacting])
    return mu1, mu0, L


def predict_cate(fit: CrtFit, X_treated: np.ndarray, X_control: np.ndarray, features: np.ndarray) -> np.ndarray:
    """CATE for new rows from their LMM designs at T = 1 / T = 0 and their features (no cluster needed)."""
    kind = fit.predictor[0]
    lmm = fit.lmm
    n = len(features)
    if kind == "lmm":
        return lmm.fixed_part(X_treated) - lmm.fixed_part(X_control)
    if kind == "gpboost":
        return gpboost_cate(fit.predictor[1], lmm, X_treated, X_control, features)
    if kind == "bart":
        return bart_draws(fit.predictor[1], fit.predictor[2], features)[0].mean(axis=1)
    if kind == "bcf":
        return bcf_draws(*fit.predictor[1:], features)[0].mean(axis=1)
    if kind == "gamm":
        mu1, mu0, _ = _gamm_parts(fit.predictor[1], fit.predictor[2], X_treated, X_control, features)
        return mu1 - mu0
    if kind == "shrink":
        vc, fixed, inter, scale, _ = fit.predictor[1:]
        delta = X_treated - X_control
        return delta[:, fixed] @ vc.beta + (delta[:, inter] / scale) @ vc.u[1]
    if kind == "t_ignore":
        m0, m1 = fit.predictor[1]
        return np.asarray(m1.predict(features), dtype=float) - np.asarray(m0.predict(features), dtype=float)
    if kind == "s_ignore":
        model = fit.predictor[1]
        return (np.asarray(model.predict(np.column_stack([features, np.ones(n)])), dtype=float)
                - np.asarray(model.predict(np.column_stack([features, np.zeros(n)])), dtype=float))
    if kind == "t_em":
        (f0, f1), warm = fit.predictor[1], fit.predictor[2]
        base = lmm.fixed_part(X_treated) - lmm.fixed_part(X_control) if warm else 0.0
        return base + f1.predict(features) - f0.predict(features)
    f = fit.predictor[1]
    return (lmm.fixed_part(X_treated) - lmm.fixed_part(X_control)
            + f.predict(np.column_stack([features, np.ones(n)])) - f.predict(np.column_stack([features,
                                                                                              np.zeros(n)])))
