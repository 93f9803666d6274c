"""Tests of differences in mediation effects: R's ``test.TMint`` and ``test.modmed``, and effects by moderator level.

All three work from quasi-Bayesian coefficient draws of the fitted models (no
refitting): ``test_interaction`` uses the fit's stored draws of ACME(1) and
ACME(0); ``test_moderation`` evaluates the *same* coefficient draws under two
covariate profiles (paired draws, as R obtains by resetting the seed and refitting
twice); ``effects_by`` averages the unit-level effects of every draw within the
levels (or quantile bins) of a moderator. Mediator integrals are exact (as for the
point estimates), so the draws carry only coefficient uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from mediationhte.core.immutable import CopyOnRead
from mediationhte.core.validation import TreatmentContrast, check_fixed_covariates
from mediationhte.mediation.effects import build_counterfactual_design, counterfactual_means
from mediationhte.mediation.estimation import coefficient_draws
from mediationhte.errors import ParameterError
from mediationhte.inference.intervals import percentile_interval, simulation_pvalue, standard_error
from mediationhte.report.labels import EFFECT_LABELS
from mediationhte.report.stats_table import StatsTable
from mediationhte.report.summary import Summary

_TITLE = "Tests of Differences in Mediation Effects"


def _tests_summary(tests, footer=()) -> Summary:
    """The tests as rows of the effects layout (no std_error: the draws' SD is not part of R's htest)."""
    frame = pd.DataFrame({"estimate": [t.estimate for t in tests], "std_error": np.nan,
                          "ci_lower": [t.ci_lower for t in tests], "ci_upper": [t.ci_upper for t in tests],
                          "p_value": [t.p_value for t in tests]}, index=[t.label for t in tests])
    first = tests[0]
    return Summary(frame, method="quasi-bayesian", alpha=first.alpha, n_obs=first.n_obs, n_sims=first.n_sims,
                   p_floor=1.0 / first.n_sims if first.n_sims else None,
                   labels=tuple((t.label, t.label) for t in tests),
                   footer=(("Null hypothesis", "each difference = 0 (two-sided)"), *footer), title=_TITLE)


def _tests_frame(tests) -> pd.DataFrame:
    return pd.DataFrame([{"contrast": t.label, "estimate": t.estimate, "ci_lower": t.ci_lower,
                          "ci_upper": t.ci_upper, "p_value": t.p_value} for t in tests]).set_index("contrast")


@dataclass(frozen=True)
class EffectDifference:
    """One test of a difference of effects, printed like R's ``htest``.

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat * job_seek + econ_hard", "job_seek ~ treat + econ_hard", data=load_jobs(),
    ...               sims=200, random_state=1)
    >>> test = fit.test_interaction()
    >>> bool(test.ci_lower < test.estimate < test.ci_upper), str(test).splitlines()[1].strip()
    (True, 'Test of ACME(1) - ACME(0) = 0')
    >>> test.summary().to_frame()["estimate"].iloc[0] == test.estimate
    np.True_
    """

    label: str
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float
    alpha: float
    data_name: str = "fit"
    n_obs: int = 0
    n_sims: int = 0

    def as_text(self) -> str:
        """R's ``print.htest`` layout."""
        level = f"{100 * (1 - self.alpha):g}"
        return "\n".join(["", f"\tTest of {self.label} = 0", "", f"data:  estimates from {self.data_name}",
                          f"{self.label} = {self.estimate:.7g}, p-value = {self.p_value:.3g}",
                          f"alternative hypothesis: true {self.label} is not equal to 0",
                          f"{level} percent confidence interval:", f" {self.ci_lower:.7g} {self.ci_upper:.7g}", ""])

    def __str__(self) -> str:
        return self.as_text()

    def to_frame(self) -> pd.DataFrame:
        """One row (index ``contrast``): estimate, ci_lower, ci_upper, p_value."""
        return _tests_frame((self,))

    def summary(self) -> Summary:
        """The test as one row of the package's effects layout (``str()`` keeps R's htest layout).

        Returns
        -------
        mediationhte.report.summary.Summary
        """
        return _tests_summary((self,))


