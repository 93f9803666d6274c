"""Immutable results of :func:`mediationhte.mediate` and of its bootstrap.

Results hold numbers only; every human label and all formatting live in
:mod:`mediationhte.report.summary`. Methods that compute more (``bootstrap_ci``) return
new objects and never change ``self``.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mediationhte.inference import intervals as inference
from mediationhte.core import validation as V
from mediationhte._version import __version__
from mediationhte.mediation.effects import EFFECT_KEYS, CounterfactualDesign
from mediationhte.errors import ParameterError
from mediationhte.mediation.estimation import FitData, bootstrap_draws, jackknife_draws, prepare_refits
from mediationhte.formula.parse import ModelSpec
from mediationhte.mediation.models import FittedModel
from mediationhte.subgroups.search import SubgroupSearchMixin
from mediationhte.core.immutable import readonly

_PROPORTIONS = ("prop_mediated_control", "prop_mediated_treated", "prop_mediated_average")
BOOT_METHODS = ("percentile", "bca", "bca_r")


def interval_table(estimates: dict, draws: np.ndarray, alpha: float, method: str,
                   jackknife: np.ndarray | None = None) -> pd.DataFrame:
    """Estimate, SD of the draws, interval and simulation p-value for each estimand.

    ``method`` is ``"quasi-bayesian"`` or ``"percentile"`` (percentile intervals,
    R's type-7 quantiles), ``"bca"`` (textbook BCa with jackknife acceleration) or
    ``"bca_r"`` (R mediation's variant).
    """
    est = np.array([estimates[k] for k in EFFECT_KEYS])
    if method == "bca":
        lower, upper = inference.bca_interval(draws, est, jackknife, alpha)[:2]
    elif method == "bca_r":
        lower, upper = inference.bca_interval_r(draws, alpha)
    else:
        lower, upper = inference.percentile_interval(draws, alpha)
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": inference.standard_error(draws),
            "ci_lower": np.asarray(lower, dtype=float),
            "ci_upper": np.asarray(upper, dtype=float),
            "p_value": inference.simulation_pvalue(draws, est),
        },
        index=pd.Index(EFFECT_KEYS, name="effect"),
    )


class _EffectsReport:
    """Summary/to_frame/plot shared by the quasi-Bayesian and bootstrap results."""

    def _table(self, alpha: float) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def _summary_parts(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self, alpha: float | None = None):
        """Summary in R ``summary.mediate`` layout plus both regression tables.

        Parameters
        ----------
        alpha : float, optional
            Interval level 1 - alpha; defaults to the fit's ``alpha``. Intervals are
            recomputed from the stored draws (no refitting).

        Returns
        -------
        mediationhte.report.summary.Summary
            ``str()`` gives text; also ``as_latex()``, ``as_html()``,
            ``as_markdown()`` and ``to_frame()``.

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(),
        ...               sims=100, random_state=1)
        >>> print(fit.summary().to_frame().loc["acme_average", "estimate"].round(6))
        -0.015745
        """
        from mediationhte.report.summary import Summary

        alpha = self._alpha if alpha is None else V.check_alpha(alpha)
        parts = self._summary_parts()
        return Summary(effects=self._table(alpha), alpha=alpha, **parts)

    def to_frame(self, alpha: float | None = None, style: str = "tidy") -> pd.DataFrame:
        """Effects table as a DataFrame (``style`` "tidy", "r" or "statsmodels"); see :meth:`summary`.

        The tidy table has a boolean column ``ratio_unstable``: True on the
        proportion-mediated rows when the total effect's interval covers 0 (the
        ratio's denominator may be 0, so its value and interval are unstable).

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
        >>> bool(fit.to_frame().loc["prop_mediated_average", "ratio_unstable"])
        True
        """
        frame = self.summary(alpha).to_frame(style=style)
        if style == "tidy" and "total" in frame.index:
            covers = bool(frame.loc["total", "ci_lower"] <= 0 <= frame.loc["total", "ci_upper"])
            frame["ratio_unstable"] = frame.index.str.startswith("prop_mediated") & covers
        return frame

    def plot(self, ax=None, *, alpha: float | None = None, treatment: str = "both"):
        """Dot-and-whisker plot of ACME, ADE and total effect with intervals (R's ``plot.mediate``).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        alpha : float, optional
        treatment : {"both", "control", "treated", "average"}

        Returns
        -------
        matplotlib.axes.Axes
        """
        from mediationhte.report.plots import plot_effects

        alpha = self._alpha if alpha is None else V.check_alpha(alpha)
        V.check_option("treatment", treatment, ("both", "control", "treated", "average"))
        return plot_effects(self._table(alpha), alpha=alpha, treatment=treatment, ax=ax)


@dataclass(frozen=True)
class BootstrapResults(_EffectsReport):
    """Nonparametric bootstrap intervals for the mediation estimands (returned by ``bootstrap_ci``).

    Attributes
    ----------
    estimates : pandas.Series
        Original-sample estimates (as R mediation >= 4.5 reports with ``boot=TRUE``).
    draws : pandas.DataFrame
        One row per resample (failed refits dropped).
    method : {"percentile", "bca", "bca_r"}
    n_boot, n_failed : int
    seed_used : int or str
    """

    parent: MediationResults = field(repr=False)
    method: str
    alpha: float
    n_boot: int
    n_failed: int
    seed_used: object
    _draws: np.ndarray = field(repr=False)
    _jackknife: np.ndarray | None = field(repr=False, default=None)

    @property
    def _alpha(self) -> float:
        return self.alpha

    @property
    def estimates(self) -> pd.Series:
        """Original-sample point estimates."""
        return pd.Series(self.parent.point_estimates, name="estimate").reindex(list(EFFECT_KEYS))

    @property
    def draws(self) -> pd.DataFrame:
        """Bootstrap replicates of the ten estimands (a copy)."""
        return pd.DataFrame(self._draws, columns=list(EFFECT_KEYS))

    def _table(self, alpha: float) -> pd.DataFrame:
        return interval_table(self.parent.point_estimates, self._draws, alpha, self.method, self._jackknife)

    def _summary_parts(self) -> dict:
        parts = self.parent._summary_parts()
        parts.update(method=self.method, n_sims=self.n_boot, p_floor=1.0 / max(self.n_boot - self.n_failed, 1))
        footer = [row for row in parts["footer"] if row[0] != "Seed"]
        footer.insert(0, ("Bootstrap seed", str(self.seed_used)))
        if self.n_failed:
            footer.append(("Failed resamples", f"{self.n_failed} (dropped)"))
        parts["footer"] = tuple(footer)
        return parts


@dataclass(frozen=True)
class MediationResults(SubgroupSearchMixin, _EffectsReport):
    """Results of :func:`mediationhte.mediate` (immutable).

    Attributes
    ----------
    spec : ModelSpec
        Parsed formulas and the patsy design information.
    mediator_model, outcome_model : FittedModel
        The fitted models; ``.result`` is the statsmodels result.
    point_estimates : mapping
        Deterministic estimates at the fitted coefficients.
    interaction : bool
        Whether the outcome model has a treatment x mediator interaction.
    settings : mapping
        Every argument used.
    seed_used : int or str
    rows_used, dropped_index : pandas.Index
        Labels of the rows fitted and of those dropped for missing values.
    call : str
    """

    spec: ModelSpec = field(repr=False)
    mediator_model: FittedModel = field(repr=False)
    outcome_model: FittedModel = field(repr=False)
    counterfactual: CounterfactualDesign = field(repr=False)
    fit_data: FitData = field(repr=False)
    point_estimates: dict = field(repr=False)
    qb_draws: np.ndarray = field(repr=False)
    unit_level: pd.DataFrame = field(repr=False)
    interaction: bool
    settings: dict = field(repr=False)
    seed_used: object
    rows_used: pd.Index = field(repr=False)
    dropped_index: pd.Index = field(repr=False)
    call: str

    def __post_init__(self):
        object.__setattr__(self, "qb_draws", readonly(self.qb_draws, float))
        object.__setattr__(self, "point_estimates", types.MappingProxyType(dict(self.point_estimates)))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        return f"<MediationResults: {self.call}>"

    @property
    def _alpha(self) -> float:
        return self.settings["alpha"]

    @property
    def n_obs(self) -> int:
        """Number of rows used by both models."""
        return len(self.rows_used)

    @property
    def short_form(self) -> bool:
        """R's rule: four summary rows only for a linear outcome without treatment x mediator interaction."""
        return self.outcome_model.family == "gaussian" and not self.interaction

    @property
    def estimates(self) -> pd.Series:
        """Reported point estimates (``point="original"`` or R's ``"mean_of_draws"``)."""
        return pd.Series(self._reported_estimates(), name="estimate").reindex(list(EFFECT_KEYS))

    @property
    def draws(self) -> pd.DataFrame:
        """Quasi-Bayesian draws of the ten estimands (a copy)."""
        return pd.DataFrame(self.qb_draws, columns=list(EFFECT_KEYS))

    @property
    def effects(self) -> pd.DataFrame:
        """Unit-level effects at the fitted coefficients, indexed like the rows used (a copy).

        Columns ``cie_treated`` (delta(1)), ``cie_control`` (delta(0)),
        ``cde_control`` (zeta(0)), ``cde_treated`` (zeta(1)) and ``te``; per unit
        ``te = cie_treated + cde_control = cie_control + cde_treated``.
        """
        return self.unit_level.copy()

    def _reported_estimates(self) -> dict:
        if self.settings["point"] == "original":
            return dict(self.point_estimates)
        means = np.nanmean(self.qb_draws, axis=0)
        medians = np.nanmedian(self.qb_draws, axis=0)
        out = {k: (medians[i] if k in _PROPORTIONS else means[i]) for i, k in enumerate(EFFECT_KEYS)}
        out["prop_mediated_average"] = (out["prop_mediated_control"] + out["prop_mediated_treated"]) / 2
        return out

    def _table(self, alpha: float) -> pd.DataFrame:
        return interval_table(self._reported_estimates(), self.qb_draws, alpha, "quasi-bayesian")

    def _summary_parts(self) -> dict:
        from mediationhte.report.summary import ModelTable

        s = self.settings
        footer = [("Seed", str(self.seed_used)),
                  ("Treatment contrast", f"{s['treatment']} = {s['treat_value']!r} vs {s['control_value']!r}"),
                  ("Rows dropped (missing values)", str(len(self.dropped_index))),
                  ("Coefficient covariance", s["cov_type"]),
                  ("Point estimates", "original sample" if s["point"] == "original" else "mean of draws"),
                  ("mediationhte", __version__)]
        if s["covariates"]:
            footer.insert(2, ("Covariates fixed at", ", ".join(f"{k} = {v!r}" for k, v in s["covariates"].items())))
        notes = []
        table = self._table(self._alpha)
        if table.loc["total", "ci_lower"] <= 0 <= table.loc["total", "ci_upper"]:
            notes.append("The total effect's interval covers 0, so the proportion mediated is unstable "
                         "(a ratio with a denominator near 0); interpret it with care.")
        models = tuple(
            ModelTable(
                title=(f"{'Mediator' if m.role == 'mediator' else 'Outcome'} model: {m.formula} "
                       f"({_family_label(m.family)})"),
                coefficients=m.coefficient_table(self._alpha),
                statistic_name=m.statistic_name,
                info=m.info(),
            )
            for m in (self.mediator_model, self.outcome_model)
        )
        return dict(method="quasi-bayesian", short_form=self.short_form, n_obs=self.n_obs,
                    n_sims=self.settings["sims"], p_floor=1.0 / self.settings["sims"],
                    conditional=bool(s["covariates"]), footer=tuple(footer), models=models, notes=tuple(notes))

    def _search_inputs(self):
        """Unit effects of the user's linear models, refitted on permuted or subsampled rows for the calibrations."""
        from mediationhte.mediation.effects import build_counterfactual_design, unit_effects
        from mediationhte.errors import ParameterError
        from mediationhte.mediation.estimation import point_estimates
        from mediationhte.formula.parse import _assign, counterfactual_matrices
        from mediationhte.mediation.models import fit_model
        from mediationhte.subgroups.search import SearchInputs, mediation_in_rows

        s, spec, roles = self.settings, self.spec, self.spec.roles
        if s["covariates"] is not None or s["treatment_kind"] == "continuous":
            bad = "covariates" if s["covariates"] is not None else "treat_value"
            raise ParameterError(
                f"subgroups() needs unit effects over the whole sample and a two-arm treatment; this fit was made with "
                f"{bad}={s[bad]!r}. Refit without covariates= (and with a binary treatment) to search for subgroups.",
                parameter=bad)
        frame = self.counterfactual.frame  # the rows used, untouched when covariates= is not given
        contrast = V.resolve_treatment(frame[roles.treatment], s["treat_value"], s["control_value"])
        t = (frame[roles.treatment] == contrast.treated).to_numpy().astype(int)
        y, m = np.asarray(self.fit_data.y), np.asarray(self.fit_data.m)

        def rerun(t_new, rows, rng, columns):  # linear refits are cheap: every column is computed
            # The stored DesignInfo rebuilds both designs, so factor levels and centring stay those of the fit.
            sub = frame.iloc[rows].copy()
            _assign(sub, roles.treatment, np.where(t_new == 1, contrast.treated, contrast.control))
            X_med, = counterfactual_matrices(spec.mediator_info, sub, [{}])
            X_out, = counterfactual_matrices(spec.outcome_info, sub, [{}])
            med = fit_model(m[rows], X_med, spec.mediator_terms, family=s["mediator_family"], role="mediator",
                            formula=roles.mediator_formula)
            out = fit_model(y[rows], X_out, spec.outcome_terms, family=s["outcome_family"], role="outcome",
                            formula=roles.outcome_formula)
            cf = build_counterfactual_design(spec, sub, contrast, s["mediator_family"], m[rows], None)
            return unit_effects(point_estimates(cf, med, out)[1], sub.index)

        covariates = frame.loc[:, list(roles.covariates)]
        if covariates.shape[1] == 0:
            raise ParameterError("subgroups() needs covariates in the formulas: the subgroups are described by them.",
                                 parameter="outcome_formula")
        work = covariates.assign(**{roles.treatment: t, roles.mediator: m, roles.outcome: y})

        def mediation(mask, seed, n_boot, alpha, fit_only=False):
            return mediation_in_rows(work.loc[mask], outcome=roles.outcome, mediator=roles.mediator,
                                     treatment=roles.treatment, covariates=tuple(covariates.columns),
                                     outcome_family=s["outcome_family"], mediator_family=s["mediator_family"],
                                     n_boot=n_boot, alpha=alpha, seed=seed, fit_only=fit_only)

        return SearchInputs(unit_effects=self.unit_level, covariates=covariates, treatment=t, mediator=m, outcome=y,
                            index=self.rows_used, rerun=rerun, mediation=mediation, prefer="threads")

    def sensitivity(self, rho=None, effect: str = "indirect", sims: int = 1000, alpha: float | None = None):
        """Sensitivity of the ACME (and ADE) to sequential ignorability, as R's ``medsens``, with exact crossings.

        Model pairs (as R): Gaussian mediator and outcome, Gaussian mediator with a
        probit outcome (ACME only, no interaction), probit mediator with a Gaussian
        outcome. See :mod:`mediationhte.mediation.sensitivity`.

        Parameters
        ----------
        rho : array_like, optional
            Error correlations between the mediator and outcome models (default
            -0.9, -0.8, ..., 0.9).
        effect : {"indirect", "direct", "both"}
        sims : int, default 1000
            Coefficient draws for the intervals of a probit outcome (the Gaussian case is
            deterministic: delta method).
        alpha : float, optional
            Interval level 1 - alpha (default the fit's).

        Returns
        -------
        mediationhte.mediation.sensitivity_results.SensitivityResults

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(), sims=100, random_state=1)
        >>> sens = fit.sensitivity()
        >>> round(sens.rho_at_zero(), 4), float(sens.crossings.loc["acme_average", "rho_zero_grid"])
        (-0.2735, -0.3)
        """
        from mediationhte.mediation.sensitivity import sensitivity_analysis

        V.check_option("effect", effect, ("indirect", "direct", "both"))
        V.check_positive_int("sims", sims)
        alpha = self._alpha if alpha is None else V.check_alpha(alpha)
        return sensitivity_analysis(self, np.round(np.arange(-0.9, 0.91, 0.1), 10) if rho is None else rho,
                                    effect, alpha, sims, self._draw_rng(None))

    def _draw_rng(self, random_state):
        from mediationhte.core.random_state import resolve_seed

        return resolve_seed(self.seed_used if random_state is None and isinstance(self.seed_used, int)
                            else random_state)[0]

    def test_interaction(self, alpha: float | None = None):
        """Test ACME(1) - ACME(0) = 0 from the stored draws (R's ``test.TMint``).

        Returns
        -------
        mediationhte.mediation.effect_tests.EffectDifference
            ``estimate``, ``ci_lower``, ``ci_upper``, ``p_value``; prints like R's htest.

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat * job_seek + econ_hard", "job_seek ~ treat + econ_hard",
        ...               data=load_jobs(), sims=200, random_state=1)
        >>> test = fit.test_interaction()
        >>> test.label, bool(abs(test.estimate - (fit.estimates["acme_treated"]
        ...                                       - fit.estimates["acme_control"])) < 1e-12)
        ('ACME(1) - ACME(0)', True)
        """
        from mediationhte.mediation.effect_tests import interaction_test

        return interaction_test(self, self._alpha if alpha is None else V.check_alpha(alpha))

    def test_moderation(self, covariates_1: dict, covariates_2: dict, *, sims: int | None = None,
                        random_state=None, alpha: float | None = None):
        """Differences of ACME and ADE between two covariate profiles with paired draws (R's ``test.modmed``).

        The same coefficient draws are evaluated under both profiles, so nothing is
        refitted (R runs ``mediate()`` twice with a reset seed).

        Parameters
        ----------
        covariates_1, covariates_2 : dict
            Column -> value, as ``mediate(covariates=...)``.
        sims : int, optional
            Coefficient draws (default the fit's ``sims``).
        random_state : optional
            Default: the fit's seed.

        Returns
        -------
        mediationhte.mediation.effect_tests.EffectDifferences

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat * econ_hard + job_seek * econ_hard", "job_seek ~ treat * econ_hard",
        ...               data=load_jobs(), sims=200, random_state=1)
        >>> list(fit.test_moderation({"econ_hard": 2}, {"econ_hard": 4}).to_frame().index)
        ['ACME(covariates.1) - ACME(covariates.2)', 'ADE(covariates.1) - ADE(covariates.2)']
        """
        from mediationhte.mediation.effect_tests import moderation_test

        sims = self.settings["sims"] if sims is None else V.check_positive_int("sims", sims, minimum=2)
        return moderation_test(self, covariates_1, covariates_2, sims, self._draw_rng(random_state),
                               self._alpha if alpha is None else V.check_alpha(alpha))

    def by(self, column: str, *, data: pd.DataFrame | None = None, bins: int = 4, sims: int | None = None,
           random_state=None, alpha: float | None = None):
        """ACME, ADE, total and proportion mediated per level (or quantile bin) of a moderator, with tests.

        The unit-level effects of every coefficient draw are averaged within each
        level; an omnibus Wald test asks whether the effect is the same in every
        level, and pairwise contrasts get Holm-adjusted p-values. Levels differ only
        through the models' interactions with the moderator (or with covariates
        correlated with it).

        Parameters
        ----------
        column : str
            A column of the models, or of ``data`` (the DataFrame given to ``mediate()``).
        data : pandas.DataFrame, optional
            Needed when ``column`` is not in either formula.
        bins : int, default 4
            Quantile bins for a numeric column with more than 10 distinct values.

        Returns
        -------
        mediationhte.mediation.effect_tests.EffectsByLevel

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat * sex + job_seek", "job_seek ~ treat * sex", data=load_jobs(),
        ...               sims=200, random_state=1)
        >>> res = fit.by("sex")
        >>> list(res.omnibus.index)
        ['acme_average', 'ade_average', 'total']
        """
        from mediationhte.mediation.effect_tests import effects_by

        frame = self.counterfactual.frame
        if column in frame.columns:
            values = frame[column]
        elif data is not None and column in data.columns:
            values = data.loc[self.rows_used, column]
        else:
            raise ParameterError(f"Parameter column {column!r} is not in the models; pass data= (the DataFrame given "
                                 "to mediate()) to use a column outside the formulas.", parameter="column")
        bins = V.check_positive_int("bins", bins, minimum=2)
        sims = self.settings["sims"] if sims is None else V.check_positive_int("sims", sims, minimum=2)
        return effects_by(self, values, column, bins, sims, self._draw_rng(random_state),
                          self._alpha if alpha is None else V.check_alpha(alpha))

    def bootstrap_ci(self, n_boot: int = 1000, *, method: str = "percentile", alpha: float | None = None,
                     random_state=None, n_jobs: int = 1, progress: bool = False) -> BootstrapResults:
        """Nonparametric case-bootstrap intervals, refitting both models on each resample.

        All resamples are fitted in batched linear algebra (resampling counts times
        per-row cross-products, one batched solve; batched IRLS for binary models).
        The point estimates stay the original-sample ones (R mediation >= 4.5).

        Parameters
        ----------
        n_boot : int, default 1000
        method : {"percentile", "bca", "bca_r"}
            Percentile (R's ``boot.ci.type = "perc"``), textbook BCa with jackknife
            acceleration (Efron 1987), or R mediation's BCa variant.
        alpha : float, optional
            Interval level 1 - alpha; defaults to the fit's.
        random_state : None, int or numpy.random.Generator
        n_jobs : int, default 1
            Parallel workers (threads) over fixed chunks of resamples; the numbers
            are identical for every ``n_jobs``.
        progress : bool, default False
            Show a tqdm progress bar.

        Returns
        -------
        BootstrapResults
            A new object; ``self`` is unchanged.

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(),
        ...               sims=100, random_state=1)
        >>> boot = fit.bootstrap_ci(n_boot=200, random_state=7)
        >>> boot.n_boot
        200
        """
        from mediationhte.core.random_state import resolve_seed

        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        V.check_option("method", method, BOOT_METHODS)
        alpha = self._alpha if alpha is None else V.check_alpha(alpha)
        n_jobs = V.check_n_jobs(n_jobs)
        rng, seed_used = resolve_seed(random_state)
        inputs = prepare_refits(self.fit_data, self.mediator_model, self.outcome_model)
        draws = bootstrap_draws(self.counterfactual, inputs, n_boot, rng, n_jobs=n_jobs, progress=bool(progress))
        failed = ~np.all(np.isfinite(draws[:, :5]), axis=1)
        jack = jackknife_draws(self.counterfactual, inputs) if method == "bca" else None
        return BootstrapResults(
            parent=self, method=method, alpha=alpha, n_boot=n_boot, n_failed=int(failed.sum()),
            seed_used=seed_used, _draws=readonly(draws[~failed], float),
            _jackknife=None if jack is None else readonly(jack, float),
        )


def _family_label(family: str) -> str:
    return {"gaussian": "Gaussian, OLS", "logit": "binomial, logit link", "probit": "binomial, probit link"}[family]
