"""Public entry point :func:`cate`: heterogeneous total effects (meta-learners, or mixed models for a CRT).

It checks the arguments, resolves ``random_state`` once and dispatches to
:func:`mediationhte.cate.fit.fit_cate_frame` or, with a ``(1 | cluster)`` term, to
:func:`mediationhte.crt.fit.cate_crt`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from mediationhte.cate.estimation import CateSettings
from mediationhte.cate.fit import fit_cate_frame
from mediationhte.cate.metalearners import base_template, check_learners
from mediationhte.cate.propensity import default_propensity_model
from mediationhte.core import validation as V
from mediationhte.core.random_state import resolve_seed
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import CrtLearner, Estimator, Learner, LearnerType, MetaLearner, RandomState, Trim
from mediationhte.crt.fit import cate_crt
from mediationhte.errors import ParameterError
from mediationhte.formula.clusters import has_bar_term
from mediationhte.formula.parse import parse_cate_roles

if TYPE_CHECKING:
    import pandas as pd

    from mediationhte.cate.results import CateResults
    from mediationhte.crt.results import CrtResults


@native_thread_budget
def cate(formula: str, data: pd.DataFrame, *, treatment: str | None = None,
         learner: MetaLearner | Sequence[MetaLearner] | CrtLearner | Estimator | None = None,
         base_learner: Learner | None = None, propensity_learner: Estimator | None = None, n_folds: int = 5,
         clip: tuple[float, float] = (0.01, 0.99), trim: Trim = None, caliper: float | None = None,
         alpha: float = 0.05, random_state: RandomState = None, learner_type: LearnerType | None = None,
         warm_start: Literal["lmm"] | None = "lmm", max_iter: int = 30, n_jobs: int = 1,
         ) -> CateResults | CrtResults:
    """Unit-level treatment effects tau(x) and average effects by several estimators, with causal diagnostics.

    Identification rests on conditional ignorability (no unmeasured confounding
    given the covariates), positivity (overlap) and consistency. The diagnostics
    (:meth:`~CateResults.propensity`, :meth:`~CateResults.balance`,
    :meth:`~CateResults.refute`) probe what data can probe.

    Parameters
    ----------
    formula : str
        ``"outcome ~ treat + x1 + x2 + ..."``. The first right-hand variable is the
        treatment unless ``treatment`` is given; every other variable is a
        covariate, used as its raw column (categoricals one-hot, all levels).
    data : pandas.DataFrame
        Not modified. Rows with a missing value in a used column are dropped
        with a warning.
    treatment : str, optional
        The treatment column (binary: 0/1, bool or two levels; the second sorted
        level is "treated").
    learner : {"dr", "s", "t", "x"} or list of them, default "dr"
        Meta-learner(s) for the unit effects; a list gives one column each in
        :attr:`CateResults.effects`, side by side. With a ``(1 | cluster)`` term:
        ``"lmm_shrink"`` (default: REML linear mixed model whose treatment x
        modifier coefficients are random with one REML-estimated variance, so the
        CATE shrinks towards a common effect as far as the data ask), ``"lmm"``
        (the same model with fixed interaction coefficients), ``"gamm"`` (``s(x)`` /
        ``s(x, k=10)`` terms as P-spline smooths in mixed-model form, a treatment x
        smooth block for each modifier, smoothing chosen by REML), ``"merf"`` / ``"megb"`` (random-intercept EM around a
        random forest / gradient boosting, LMM warm start and offset, out-of-bag or
        cluster-fold out-of-sample fits in the E-step), or the cluster-ignoring
        twins ``"rf"`` (T-learner forest) and ``"gbm"`` (S-learner boosting);
        with the optional extra ``bayes`` (stochtree), ``"bcf_re"`` (Bayesian causal
        forest with a random intercept; posterior SDs and draws), ``"bart_re"``
        (S-learner BART with a random intercept) and their twins ``"bcf"``, ``"bart"``;
        with the extra ``gpboost``, ``"gpboost"`` (boosting against the
        random-intercept likelihood, warm started from the LMM through ``init_score``).
    base_learner : str or scikit-learn regressor, optional
        Outcome and second-stage model of every learner; default ``"boosting"``
        (HistGradientBoostingRegressor: learning rate 0.1, depth 4, 100 trees,
        min_samples_leaf 20). ``"forest"``, ``"linear"`` or any regressor (cloned
        per fit, seeded from ``random_state``).
    propensity_learner : scikit-learn classifier, optional
        Default: ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))``
        fitted in sample (the scores for IPTW, matching, balance and the X-learner)
        and out of fold (for AIPW and the DR-learner).
    n_folds : int, default 5
        Cross-fitting folds, stratified by treatment.
    clip : (float, float), default (0.01, 0.99)
        Propensities are clipped to this range wherever they are inverted.
    trim : None, "crump" or (float, float)
        Drop units whose in-sample propensity lies outside Crump et al.'s (2009)
        optimal overlap region or the given range, then refit everything on the
        rest (a warning gives the count).
    caliper : float, optional
        Matching caliper in standard deviations of the logit propensity.
    alpha : float, default 0.05
        Intervals are at level 1 - alpha.
    random_state : None, int or numpy.random.Generator
    learner_type : {"t", "s"}, optional
        Cluster-randomised path only: one model per arm (T, the default for
        ``"merf"``) or the treatment as a feature (S, the default for ``"megb"``).
    warm_start : {"lmm", None}, default "lmm"
        Cluster-randomised path only: start the EM learners from the REML LMM and
        keep its fixed part as an offset (None: the naive zero start, which lets
        the random intercept absorb the cluster-level treatment; for comparison).
    max_iter : int, default 30
        Cluster-randomised path only: EM iterations at most.
    n_jobs : int, default 1
        Cores the call may use (-1: all): parallel model fits (threads) of each
        stage (the cross-fitted outcome model's folds with the per-arm models, then
        the second-stage models), or the cluster-randomised learner's arms, and
        at most ``n_jobs`` native (OpenMP/BLAS) threads in all. The numbers are
        identical for every ``n_jobs``, as each model has its own child seed.

    Returns
    -------
    CateResults or CrtResults
        :class:`~mediationhte.crt.results.CrtResults` when the formula has a
        ``(1 | cluster)`` term: a cluster-randomised trial (treatment constant
        within clusters). Its CATE is the fixed part of the model at T = 1 minus
        T = 0, the same whether a row's cluster is known, unknown or new.

    Examples
    --------
    >>> import mediationhte as mh
    >>> jobs = mh.load_jobs()
    >>> fit = mh.cate("depress2 ~ treat + econ_hard + depress1 + age + sex", jobs,
    ...               learner=["t", "dr"], base_learner="linear", random_state=1)
    >>> list(fit.effects.columns)
    ['t', 'dr']
    >>> print(fit.summary().to_frame().round(3).loc["difference_in_means", "estimate"])
    -0.063
    """
    if has_bar_term(formula):
        given = {"base_learner": base_learner is not None, "propensity_learner": propensity_learner is not None,
                 "trim": trim is not None, "caliper": caliper is not None, "clip": tuple(clip) != (0.01, 0.99)}
        for name, used in given.items():
            if used:
                raise ParameterError(f"Parameter {name} does not apply to a cluster-randomised formula (with "
                                     "'(1 | cluster)'): the propensity is known by design there. Drop it.",
                                     parameter=name)
        return cate_crt(formula, data, treatment=treatment, learner="lmm_shrink" if learner is None else learner,
                        learner_type=learner_type, warm_start=warm_start, n_folds=n_folds, max_iter=max_iter,
                        alpha=alpha, random_state=random_state, n_jobs=n_jobs)
    if learner_type is not None or warm_start != "lmm" or max_iter != 30:
        bad = "learner_type" if learner_type is not None else ("warm_start" if warm_start != "lmm" else "max_iter")
        raise ParameterError(f"Parameter {bad} applies only to a cluster-randomised formula with a '(1 | cluster)' "
                             "term.", parameter=bad)
    learner = "dr" if learner is None else learner
    data = V.check_dataframe(data)
    roles = parse_cate_roles(formula, data, treatment)
    names = check_learners(learner)
    n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
    alpha = V.check_alpha(alpha)
    n_jobs = V.check_n_jobs(n_jobs)
    clip = _check_clip(clip)
    if caliper is not None and (isinstance(caliper, bool) or not isinstance(caliper, numbers.Real)
                                or not caliper > 0):
        raise ParameterError(f"Parameter caliper must be a positive number (SDs of the logit propensity) or None; "
                             f"got {caliper!r}.", parameter="caliper")
    base = base_template(base_learner)
    ps_template = default_propensity_model() if propensity_learner is None else _check_classifier(propensity_learner)
    rng, seed_used = resolve_seed(random_state)

    call = (f"cate({formula!r}, data=<DataFrame {data.shape[0]}x{data.shape[1]}>, learner={learner!r}, "
            f"base_learner={base_learner!r}, n_folds={n_folds}, clip={clip}, trim={trim!r}, caliper={caliper!r}, "
            f"random_state={random_state if not isinstance(random_state, np.random.Generator) else 'Generator'!r})")
    settings = CateSettings(learners=names, base=base, propensity=ps_template, n_folds=n_folds, clip=clip,
                            caliper=None if caliper is None else float(caliper), alpha=alpha, n_jobs=n_jobs)
    return fit_cate_frame(data, roles, settings, trim=trim, rng=rng, seed_used=seed_used, call=call)


def _check_clip(clip) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in clip)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"Parameter clip must be a (low, high) pair such as (0.01, 0.99); got {clip!r}.",
                             parameter="clip") from exc
    if not 0.0 < lo < hi < 1.0:
        raise ParameterError(f"Parameter clip=({lo}, {hi}) must satisfy 0 < low < high < 1, e.g. (0.01, 0.99).",
                             parameter="clip")
    return lo, hi


def _check_classifier(model):
    if not (hasattr(model, "fit") and hasattr(model, "predict_proba") and hasattr(model, "get_params")):
        raise ParameterError(
            f"Parameter propensity_learner must be a scikit-learn classifier with predict_proba; got "
            f"{type(model).__name__}.", parameter="propensity_learner")
    return model