@dataclass(frozen=True)
class EffectDifferences:
    """Several tests (``test_moderation``): ``to_frame()`` and R's blocks one after another.

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", data=load_jobs(),
    ...               sims=200, random_state=1)
    >>> res = fit.test_moderation({"sex": 1}, {"sex": 0})
    >>> list(res.to_frame().columns)
    ['estimate', 'ci_lower', 'ci_upper', 'p_value']
    >>> "Test of ADE(covariates.1) - ADE(covariates.2) = 0" in str(res)
    True
    """

    tests: tuple
    seed_used: object = None

    def to_frame(self) -> pd.DataFrame:
        """One row per contrast: estimate, ci_lower, ci_upper, p_value."""
        return _tests_frame(self.tests)

    def summary(self) -> Summary:
        """The tests as rows of the package's effects layout (``str()`` keeps R's htest blocks).

        Returns
        -------
        mediationhte.report.summary.Summary

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", data=load_jobs(),
        ...               sims=200, random_state=1)
        >>> s = fit.test_moderation({"sex": 1}, {"sex": 0}, random_state=2).summary()
        >>> "Seed: 2" in str(s), s.to_frame().shape
        (True, (2, 5))
        """
        footer = () if self.seed_used is None else (("Seed", str(self.seed_used)),)
        return _tests_summary(self.tests, footer)

    def __str__(self) -> str:
        return "".join(t.as_text() for t in self.tests)

    def __getitem__(self, i):
        return self.tests[i]


def _difference(label, estimate, draws, alpha, data_name, n_obs: int) -> EffectDifference:
    lo, hi = percentile_interval(draws, alpha)
    return EffectDifference(label, float(estimate), float(lo), float(hi), float(simulation_pvalue(draws, estimate)),
                            alpha, data_name, n_obs=int(n_obs), n_sims=len(draws))


def interaction_test(fit, alpha: float) -> EffectDifference:
    """ACME(1) - ACME(0) with the fit's stored draws (R's ``test.TMint``)."""
    if not fit.interaction:
        raise ParameterError("test_interaction() needs a treatment x mediator interaction in the outcome formula "
                             "(e.g. 'y ~ treat * mediator + ...'); without one ACME(1) = ACME(0) by construction.",
                             parameter="outcome_formula")
    cols = list(fit.draws.columns)
    draws = fit.qb_draws[:, cols.index("acme_treated")] - fit.qb_draws[:, cols.index("acme_control")]
    est = fit.estimates
    return _difference("ACME(1) - ACME(0)", est["acme_treated"] - est["acme_control"], draws, alpha, "fit",
                       fit.n_obs)


def _contrast(fit):
    s = fit.settings
    return TreatmentContrast(kind=s["treatment_kind"], control=s["control_value"], treated=s["treat_value"])


