"""Several parallel mediators: joint and path-specific indirect effects for linear models.

``mediate(outcome_formula, [mediator_formula_1, mediator_formula_2, ...], data)``.
Assumption (stated in every summary): the mediators do not affect one another, so
each mediator's model has only the treatment and covariates on its right-hand side
and the outcome is linear in every mediator (treatment x mediator interactions
allowed, mediator x mediator ones not). Then, with m_j(t) = X_j[t] alpha_j and the
outcome design X_y(t, m) = A[t] + sum_j m_j B_j[t]:

* path-specific ACME_j(t) = mean((m_j(1) - m_j(0)) B_j[t] beta), switching mediator j only;
* joint ACME(t) = sum_j ACME_j(t) (all mediators switched together);
* ADE(t) = mean(mu(1, t) - mu(0, t)) and total = mean(mu(1, 1) - mu(0, 0)).

Closed forms at the fitted coefficients; quasi-Bayesian draws (each model's
coefficients from its normal approximation) give the intervals. A warning is
raised when the mediators' residuals are clearly correlated, which the "no effect
on one another" assumption makes implausible (a shared unmeasured cause or a
causal link).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.core.results import FitResults
from mediationhte.errors import AssumptionWarning, FormulaError, ParameterError, warn_at_caller
from mediationhte.formula.parse import build_spec, counterfactual_matrices, parse_roles
from mediationhte.inference.intervals import percentile_interval, simulation_pvalue, standard_error
from mediationhte.mediation.models import fit_model
from mediationhte.report.model_table import ModelTable
from mediationhte.report.plots import plot_estimates
from mediationhte.report.summary import Summary, flag_unstable_ratio

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ARMS = ("control", "treated", "average")
#: Residual correlations beyond this size with p < 0.001 trigger the warning.
CORRELATION_WARNING = 0.1


def _keys(mediators) -> list[tuple[str, str]]:
    keys = [(f"acme_joint_{a}", f"ACME joint ({a})") for a in ARMS]
    for name in mediators:
        keys += [(f"acme[{name}]_{a}", f"ACME via {name} ({a})") for a in ARMS]
    keys += [(f"ade_{a}", f"ADE ({a})") for a in ARMS]
    keys += [("total", "Total Effect"), ("prop_mediated_joint", "Prop. Mediated joint (average)")]
    keys += [(f"prop_mediated[{name}]", f"Prop. Mediated via {name} (average)") for name in mediators]
    return keys


def _outcome_pieces(spec, frame, roles_list, tvals):
    """A[t] and B_j[t] of the outcome design, with a check that it is affine in every mediator, jointly."""
    mediators = [r.mediator for r in roles_list]
    treatment = roles_list[0].treatment
    zero = {m: 0.0 for m in mediators}
    overrides = []
    for tv in tvals:
        overrides.append({treatment: tv, **zero})
        overrides += [{treatment: tv, **zero, m: 1.0} for m in mediators]
        overrides += [{treatment: tv, **zero, m: 2.5} for m in mediators]
        overrides.append({treatment: tv, **{m: 1.0 for m in mediators}})
    try:
        with np.errstate(all="ignore"):
            designs = counterfactual_matrices(spec.outcome_info, frame, overrides)
    except Exception as exc:  # patsy cannot evaluate the design at m = 0 (e.g. log(m))
        raise FormulaError(f"With several mediators the outcome formula must be linear in each mediator; it could "
                           f"not be evaluated at mediator value 0 ({exc}).") from exc
    k = len(mediators)
    A, B = [], []
    for arm in range(len(tvals)):
        block = designs[arm * (2 * k + 2):(arm + 1) * (2 * k + 2)]
        a = block[0]
        slopes = [block[1 + j] - a for j in range(k)]
        ok = all(np.allclose(block[1 + k + j], a + 2.5 * slopes[j], rtol=1e-9, atol=1e-9) for j in range(k))
        ok = ok and np.allclose(block[-1], a + sum(slopes), rtol=1e-9, atol=1e-9)
        if not ok:
            raise FormulaError("With several mediators the outcome formula must be linear in each mediator and "
                               "contain no mediator x mediator terms (the mediators are assumed not to affect one "
                               "another); remove squares, splines or products of mediators.")
        A.append(a)
        B.append(slopes)
    return A, B


def _effects(Xm, A, B, alphas, beta) -> dict:
    """The estimands for S coefficient sets: alphas[j] (S, p_j), beta (S, p_y) -> dict of (S,) arrays."""
    k = len(alphas)
    m = [[Xm[j][t] @ alphas[j].T for t in (0, 1)] for j in range(k)]           # (n, S)
    out = {}
    for t, arm in enumerate(ARMS[:2]):
        for j in range(k):
            out[(j, arm)] = ((m[j][1] - m[j][0]) * (B[t][j] @ beta.T)).mean(axis=0)

    def mu(t, tp):
        return A[t] @ beta.T + sum(m[j][tp] * (B[t][j] @ beta.T) for j in range(k))

    ade = {arm: (mu(1, t) - mu(0, t)).mean(axis=0) for t, arm in enumerate(ARMS[:2])}
    total = (mu(1, 1) - mu(0, 0)).mean(axis=0)
    return {"paths": out, "ade": ade, "total": total}


def _flatten(raw, mediators) -> dict:
    k = len(mediators)
    flat = {}
    for arm in ARMS[:2]:
        flat[f"acme_joint_{arm}"] = sum(raw["paths"][(j, arm)] for j in range(k))
        for j, name in enumerate(mediators):
            flat[f"acme[{name}]_{arm}"] = raw["paths"][(j, arm)]
        flat[f"ade_{arm}"] = raw["ade"][arm]
    for prefix in ["acme_joint", "ade"] + [f"acme[{n}]" for n in mediators]:
        flat[f"{prefix}_average"] = (flat[f"{prefix}_control"] + flat[f"{prefix}_treated"]) / 2
    flat["total"] = raw["total"]
    with np.errstate(divide="ignore", invalid="ignore"):
        flat["prop_mediated_joint"] = flat["acme_joint_average"] / flat["total"]
        for name in mediators:
            flat[f"prop_mediated[{name}]"] = flat[f"acme[{name}]_average"] / flat["total"]
    return flat


@dataclass(frozen=True, eq=False)
class ParallelMediationResults(FitResults):
    """Joint and path-specific effects of several parallel mediators (immutable; frames returned as copies).

    Attributes
    ----------
    table : pandas.DataFrame
        Index: the estimand keys (``acme_joint_average``, ``acme[<mediator>]_average``,
        ``ade_average``, ``total``, ...); columns estimate, std_error, ci_lower, ci_upper, p_value.
    residual_correlation : pandas.DataFrame
        Correlation matrix of the mediator models' residuals.
    mediators : tuple of str
    mediator_models : tuple of FittedModel
    outcome_model : FittedModel
    n_obs, sims : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from mediationhte import mediate
    >>> rng = np.random.default_rng(0)
    >>> t = rng.integers(0, 2, 500).astype(float)
    >>> d = pd.DataFrame({"t": t, "m1": 0.5 * t + rng.normal(size=500), "m2": -0.4 * t + rng.normal(size=500)})
    >>> d["y"] = 0.3 * t + 0.6 * d["m1"] + 0.5 * d["m2"] + rng.normal(size=500)
    >>> fit = mediate("y ~ t + m1 + m2", ["m1 ~ t", "m2 ~ t"], d, sims=200, random_state=1)
    >>> est = fit.estimates
    >>> bool(abs(est["acme_joint_average"] - est["acme[m1]_average"] - est["acme[m2]_average"]) < 1e-12)
    True
    >>> "ratio_unstable" in fit.to_frame().columns
    True
    """

    table: pd.DataFrame = field(repr=False)
    draws: pd.DataFrame = field(repr=False)
    residual_correlation: pd.DataFrame = field(repr=False)
    mediators: tuple
    mediator_models: tuple = field(repr=False)
    outcome_model: object = field(repr=False)
    sims: int
    labels: tuple = field(repr=False, default=())
    interaction: bool = False

    @property
    def estimates(self) -> pd.Series:
        """Point estimates (closed form at the fitted coefficients)."""
        return self.table["estimate"]

    def _table(self, alpha: float) -> pd.DataFrame:
        """The effects at level 1 - alpha: the stored table, or percentile intervals recomputed from the draws."""
        if alpha == self.alpha:
            return self.table
        table, draws = self.table, self.draws
        for key in table.index:
            lo, hi = percentile_interval(draws[key].to_numpy(), alpha)
            table.loc[key, ["ci_lower", "ci_upper"]] = float(lo), float(hi)
        return table

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """The effects table (a copy), with ``ratio_unstable`` on the proportions when the total's CI covers 0.

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha (default the fit's); intervals are recomputed from the stored draws.
        """
        return flag_unstable_ratio(self._table(self.alpha if alpha is None else V.check_alpha(alpha)))

    def summary(self, alpha: float | None = None) -> Summary:
        """The package's Summary layout (text, LaTeX, HTML, markdown), with the stated assumption.

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha (default the fit's); intervals are recomputed from the stored draws.

        Returns
        -------
        mediationhte.report.summary.Summary
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        notes = ["Parallel mediators: each path-specific ACME assumes the mediators do not affect one another; the "
                 "joint ACME is their sum."]
        t = self._table(alpha)
        if t.loc["total", "ci_lower"] <= 0 <= t.loc["total", "ci_upper"]:
            notes.append("The total effect's interval covers 0, so the proportions mediated are unstable.")
        models = tuple(ModelTable(title=f"{'Mediator' if m.role == 'mediator' else 'Outcome'} model: {m.formula}",
                                  coefficients=m.coefficient_table(alpha), statistic_name=m.statistic_name,
                                  info=m.info()) for m in (*self.mediator_models, self.outcome_model))
        return Summary(t.loc[self._keys(), ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]],
                       method="quasi-bayesian", short_form=False, alpha=alpha, n_obs=self.n_obs,
                       n_sims=self.sims, p_floor=1.0 / self.sims, labels=self.labels, models=models, notes=tuple(notes),
                       footer=(("Seed", str(self.seed_used)),),
                       title="Causal Mediation Analysis (parallel mediators)")

    def _keys(self) -> list[str]:
        """The reported rows: per arm only with a treatment x mediator interaction, else the averages."""
        return [k for k, _ in self.labels if self.interaction or not k.endswith(("_control", "_treated"))]

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None) -> Axes:
        """Dot-and-whisker plot of the reported effects (joint and path-specific ACME, ADE, total) with intervals.

        The proportions mediated are left out (another scale).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Axes to draw on; a new figure is made if None.
        alpha : float, optional
            Interval level 1 - alpha (default the fit's).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np, pandas as pd
        >>> from mediationhte import mediate
        >>> rng = np.random.default_rng(0)
        >>> t = rng.integers(0, 2, 300).astype(float)
        >>> d = pd.DataFrame({"t": t, "m1": 0.5 * t + rng.normal(size=300), "m2": -0.4 * t + rng.normal(size=300)})
        >>> d["y"] = 0.3 * t + 0.6 * d["m1"] + 0.5 * d["m2"] + rng.normal(size=300)
        >>> fit = mediate("y ~ t + m1 + m2", ["m1 ~ t", "m2 ~ t"], d, sims=100, random_state=1)
        >>> [label.get_text() for label in fit.plot().get_yticklabels()][:2]
        ['ACME joint (average)', 'ACME via m1 (average)']
        """
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        keys = [k for k in self._keys() if not k.startswith("prop_mediated")]
        names = dict(self.labels)
        return plot_estimates(self._table(alpha).loc[keys], labels=[names[k] for k in keys], alpha=alpha, ax=ax)


