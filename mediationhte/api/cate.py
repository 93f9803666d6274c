"""``cate()``: heterogeneous total effects with S/T/X/DR meta-learners and the diagnostics analysts run first."""

from __future__ import annotations

import numbers

import numpy as np

from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.random_state import resolve_seed
from mediationhte.cate.estimation import CateSettings, fit_cate, unit_effects_frame
from mediationhte.cate.results import CateData, CateResults
from mediationhte.errors import DataError, ParameterError
from mediationhte.formula.parse import parse_cate_roles
from mediationhte.core.learners import feature_matrix
from mediationhte.cate.metalearners import base_template, check_learners
from mediationhte.cate.propensity import default_propensity_model, fit_propensity, trim_rows, warn_trimmed


def cate(formula: str, data, *, treatment: str | None = None, learner=None, base_learner=None,
         propensity_learner=None, n_folds: int = 5, clip=(0.01, 0.99), trim=None, caliper: float | None = None,
         alpha: float = 0.05, random_state=None, learner_type: str | None = None, warm_start: str | None = "lmm",
         max_iter: int = 30):
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
    from mediationhte.formula.clusters import has_bar_term

    if has_bar_term(formula):
        given = {"base_learner": base_learner is not None, "propensity_learner": propensity_learner is not None,
                 "trim": trim is not None, "caliper": caliper is not None, "clip": tuple(clip) != (0.01, 0.99)}
        for name, used in given.items():
            if used:
                raise ParameterError(f"Parameter {name} does not apply to a cluster-randomised formula (with "
                                     "'(1 | cluster)'): the propensity is known by design there. Drop it.",
                                     parameter=name)
        from mediationhte.crt.fit import cate_crt

        return cate_crt(formula, data, treatment=treatment, learner="lmm_shrink" if learner is None else learner,
                        learner_type=learner_type, warm_start=warm_start, n_folds=n_folds, max_iter=max_iter,
                        alpha=alpha, random_state=random_state)
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
    clip = _check_clip(clip)
    if caliper is not None and (isinstance(caliper, bool) or not isinstance(caliper, numbers.Real)
                                or not caliper > 0):
        raise ParameterError(f"Parameter caliper must be a positive number (SDs of the logit propensity) or None; "
                             f"got {caliper!r}.", parameter="caliper")
    base = base_template(base_learner)
    ps_template = default_propensity_model() if propensity_learner is None else _check_classifier(propensity_learner)
    rng, seed_used = resolve_seed(random_state)

    frame, dropped, contrast = V.complete_binary_treatment_rows(data, roles, "cate()")
    if not roles.covariates:
        raise ParameterError(f"Parameter formula ({formula!r}) has no covariates: heterogeneous effects are "
                             "described by covariates. Add some: 'y ~ treat + x1 + x2'.", parameter="formula")
    t = (frame[roles.treatment].to_numpy() == contrast.treated).astype(int)
    y = frame[roles.outcome].to_numpy(dtype=float)
    covariates = frame.loc[:, list(roles.covariates)].copy()
    X, feature_names = feature_matrix(covariates, roles.covariates)
    _check_arms(t, n_folds, roles.treatment)

    settings = CateSettings(learners=names, base=base, propensity=ps_template, n_folds=n_folds, clip=clip,
                            caliper=None if caliper is None else float(caliper), alpha=alpha)
    trimmed = frame.index[:0]
    trim_bounds = None
    if trim is not None:
        first = fit_propensity(X, t, ps_template, n_folds=n_folds, rng=np.random.default_rng(rng.integers(2**31)))
        keep, trim_bounds = trim_rows(first.scores, trim)
        warn_trimmed(int((~keep).sum()), len(t), trim_bounds)
        trimmed = frame.index[~keep]
        frame, covariates, X, t, y = frame.loc[keep], covariates.loc[keep], X[keep], t[keep], y[keep]
        _check_arms(t, n_folds, roles.treatment)
    fit = fit_cate(X, t, y, settings, rng)
    call = (f"cate({formula!r}, data=<DataFrame {data.shape[0]}x{data.shape[1]}>, learner={learner!r}, "
            f"base_learner={base_learner!r}, n_folds={n_folds}, clip={clip}, trim={trim!r}, caliper={caliper!r}, "
            f"random_state={random_state if not isinstance(random_state, np.random.Generator) else 'Generator'!r})")
    cate_data = CateData(X=readonly(X), feature_names=feature_names, t=readonly(t), y=readonly(y),
                         covariates=covariates)
    return CateResults(
        roles=roles, contrast=contrast, settings=settings, data=cate_data, fit=fit,
        unit_level=unit_effects_frame(fit.unit_effects, frame.index), rows_used=frame.index, dropped_index=dropped,
        trimmed_index=trimmed, trim_bounds=trim_bounds, seed_used=seed_used, call=call,
    )


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


def _check_arms(t: np.ndarray, n_folds: int, treatment: str) -> None:
    smallest = int(min(t.sum(), len(t) - t.sum()))
    if smallest < 2 * n_folds:
        raise DataError(f"Column {treatment!r} (treatment): the smaller arm has {smallest} rows in the rows used, "
                        f"too few for n_folds={n_folds} (each fold needs two per arm). Lower n_folds or use more "
                        "data.", column=treatment, role="treatment")
