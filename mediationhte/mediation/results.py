"""Immutable results of :func:`mediationhte.mediate` (the linear, R-parity path).

Results hold numbers; every human label and all formatting live in
:mod:`mediationhte.report`. Methods that compute more (``bootstrap_ci``,
``sensitivity``, the effect-difference tests, ``subgroups``) hand the stored fit
to the estimation modules and return new objects; ``self`` never changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mediationhte._version import __version__
from mediationhte.core import validation as V
from mediationhte.core.immutable import readonly
from mediationhte.core.random_state import resolve_seed
from mediationhte.core.results import FitResults
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import Arm, BootMethod, FrameStyle, RandomState, SensitivityEffect
from mediationhte.errors import ParameterError
from mediationhte.formula.parse import ModelSpec
from mediationhte.inference.bootstrap_results import BOOT_METHODS, BootstrapResults
from mediationhte.inference.intervals import interval_table
from mediationhte.mediation.bootstrap import case_bootstrap
from mediationhte.mediation.effect_tests import effects_by, interaction_test, moderation_test
from mediationhte.mediation.effects import CounterfactualDesign
from mediationhte.mediation.estimation import FitData
from mediationhte.mediation.models import FittedModel
from mediationhte.mediation.sensitivity import sensitivity_analysis
from mediationhte.report.model_table import ModelTable
from mediationhte.report.plots import plot_effects
from mediationhte.report.summary import flag_unstable_ratio, EFFECT_KEYS, Summary
from mediationhte.subgroups.search import SearchInputs, SubgroupSearchMixin

if TYPE_CHECKING:
    from mediationhte.mediation.effect_tests import EffectDifference, EffectDifferences, EffectsByLevel
    from mediationhte.mediation.sensitivity_results import SensitivityResults
    from matplotlib.axes import Axes

_PROPORTIONS = ("prop_mediated_control", "prop_mediated_treated", "prop_mediated_average")


class MediationReport:
    """``summary``, ``to_frame`` and ``plot`` of the mediation estimands (linear and ML fits)."""

    def _table(self, alpha: float) -> pd.DataFrame:  # pragma: no cover - abstract
        raise NotImplementedError

    def _summary_parts(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self, alpha: float | None = None) -> Summary:
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
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        parts = self._summary_parts()
        return Summary(effects=self._table(alpha), alpha=alpha, **parts)

    def to_frame(self, alpha: float | None = None, style: FrameStyle = "tidy") -> pd.DataFrame:
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
        return flag_unstable_ratio(frame) if style == "tidy" else frame

    def plot(self, ax: Axes | None = None, *, alpha: float | None = None, treatment: Arm = "both") -> Axes:
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
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        V.check_option("treatment", treatment, ("both", "control", "treated", "average"))
        return plot_effects(self._table(alpha), alpha=alpha, treatment=treatment, ax=ax)


@dataclass(frozen=True, eq=False)
class MediationResults(FitResults, SubgroupSearchMixin, MediationReport):
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
    roles, contrast, rows_used, dropped_index, alpha, seed_used, call
        As every fit (:class:`~mediationhte.core.results.FitResults`).
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
    search_inputs: SearchInputs | None = field(repr=False, default=None)

    def __post_init__(self):
        object.__setattr__(self, "qb_draws", readonly(self.qb_draws, float))
        object.__setattr__(self, "point_estimates", types.MappingProxyType(dict(self.point_estimates)))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))

    def __repr__(self) -> str:
        return f"<MediationResults: {self.call}>"

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
        return self.unit_level

    def _reported_estimates(self) -> dict:
        if self.settings["point"] == "original":
            return dict(self.point_estimates)
        means = np.nanmean(self.qb_draws, axis=0)
        medians = np.nanmedian(self.qb_draws, axis=0)
        out = {k: (medians[i] if k in _PROPORTIONS else means[i]) for i, k in enumerate(EFFECT_KEYS)}
        out["prop_mediated_average"] = (out["prop_mediated_control"] + out["prop_mediated_treated"]) / 2
        return out

    def _table(self, alpha: float) -> pd.DataFrame:
        estimates = pd.Series(self._reported_estimates()).reindex(list(EFFECT_KEYS)).rename_axis("effect")
        return interval_table(estimates, self.qb_draws, alpha, "quasi-bayesian")

    def _summary_parts(self) -> dict:
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
        table = self._table(self.alpha)
        if table.loc["total", "ci_lower"] <= 0 <= table.loc["total", "ci_upper"]:
            notes.append("The total effect's interval covers 0, so the proportion mediated is unstable "
                         "(a ratio with a denominator near 0); interpret it with care.")
        models = tuple(
            ModelTable(
                title=(f"{'Mediator' if m.role == 'mediator' else 'Outcome'} model: {m.formula} "
                       f"({_family_label(m.family)})"),
                coefficients=m.coefficient_table(self.alpha),
                statistic_name=m.statistic_name,
                info=m.info(),
            )
            for m in (self.mediator_model, self.outcome_model)
        )
        return dict(method="quasi-bayesian", short_form=self.short_form, n_obs=self.n_obs,
                    n_sims=self.settings["sims"], p_floor=1.0 / self.settings["sims"],
                    conditional=bool(s["covariates"]), footer=tuple(footer), models=models, notes=tuple(notes))

    def _search_inputs(self) -> SearchInputs:
        if self.search_inputs is not None:
            return self.search_inputs
        s = self.settings
        if s["covariates"] is not None or s["treatment_kind"] == "continuous":
            bad = "covariates" if s["covariates"] is not None else "treat_value"
            raise ParameterError(
                f"subgroups() needs unit effects over the whole sample and a two-arm treatment; this fit was made with "
                f"{bad}={s[bad]!r}. Refit without covariates= (and with a binary treatment) to search for subgroups.",
                parameter=bad)
        raise ParameterError("subgroups() needs covariates in the formulas: the subgroups are described by them.",
                             parameter="outcome_formula")

    @native_thread_budget
    def sensitivity(self, rho: Sequence[float] | np.ndarray | None = None, effect: SensitivityEffect = "indirect",
                    sims: int = 1000, alpha: float | None = None, *,
                    random_state: RandomState = None) -> SensitivityResults:
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
        random_state : None, int or numpy.random.Generator
            Seeds the coefficient draws of a probit outcome (None: fresh entropy,
            recorded in ``seed_used`` of the result).

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
        V.check_option("effect", effect, ("indirect", "direct", "both"))
        V.check_positive_int("sims", sims)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        rng, seed_used = resolve_seed(random_state)
        return sensitivity_analysis(self, np.round(np.arange(-0.9, 0.91, 0.1), 10) if rho is None else rho,
                                    effect, alpha, sims, rng, seed_used)

    def test_interaction(self, alpha: float | None = None) -> EffectDifference:
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
        return interaction_test(self, self.alpha if alpha is None else V.check_alpha(alpha))

    @native_thread_budget
    def test_moderation(self, covariates_1: dict, covariates_2: dict, *, sims: int | None = None,
                        random_state: RandomState = None, alpha: float | None = None) -> EffectDifferences:
        """Differences of ACME and ADE between two covariate profiles with paired draws (R's ``test.modmed``).

        The same coefficient draws are evaluated under both profiles, so nothing is
        refitted (R runs ``mediate()`` twice with a reset seed).

        Parameters
        ----------
        covariates_1, covariates_2 : dict
            Column -> value, as ``mediate(covariates=...)``.
        sims : int, optional
            Coefficient draws (default the fit's ``sims``).
        random_state : None, int or numpy.random.Generator
            Seeds the coefficient draws (None: fresh entropy, recorded in ``seed_used``).

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
        sims = self.settings["sims"] if sims is None else V.check_positive_int("sims", sims, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return moderation_test(self, covariates_1, covariates_2, sims, *resolve_seed(random_state), alpha)

    @native_thread_budget
    def by(self, column: str, *, data: pd.DataFrame | None = None, bins: int = 4, sims: int | None = None,
           random_state: RandomState = None, alpha: float | None = None) -> EffectsByLevel:
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
        frame = self.counterfactual.frame
        if column in frame.columns:
            values = frame[column]
        elif data is not None:
            values = V.column_for_rows(data, column, self.rows_used)
        else:
            raise ParameterError(f"Parameter column {column!r} is not in the models; pass data= (the DataFrame given "
                                 "to mediate()) to use a column outside the formulas.", parameter="column")
        bins = V.check_positive_int("bins", bins, minimum=2)
        sims = self.settings["sims"] if sims is None else V.check_positive_int("sims", sims, minimum=2)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return effects_by(self, values, column, bins, sims, *resolve_seed(random_state), alpha)

    @native_thread_budget
    def bootstrap_ci(self, n_boot: int = 1000, *, method: BootMethod = "percentile", alpha: float | None = None,
                     random_state: RandomState = None, n_jobs: int = 1, progress: bool = False) -> BootstrapResults:
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
        n_boot = V.check_positive_int("n_boot", n_boot, minimum=2)
        V.check_option("method", method, BOOT_METHODS)
        alpha = self.alpha if alpha is None else V.check_alpha(alpha)
        return case_bootstrap(self, n_boot=n_boot, method=method, alpha=alpha, random_state=random_state,
                              n_jobs=V.check_n_jobs(n_jobs), progress=bool(progress), report=self._summary_parts())


def _family_label(family: str) -> str:
    return {"gaussian": "Gaussian, OLS", "logit": "binomial, logit link", "probit": "binomial, probit link"}[family]