def mediate_parallel(outcome_formula: str, mediator_formulas, data: pd.DataFrame, *, treatment, treat_value,
                     control_value, outcome_family, mediator_family, cov_type, sims, alpha, rng, seed_used,
                     eval_env):
    """Fit the models of :func:`mediationhte.mediate` with a list of mediator formulas (see the module docstring)."""
    formulas = list(mediator_formulas)
    if len(formulas) < 2 or not all(isinstance(f, str) for f in formulas):
        raise ParameterError("Parameter mediator_formula as a list needs two or more formula strings (one per "
                             "mediator); pass one string for a single mediator.", parameter="mediator_formula")
    if outcome_family != "gaussian" or mediator_family != "gaussian":
        raise ParameterError("Several mediators are supported for Gaussian mediator and outcome models (closed "
                             f"form); got outcome_family={outcome_family!r}, mediator_family={mediator_family!r}.",
                             parameter="outcome_family" if outcome_family != "gaussian" else "mediator_family")
    roles_list = [parse_roles(outcome_formula, f, data, treatment) for f in formulas]
    treatment = roles_list[0].treatment
    mediators = [r.mediator for r in roles_list]
    if len(set(mediators)) < len(mediators) or any(r.treatment != treatment for r in roles_list):
        raise ParameterError(f"Parameter mediator_formula: the formulas must have different mediators and the same "
                             f"treatment; got mediators {mediators}.", parameter="mediator_formula")
    for r in roles_list:
        others = [m for m in mediators if m != r.mediator and m in r.mediator_columns]
        if others:
            raise FormulaError(f"The mediator formula {r.mediator_formula!r} has the mediator(s) {others} on its "
                               "right-hand side; parallel mediators must not affect one another (a sequential "
                               "chain of mediators is not supported).")
    used = list(dict.fromkeys(c for r in roles_list for c in (*r.outcome_columns, *r.mediator_columns)))
    frame, dropped = V.drop_incomplete_rows(data, used)
    V.check_finite(frame, {c: "covariate" for c in used})
    contrast = V.resolve_treatment(frame[treatment], treat_value, control_value)
    tvals = (contrast.control, contrast.treated)
    specs = [build_spec(r, frame, eval_env) for r in roles_list]
    outcome = fit_model(specs[0][1]["y"], specs[0][1]["X_outcome"], specs[0][0].outcome_terms, family="gaussian",
                        role="outcome", formula=outcome_formula, cov_type=cov_type)
    models = tuple(fit_model(arr["m"], arr["X_mediator"], spec.mediator_terms, family="gaussian", role="mediator",
                             formula=r.mediator_formula, cov_type=cov_type)
                   for (spec, arr), r in zip(specs, roles_list))
    Xm = [tuple(counterfactual_matrices(spec.mediator_info, frame, [{treatment: tv} for tv in tvals]))
          for spec, _ in specs]
    A, B = _outcome_pieces(specs[0][0], frame, roles_list, tvals)
    B = [[B[t][j] for j in range(len(mediators))] for t in (0, 1)]

    resid = np.column_stack([arr["m"] - arr["X_mediator"] @ mdl.params for (_, arr), mdl in zip(specs, models)])
    corr = np.corrcoef(resid, rowvar=False)
    n = len(frame)
    for i in range(len(mediators)):
        for j in range(i + 1, len(mediators)):
            r = corr[i, j]
            z = np.arctanh(np.clip(r, -0.999999, 0.999999)) * np.sqrt(max(n - 3, 1))
            if abs(r) > CORRELATION_WARNING and 2 * stats.norm.sf(abs(z)) < 1e-3:
                warn_at_caller(f"The residuals of mediators {mediators[i]!r} and {mediators[j]!r} are correlated "
                              f"(r = {r:.2f}); the path-specific effects assume the mediators do not affect one "
                              "another and share no unmeasured cause, which this makes doubtful. The joint ACME "
                              "does not need that assumption's second half.", AssumptionWarning)

    point = _flatten(_effects(Xm, A, B, [m.params[None] for m in models], outcome.params[None]), mediators)
    alphas = [rng.multivariate_normal(m.params, m.cov, size=sims, method="eigh") for m in models]
    beta = rng.multivariate_normal(outcome.params, outcome.cov, size=sims, method="eigh")
    drawn = _flatten(_effects(Xm, A, B, alphas, beta), mediators)
    keys = _keys(mediators)
    rows = {}
    for key, _ in keys:
        d = np.asarray(drawn[key])
        est = float(point[key][0])
        lo, hi = percentile_interval(d, alpha)
        rows[key] = {"estimate": est, "std_error": float(standard_error(d)), "ci_lower": float(lo),
                     "ci_upper": float(hi), "p_value": float(simulation_pvalue(d, est))}
    table = pd.DataFrame(rows).T
    return ParallelMediationResults(
        table=table, draws=pd.DataFrame({k: np.asarray(drawn[k]) for k, _ in keys}),
        residual_correlation=pd.DataFrame(corr, index=mediators, columns=mediators), mediators=tuple(mediators),
        mediator_models=models, outcome_model=outcome, sims=sims, labels=tuple(keys),
        interaction=any(not np.allclose(B[0][j], B[1][j]) for j in range(len(mediators))),
        roles=tuple(roles_list), contrast=contrast, rows_used=frame.index, dropped_index=dropped, alpha=alpha,
        seed_used=seed_used, call=f"mediate({outcome_formula!r}, {formulas!r}, data=<DataFrame "
                                  f"{data.shape[0]}x{data.shape[1]}>, sims={sims}, alpha={alpha})")