def _basic(cf, fit, alpha, beta, sigma, groups=None) -> dict:
    """d0, d1, z0, z1 (and total) per coefficient set, overall (S,) or per group (S, L)."""
    mu = counterfactual_means(cf, alpha, beta, sigma, fit.mediator_model.family, fit.outcome_model.family)
    contrasts = {"acme_control": mu[0, 1] - mu[0, 0], "acme_treated": mu[1, 1] - mu[1, 0],
                 "ade_control": mu[1, 0] - mu[0, 0], "ade_treated": mu[1, 1] - mu[0, 1]}
    if groups is None:
        out = {k: v.mean(axis=0) for k, v in contrasts.items()}
    else:
        counts = groups.sum(axis=0)
        out = {k: (v.T @ groups) / counts for k, v in contrasts.items()}
    out["total"] = (out["acme_control"] + out["acme_treated"] + out["ade_control"] + out["ade_treated"]) / 2
    out["acme_average"] = (out["acme_control"] + out["acme_treated"]) / 2
    out["ade_average"] = (out["ade_control"] + out["ade_treated"]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out["prop_mediated_average"] = out["acme_average"] / out["total"]
    return out


def moderation_test(fit, covariates_1: dict, covariates_2: dict, sims: int, rng, seed_used,
                    alpha: float) -> EffectDifferences:
    """Differences in ACME and ADE between two covariate profiles with paired draws (R's ``test.modmed``)."""
    frame = fit.counterfactual.frame
    profiles = [check_fixed_covariates(c, fit.spec.roles.covariates, frame) for c in (covariates_1, covariates_2)]
    if profiles[0] == profiles[1]:
        raise ParameterError("Parameters covariates_1 and covariates_2 are the same profile; give two different "
                             "sets of covariate values.", parameter="covariates_2")
    designs = [build_counterfactual_design(fit.spec, frame, _contrast(fit), fit.mediator_model.family, fit.fit_data.m,
                                           p) for p in profiles]
    a, b, s = coefficient_draws(fit.mediator_model, fit.outcome_model, sims, rng)
    med, out = fit.mediator_model, fit.outcome_model
    point = [_basic(cf, fit, med.params[None], out.params[None], s[:1]) for cf in designs]
    drawn = [_basic(cf, fit, a, b, s) for cf in designs]
    keys = (("acme_treated", "ACME(1|covariates.1) - ACME(1|covariates.2)"),
            ("acme_control", "ACME(0|covariates.1) - ACME(0|covariates.2)"),
            ("ade_treated", "ADE(1|covariates.1) - ADE(1|covariates.2)"),
            ("ade_control", "ADE(0|covariates.1) - ADE(0|covariates.2)")) if fit.interaction else \
        (("acme_average", "ACME(covariates.1) - ACME(covariates.2)"),
         ("ade_average", "ADE(covariates.1) - ADE(covariates.2)"))
    zero = _structural_zeros(designs, med.family, out.family)
    return EffectDifferences(tuple(
        _zero_difference(label, alpha, fit.n_obs, sims) if k.split("_")[0] in zero else
        _difference(label, point[0][k][0] - point[1][k][0], drawn[0][k] - drawn[1][k], alpha, "fit", fit.n_obs)
        for k, label in keys), seed_used=seed_used)


def _structural_zeros(designs, mediator_family: str, outcome_family: str) -> set[str]:
    """Which of "acme", "ade" cannot differ between the two profiles, whatever the coefficients.

    With Gaussian mediator and outcome models and an outcome design affine in the
    mediator, X_out(t, m) = A[t] + m B[t], the effects are averages of
    ACME(t) = (X_med[1] - X_med[0]) alpha * B[t] beta and
    ADE(t') = (A[1] - A[0]) beta + X_med[t'] alpha * (B[1] - B[0]) beta.
    When those rows are identical under both profiles (the changed covariates
    interact with neither the treatment nor the mediator), the difference is zero by
    construction; computed from the two profiles' levels it would be rounding noise
    (about 1e-16, with a meaningless p-value). R's p-value rule gives an exact zero p = 1.
    """
    if mediator_family != "gaussian" or outcome_family != "gaussian" or not all(d.affine for d in designs):
        return set()
    first, second = designs

    def same(get) -> bool:
        return np.array_equal(get(first), get(second))

    zero = set()
    if same(lambda d: d.X_mediator[1] - d.X_mediator[0]) and same(lambda d: d.B[0]) and same(lambda d: d.B[1]):
        zero.add("acme")
    slope_change = same(lambda d: d.B[1] - d.B[0])
    no_interaction = not np.any(first.B[1] - first.B[0])
    if (same(lambda d: d.A[1] - d.A[0]) and slope_change
            and (no_interaction or (same(lambda d: d.X_mediator[0]) and same(lambda d: d.X_mediator[1])))):
        zero.add("ade")
    return zero


def _zero_difference(label, alpha, n_obs: int, sims: int) -> EffectDifference:
    """An exact structural zero: estimate and interval 0, p = 1 (R's rule for an estimate of exactly 0)."""
    return EffectDifference(label, 0.0, 0.0, 0.0, 1.0, alpha, "fit", n_obs=int(n_obs), n_sims=int(sims))


@dataclass(frozen=True, eq=False)
class EffectsByLevel(CopyOnRead):
    """Mediation effects per level of a moderator, an omnibus test and Holm-adjusted pairwise contrasts.

    Attributes
    ----------
    table : pandas.DataFrame
        Index (level, estimand) for ``acme_average``, ``ade_average``, ``total`` and
        ``prop_mediated_average``; columns estimate, std_error, ci_lower, ci_upper,
        p_value and n (units in the level).
    omnibus : pandas.DataFrame
        Per estimand: Wald statistic of "equal in every level" (from the draws'
        covariance of the contrasts with the first level), df and p-value.
    pairwise : pandas.DataFrame
        Every pair of levels: difference, std_error, ci, z-test p-value and its Holm adjustment
        (within each estimand).
    column : str
    seed_used : int or str
        The seed of the coefficient draws (``random_state``, or the entropy drawn for None).
    alpha : float
        Intervals are at level 1 - alpha.
    sims : int
        Coefficient draws.

    Examples
    --------
    >>> from mediationhte import load_jobs, mediate
    >>> fit = mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", data=load_jobs(),
    ...               sims=200, random_state=1)
    >>> res = fit.by("sex")
    >>> "ACME (average) | sex = 1" in str(res.summary())
    True
    >>> res.to_frame().loc[("1", "acme_average"), "n"]
    np.int64(482)
    >>> list(res.pairwise.columns)[-2:]
    ['p_value', 'p_holm']
    """

    table: pd.DataFrame = field(repr=False)
    omnibus: pd.DataFrame = field(repr=False)
    pairwise: pd.DataFrame = field(repr=False)
    column: str
    seed_used: object = None
    alpha: float = 0.05
    sims: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The per-level table (a copy)."""
        return self.table

    def summary(self) -> Summary:
        """Effects per level in the effects layout, then the omnibus tests and the pairwise contrasts as tables.

        Returns
        -------
        mediationhte.report.summary.Summary
            Effect rows are keyed ``"<level>|<estimand>"`` in ``to_frame()``.
        """
        table = self.table
        keys = [f"{level}|{estimand}" for level, estimand in table.index]
        labels = tuple((k, f"{EFFECT_LABELS.get(e, e)} | {self.column} = {level}")
                       for k, (level, e) in zip(keys, table.index))
        effects = table[["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]].set_axis(keys)
        omnibus = self.omnibus.rename(columns={"wald": "Wald", "df": "df", "p_value": "p-value"})
        omnibus.index = [EFFECT_LABELS.get(e, e) for e in omnibus.index]
        pairwise = self.pairwise.rename(columns={"difference": "Difference", "std_error": "Std. Error",
                                                 "ci_lower": "CI Lower", "ci_upper": "CI Upper",
                                                 "p_value": "p-value", "p_holm": "Holm p-value"})
        pairwise.index = [f"{EFFECT_LABELS.get(e, e)}: {c}" for e, c in pairwise.index]
        sizes = table.xs(table.index.get_level_values("estimand")[0], level="estimand")["n"]
        footer = [("Moderator", self.column), ("Units per level", ", ".join(f"{k}: {int(v)}" for k, v in
                                                                           sizes.items()))]
        if self.seed_used is not None:
            footer.append(("Seed", str(self.seed_used)))
        return Summary(effects, method="quasi-bayesian", alpha=self.alpha, n_obs=int(sizes.sum()), n_sims=self.sims,
                       p_floor=1.0 / self.sims if self.sims else None, labels=labels, footer=tuple(footer),
                       models=(StatsTable("Omnibus test of equal effects across levels (Wald)", omnibus,
                                          p_columns=("p-value",)),
                               StatsTable("Pairwise contrasts (z-tests; Holm-adjusted within each effect)", pairwise,
                                          p_columns=("p-value", "Holm p-value"))),
                       title=f"Mediation Effects by {self.column}")

    def __str__(self) -> str:
        with pd.option_context("display.width", 160, "display.max_rows", 200, "display.max_columns", 20):
            return (f"\nMediation effects by {self.column}\n\n{self.table.round(5)}\n\n"
                    f"Omnibus test of equal effects across levels\n\n{self.omnibus.round(5)}\n\n"
                    f"Pairwise contrasts (Holm-adjusted p-values)\n\n{self.pairwise.round(5)}\n")


ESTIMANDS_BY_LEVEL = ("acme_average", "ade_average", "total", "prop_mediated_average")


def effects_by(fit, values: pd.Series, column: str, bins: int, sims: int, rng, seed_used,
               alpha: float) -> EffectsByLevel:
    """Effects averaged over the units of each level (or quantile bin) of ``values`` (aligned with the fit's rows)."""
    series = pd.Series(np.asarray(values), index=fit.rows_used)
    if series.isna().any():
        raise ParameterError(f"Column {column!r} (moderator) has missing values among the rows the models used; "
                             "fill or drop them first.", parameter="column")
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) and series.nunique() > 10:
        levels = pd.qcut(series, q=bins, duplicates="drop")
    else:
        levels = series.astype("category") if not isinstance(series.dtype, pd.CategoricalDtype) else series
        levels = levels.cat.remove_unused_categories()
    cats = list(levels.cat.categories)
    if len(cats) < 2:
        raise ParameterError(f"Column {column!r} (moderator) has one level among the rows used; by() needs at least "
                             "two.", parameter="column")
    codes = levels.cat.codes.to_numpy()
    groups = (codes[:, None] == np.arange(len(cats))[None, :]).astype(float)
    a, b, s = coefficient_draws(fit.mediator_model, fit.outcome_model, sims, rng)
    med, out = fit.mediator_model, fit.outcome_model
    point = _basic(fit.counterfactual, fit, med.params[None], out.params[None], s[:1], groups)
    drawn = _basic(fit.counterfactual, fit, a, b, s, groups)
    rows, omnibus, pairs = [], [], []
    for k in ESTIMANDS_BY_LEVEL:
        est, d = point[k][0], drawn[k]
        lo, hi = percentile_interval(d, alpha)
        se = standard_error(d)
        p = simulation_pvalue(d, est)
        for j, cat in enumerate(cats):
            rows.append({"level": str(cat), "estimand": k, "estimate": est[j], "std_error": se[j],
                         "ci_lower": lo[j], "ci_upper": hi[j], "p_value": p[j], "n": int(groups[:, j].sum())})
        if k == "prop_mediated_average":
            continue
        contrast = d[:, 1:] - d[:, :1]
        c_hat = est[1:] - est[0]
        if np.max(np.abs(contrast)) <= 1e-10 * (1.0 + np.max(np.abs(d))):
            wald = 0.0   # the levels share the effect exactly (no moderation in the models): rounding only
        else:
            cov = np.atleast_2d(np.cov(contrast, rowvar=False))
            wald = float(c_hat @ np.linalg.pinv(cov) @ c_hat)
        df = len(cats) - 1
        omnibus.append({"estimand": k, "wald": wald, "df": df, "p_value": float(stats.chi2.sf(wald, df))})
        block = []
        for i, j in combinations(range(len(cats)), 2):
            diff_draws = d[:, j] - d[:, i]
            diff = est[j] - est[i]
            sd = float(np.std(diff_draws, ddof=1))
            dlo, dhi = percentile_interval(diff_draws, alpha)
            block.append({"estimand": k, "contrast": f"{cats[j]} - {cats[i]}", "difference": diff, "std_error": sd,
                          "ci_lower": float(dlo), "ci_upper": float(dhi),
                          "p_value": float(2 * stats.norm.sf(abs(diff / sd))) if sd > 0 else np.nan})
        # statsmodels' Holm equals the former hand-written step-down bit for bit (20,000 random sets, NaNs kept in
        # place); it runs gc.collect() on every call (~0.08 s each here, so by() takes ~0.3 s instead of ~0.07 s).
        adjusted = multipletests(np.array([r["p_value"] for r in block]), method="holm")[1]
        for r, h in zip(block, adjusted):
            r["p_holm"] = float(h)
        pairs += block
    table = pd.DataFrame(rows).set_index(["level", "estimand"])
    return EffectsByLevel(table=table, omnibus=pd.DataFrame(omnibus).set_index("estimand"),
                          pairwise=pd.DataFrame(pairs).set_index(["estimand", "contrast"]), column=column,
                          seed_used=seed_used, alpha=alpha, sims=sims)
