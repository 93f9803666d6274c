"""Public entry point :func:`mediate`: formulas and a DataFrame in, an immutable results object out.

It checks the arguments, resolves ``random_state`` once and dispatches: parallel
mediators (:mod:`mediationhte.mediation.parallel`), the R-parity linear models
(:mod:`mediationhte.mediation.fit`) or the M-learner (:mod:`mediationhte.mlearner.fit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.parallel import blas_limit, native_thread_budget
from mediationhte.core.random_state import resolve_seed
from mediationhte.core.types import ColumnOrValues, CovType, Family, Learner, MLEstimator, PointEstimate, RandomState
from mediationhte.errors import ParameterError
from mediationhte.formula.parse import caller_eval_env
from mediationhte.mediation.fit import fit_linear, prepare
from mediationhte.mediation.models import COV_TYPES, FAMILIES
from mediationhte.mediation.parallel import mediate_parallel
from mediationhte.mlearner.fit import mediate_ml

if TYPE_CHECKING:
    from mediationhte.mediation.parallel import ParallelMediationResults
    from mediationhte.mediation.results import MediationResults
    from mediationhte.mlearner.results import MLMediationResults


@native_thread_budget
def mediate(outcome_formula: str, mediator_formula: str | Sequence[str], data: pd.DataFrame, *,
            treatment: str | None = None, treat_value: Any = None, control_value: Any = None,
            outcome_family: Family = "gaussian", mediator_family: Family = "gaussian",
            covariates: dict | None = None, sims: int = 1000, alpha: float = 0.05,
            cov_type: CovType = "nonrobust", cluster: ColumnOrValues | None = None,
            point: PointEstimate = "original", learner: Learner = "linear", n_folds: int = 5,
            estimator: MLEstimator = "crossfit", n_jobs: int = 1, random_state: RandomState = None,
            ) -> MediationResults | MLMediationResults | ParallelMediationResults:
    """Causal mediation analysis with R ``mediation`` semantics, from two formulas.

    Fits the mediator model (``mediator_formula``) and the outcome model
    (``outcome_formula``) on the same rows, computes the average causal mediation
    effects (ACME), average direct effects (ADE), the total effect and the
    proportion mediated under control and treatment, and quasi-Bayesian Monte
    Carlo intervals as R's ``mediate(..., boot = FALSE)`` does. Nonparametric
    bootstrap intervals come from :meth:`MediationResults.bootstrap_ci`.

    Parameters
    ----------
    outcome_formula : str
        patsy formula ``outcome ~ treatment + mediator + covariates``; ``C()``,
        ``I()``, ``np.log()`` and interactions such as ``treat:job_seek`` work.
    mediator_formula : str or list of str
        patsy formula ``mediator ~ treatment + covariates``; its left-hand side
        must be a data column (the mediator). A list of formulas fits parallel
        mediators (Gaussian, linear): joint and path-specific indirect effects in a
        :class:`~mediationhte.mediation.parallel.ParallelMediationResults`.
    data : pandas.DataFrame
        Never modified.
    treatment : str, optional
        Treatment column; defaults to the first right-hand variable of
        ``mediator_formula``.
    treat_value, control_value : optional
        The contrasted treatment values. Defaults: 1/0 for a 0/1 column,
        True/False for bool, the second/first level for a two-level categorical.
        Required for a continuous treatment (as in R).
    outcome_family, mediator_family : {"gaussian", "logit", "probit"}
        OLS or binary GLM for each model.
    covariates : dict, optional
        Fix pre-treatment covariates at these values, e.g. ``{"sex": 1}``: effects
        conditional on them and averaged over the rest (R's ``covariates=``).
    sims : int, default 1000
        Quasi-Bayesian Monte Carlo draws.
    alpha : float, default 0.05
        Intervals have level 1 - alpha.
    cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}
        Coefficient covariance used for the quasi-Bayesian draws (R's
        ``robustSE = TRUE`` is ``"HC3"``).
    cluster : str or array-like, optional
        Cluster ids (a column name or one value per row of ``data``), required
        with ``cov_type="cluster"``.
    point : {"original", "mean_of_draws"}
        ``"original"`` (default) reports the deterministic estimates at the fitted
        coefficients; ``"mean_of_draws"`` reproduces R's quasi-Bayesian convention
        (mean of draws, median for the proportions mediated).
    learner : str, scikit-learn estimator or dict, default "linear"
        ``"linear"`` fits the user's formulas parametrically (R parity, everything
        above). ``"forest"`` (extremely randomised trees: 60 trees on all
        features, leaves of 2; of 20 for the treatment classifiers),
        ``"boosting"`` (HistGradientBoosting with the M-learner paper's XGBoost
        settings: learning rate 0.1, depth 4, 100 trees; min_samples_leaf 20), any
        scikit-learn estimator, or a dict by role (``"mediator"``, ``"outcome"``,
        ``"treatment"``) switches to the M-learner's step 1: the formulas then only
        name the roles and the covariates (raw columns; categoricals one-hot), the
        nuisances E[M | T=t, X], E[Y | T=t, M, X] and the nested means
        E[Y(t, M(t')) | X] are learned per arm, and ``.effects`` holds unit-level
        indirect, direct and total effects.
    n_folds : int, default 5
        Cross-fitting folds (stratified by treatment) for ML learners.
    estimator : {"crossfit", "plugin"}
        ML learners only. ``"crossfit"``: out-of-fold nuisances, nested regression
        for E[Y(t, M(t')) | X] (correct for outcomes nonlinear in the mediator) and
        efficient-influence-function averages with standard errors (Tchetgen
        Tchetgen & Shpitser 2012). ``"plugin"``: the M-learner paper's estimator
        (arm-wise models in sample, predicted mediator mean plugged into the outcome
        model).
    n_jobs : int, default 1
        Cores the call may use (-1: all): parallel cross-fitting folds (ML learners),
        and at most ``n_jobs`` native (OpenMP/BLAS) threads in all, so the default
        keeps to one core on a shared machine. Results do not depend on it.
    random_state : None, int or numpy.random.Generator
        Seed for the Monte Carlo draws (and folds/learners); ``None`` draws one and
        records it in ``seed_used``.

    Returns
    -------
    MediationResults, MLMediationResults or ParallelMediationResults

    Raises
    ------
    FormulaError, DataError, ParameterError
        Bad formulas, data or options; every message names the column or
        parameter and says how to fix it.

    Notes
    -----
    Point estimates integrate the mediator out exactly: closed form for a
    Gaussian outcome linear in a Gaussian mediator (ACME = a * b without
    interaction), a two-point sum for a binary mediator, and 40-node
    Gauss-Hermite quadrature for a nonlinear outcome. Identification rests on
    sequential ignorability (Imai, Keele & Tingley 2010).

    References
    ----------
    Imai, K., Keele, L. and Tingley, D. (2010). A general approach to causal
    mediation analysis. Psychological Methods 15(4), 309-334.
    Tingley, D., Yamamoto, T., Hirose, K., Keele, L. and Imai, K. (2014).
    mediation: R package for causal mediation analysis. JSS 59(5).

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
    ...               "job_seek ~ treat + econ_hard + sex + age",
    ...               data=load_jobs(), sims=200, random_state=1)
    >>> print(round(fit.estimates["acme_average"], 6))
    -0.015745
    """
    eval_env = caller_eval_env()
    V.check_dataframe(data)
    V.check_option("outcome_family", outcome_family, FAMILIES)
    V.check_option("mediator_family", mediator_family, FAMILIES)
    V.check_option("cov_type", cov_type, COV_TYPES)
    V.check_option("point", point, ("original", "mean_of_draws"))
    sims = V.check_positive_int("sims", sims, minimum=2)
    alpha = V.check_alpha(alpha)
    n_jobs = V.check_n_jobs(n_jobs)
    rng, seed_used = resolve_seed(random_state)
    linear = isinstance(learner, str) and learner == "linear"

    if isinstance(mediator_formula, (list, tuple)):
        if not linear or covariates is not None or cluster is not None:
            bad = "covariates" if covariates is not None else ("cluster" if cluster is not None else "learner")
            raise ParameterError(f"Parameter {bad} is not available with several mediators (a list of mediator "
                                 "formulas); these fit linear Gaussian models.", parameter=bad)
        with blas_limit(*data.shape):
            return mediate_parallel(outcome_formula, mediator_formula, data, treatment=treatment,
                                    treat_value=treat_value, control_value=control_value,
                                    outcome_family=outcome_family, mediator_family=mediator_family,
                                    cov_type=cov_type, sims=sims, alpha=alpha, rng=rng, seed_used=seed_used,
                                    eval_env=eval_env)
    rows = prepare(outcome_formula, mediator_formula, data, treatment=treatment, treat_value=treat_value,
                   control_value=control_value, outcome_family=outcome_family, mediator_family=mediator_family,
                   cov_type=cov_type, cluster=cluster)
    covariates = V.check_fixed_covariates(covariates, rows.roles.covariates, data)
    settings = {"treatment": rows.roles.treatment, "outcome_family": outcome_family,
                "mediator_family": mediator_family, "covariates": covariates, "sims": sims, "alpha": alpha,
                "cov_type": cov_type, "random_state": random_state}
    if not linear:
        if covariates is not None or cov_type != "nonrobust" or point != "original":
            bad = "covariates" if covariates is not None else ("cov_type" if cov_type != "nonrobust" else "point")
            raise ParameterError(
                f"Parameter {bad} applies to learner='linear' only; ML learners estimate unit-level effects instead "
                "(condition on covariates by selecting rows of .effects).",
                parameter=bad,
            )
        call = _call_string(outcome_formula, mediator_formula, data, dict(settings, covariates=None))
        call = call[:-1] + f", learner={learner!r}, n_folds={n_folds!r}, estimator={estimator!r})"
        return mediate_ml(rows, learner=learner, n_folds=n_folds, estimator=estimator, n_jobs=n_jobs,
                          outcome_family=outcome_family, mediator_family=mediator_family, alpha=alpha, rng=rng,
                          seed_used=seed_used, random_state=random_state, call=call)
    return fit_linear(rows, covariates=covariates, eval_env=eval_env, outcome_family=outcome_family,
                      mediator_family=mediator_family, cov_type=cov_type, sims=sims, alpha=alpha, point=point,
                      random_state=random_state, rng=rng, seed_used=seed_used,
                      call=_call_string(outcome_formula, mediator_formula, data, settings))


def _call_string(outcome_formula, mediator_formula, data, settings) -> str:
    shown = {k: settings[k] for k in ("outcome_family", "mediator_family", "covariates", "sims", "alpha",
                                      "cov_type", "random_state")}
    if isinstance(shown["random_state"], np.random.Generator):
        shown["random_state"] = "Generator"
    extras = ", ".join(f"{k}={v!r}" for k, v in shown.items())
    return (f"mediate({outcome_formula!r}, {mediator_formula!r}, data=<DataFrame {data.shape[0]}x{data.shape[1]}>, "
            f"treatment={settings['treatment']!r}, {extras})")
