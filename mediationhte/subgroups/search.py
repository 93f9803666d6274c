"""The calibrated subgroup search behind ``results.subgroups()``: steps 2-4 of the M-learner on a fitted model.

:mod:`mediationhte.subgroups.discover` runs steps 2-4 on one set of unit effects and
:mod:`mediationhte.subgroups.calibration` turns the minimum p_leaf into a valid p-value.
This module joins them to a fitted model through :class:`SearchInputs`, which
says how to recompute the unit effects on permuted data or on a subset of rows
(the permutation and split calibrations rerun step 1, so the null distribution
includes every data-driven choice), and how to estimate mediation inside a
subgroup. Each analysis' fit builds its :class:`SearchInputs` and hands it to its
results, whose ``subgroups()`` calls :func:`search`.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mediationhte.core import validation as V
from mediationhte.core.immutable import freeze_arrays
from mediationhte.core.random_state import resolve_seed, spawn_seeds
from mediationhte.core.parallel import native_thread_budget
from mediationhte.core.types import Calibration, Effect, Embedding, Profile, RandomState
from mediationhte.subgroups.calibration import (CALIBRATIONS, blp_heterogeneity, calibrate_blp, calibrate_permutation,
                                                calibrate_split, calibrate_threshold, warn_unreachable_alpha)
from mediationhte.errors import DataError, ParameterError
from mediationhte.subgroups.results import SubgroupResults
from mediationhte.subgroups.discover import EMBEDDINGS, PROFILES, discover

if TYPE_CHECKING:
    from mediationhte.inference.heterogeneity import HeterogeneityTest

__all__ = ["EFFECT_COLUMNS", "SUBGROUP_ESTIMANDS", "SearchInputs", "SubgroupSearchMixin", "search"]

#: Effect names accepted by ``subgroups(effect=...)`` and the unit-effect column each embeds. The indirect effect
#: is delta(1) (the paper's treated version) and the direct effect zeta(0), so indirect + direct = total per unit.
EFFECT_COLUMNS = {"indirect": "cie_treated", "direct": "cde_control", "total": "te"}
#: Within-subgroup mediation estimands reported per subgroup.
SUBGROUP_ESTIMANDS = ("acme_average", "ade_average", "total", "prop_mediated_average")


@dataclass(frozen=True, eq=False)
class SearchInputs:
    """What the subgroup search needs from a fitted model (rows in the order step 1 used them).

    Attributes
    ----------
    unit_effects : pandas.DataFrame
        Step-1 unit effects, one row per unit (any index; used by position).
    covariates : pandas.DataFrame
        The covariates the profiles split on (raw columns, the user's names).
    treatment : ndarray of 0/1
    mediator : ndarray or None
        None for a total-effect analysis without a mediator.
    outcome : ndarray
    index : pandas.Index
        The user's row labels.
    rerun : callable ``(treatment, rows, rng, columns) -> DataFrame``
        Step 1 refitted on the units at positions ``rows`` with the given
        treatment (already restricted to ``rows``); returns their unit effects
        with the same columns as ``unit_effects`` (only ``columns``, the ones the
        search embeds, need to be computed). All randomness from ``rng``.
    groups : ndarray or None
        Cluster ids of a cluster-randomised trial: p_leaf is then cluster-robust
        (CR2), permutations swap whole clusters' arms, and the split keeps
        clusters whole.
    prefer : {"processes", "threads"}
        How the permutations run in parallel: processes (``rerun`` must be
        picklable by cloudpickle) or threads (patsy's DesignInfo cannot be pickled).
    mediation : callable ``(mask, seed, n_boot, alpha) -> DataFrame`` or None
        Mediation within the units selected by the boolean ``mask``, with
        ``n_boot`` bootstrap resamples at level 1 - ``alpha``: a frame indexed by
        estimand with ``estimate, ci_lower, ci_upper, p_value``.
    pseudo_outcomes : pandas.DataFrame or None
        Cross-fitted pseudo-outcomes, one column per unit-effect column (the
        efficient influence function contrast whose conditional mean is that
        effect), for the BLP calibration; None if the fit has none.
    features : ndarray (n, p) or None
        Numeric covariates for the BLP proxy regressions.
    untestable : dict
        Pseudo-outcome columns whose heterogeneity is not tested, with the reason
        (the natural effects when the mediator reveals the arm: see
        :mod:`mediationhte.mlearner.overlap`); their BLP p-value is NA.
    """

    unit_effects: pd.DataFrame = field(repr=False)
    covariates: pd.DataFrame = field(repr=False)
    treatment: np.ndarray = field(repr=False)
    mediator: np.ndarray | None = field(repr=False)
    outcome: np.ndarray = field(repr=False)
    index: pd.Index = field(repr=False)
    rerun: Callable = field(repr=False)
    mediation: Callable | None = field(repr=False, default=None)
    prefer: str = "processes"
    groups: np.ndarray | None = field(repr=False, default=None)
    pseudo_outcomes: pd.DataFrame | None = field(repr=False, default=None)
    features: np.ndarray | None = field(repr=False, default=None)
    untestable: dict = field(repr=False, default_factory=dict)

    def __post_init__(self):
        freeze_arrays(self)


def _effect_columns(effect, available) -> tuple[tuple[str, ...], str]:
    """Unit-effect columns for ``effect`` (a name, a column, or a pair of them) and a label for the header."""
    names = (effect,) if isinstance(effect, str) else tuple(effect) if isinstance(effect, (tuple, list)) else ()
    valid = {**EFFECT_COLUMNS, **{c: c for c in available}}
    if not 1 <= len(names) <= 2 or any(not isinstance(e, str) or e not in valid for e in names) \
            or len(set(names)) != len(names):
        raise ParameterError(
            "Parameter effect must be one of " + ", ".join(map(repr, EFFECT_COLUMNS)) + " (or a unit-effect column: "
            + ", ".join(map(repr, available)) + f"), or a pair such as ('indirect', 'total'); got {effect!r}.",
            parameter="effect",
        )
    columns = tuple(valid[e] for e in names)
    for c in columns:
        if c not in available:
            raise ParameterError(f"Parameter effect={effect!r} needs the unit-effect column {c!r}, which this fit "
                                 f"does not have (it has {', '.join(map(repr, available))}).", parameter="effect")
    label = " and ".join(f"{e} ({valid[e]})" if e in EFFECT_COLUMNS else e for e in names)
    return columns, label


class SubgroupSearchMixin:
    """``subgroups()`` for results classes that provide ``alpha`` and ``_search_inputs() -> SearchInputs``.

    The fit builds the :class:`SearchInputs` (how to refit on permuted or
    subsampled rows) and hands it to its results, so this mixin only passes it on.
    """

    @native_thread_budget
    def subgroups(self, effect: Effect = "indirect", k: int | Iterable[int] = range(2, 6),
                  embedding: Embedding = "tsne", calibration: Calibration | None = None, n_permutations: int = 200,
                  alpha: float | None = None, p_threshold: float | None = None, profile: Profile = "smallest", *,
                  n_boot: int = 1000, random_state: RandomState = None, n_jobs: int = 1,
                  progress: bool = False) -> SubgroupResults:
        """Calibrated subgroups of heterogeneous effects: M-learner steps 2-4 on the unit effects.

        Available on ML fits (``learner="boosting"`` etc.) and on linear fits, whose
        unit effects vary only through treatment x covariate interactions in the
        formulas; the calibrations refit the user's linear models.

        Embeds the unit effects (t-SNE), clusters the embedding (K-means for every
        K), describes each clustering by a CART profile on the covariates, picks
        K* by the smallest p_leaf (F-test of leaf x treatment on the mediator for
        the indirect effect, on the outcome otherwise), and tests heterogeneity.

        The default test (``calibration="blp"``) asks whether the effect itself
        varies with the covariates (H0: the same effect for everyone, whatever
        its size): the best linear predictor test on the cross-fitted
        pseudo-outcome of the effect (:meth:`test_heterogeneity` gives it alone,
        with the GATES); the subgroups are found on one half and their effects
        compared on the other.

        Parameters
        ----------
        effect : str or pair of str, default "indirect"
            ``"indirect"`` (``cie_treated``, the paper's delta(1)), ``"direct"``
            (``cde_control``), ``"total"`` (``te``), any column of
            :attr:`effects`, or a pair such as ``("indirect", "total")``
            (standardised Euclidean distance).
        k : iterable of int, default range(2, 6)
            Numbers of K-means clusters tried.
        embedding : {"tsne", "none"}, default "tsne"
            openTSNE 2-D embedding (nearest-neighbour affinities, linear memory;
            above 50,000 units a subsample is embedded and the rest placed with
            ``transform``), or cluster the standardised effects directly.
        calibration : {"blp", "permutation", "split", "threshold"}, optional
            Default ``"blp"`` on fits with cross-fitted pseudo-outcomes (ML
            learners, ``cate()``, cluster-randomised fits); ``"permutation"`` on
            linear fits and ``estimator="plugin"``, which have none.
            ``"blp"``: the BLP test of the effect's heterogeneity (one-sided p of
            the slope on a proxy of the effect, HC3 or cluster-robust CR2); the
            proxy and the profile come from step 1 refitted on a random half
            (stratified by treatment), and the test, each subgroup's effect
            (mean pseudo-outcome, robust interval) and Welch's test of their
            equality come from the other half, which nothing before the test
            has seen.
            ``"permutation"``: rerun step 1 and the search on data sets with the
            treatment permuted; p = (1 + #{null min p_leaf <= observed}) / (1 + B).
            Its null is "no treatment effect at all", so with an effect that
            exists but is the same for everyone it is conservative.
            ``"split"``: refit step 1 and search on a random half (stratified by
            treatment), test the profile's p_leaf on the other half.
            ``"threshold"``: the paper's rule p_leaf < ``p_threshold``
            (uncalibrated).
        n_permutations : int, default 200
            B, for ``calibration="permutation"``.
        alpha : float, optional
            Heterogeneity is declared iff the calibrated p-value < alpha; default the fit's alpha.
        p_threshold : float, optional
            p* for ``calibration="threshold"`` (the paper used 0.0043).
        profile : {"smallest", "best_cv"}, default "smallest"
            The smallest Pareto-frontier CART tree (the authors' choice) or the
            one with the lowest cross-validated error.
        n_boot : int, default 1000
            Bootstrap resamples of the within-subgroup linear mediation (ACME,
            ADE, total, proportion mediated per subgroup; the mediator and outcome
            models use the covariates that vary in the subgroup). 0 skips it.
        random_state : None, int or numpy.random.Generator
        n_jobs : int, default 1
            Parallel permutations (joblib processes); results do not depend on it.
        progress : bool, default False
            tqdm bar over the permutations.

        Returns
        -------
        SubgroupResults
            ``.to_frame()`` one row per subgroup, ``.labels``, ``.p_value``,
            ``.p_leaf``, ``.k``, ``.rules``, ``.tree``; ``str()``,
            ``as_latex()``, ``as_html()``, ``.plot()``, ``.plot_effects()``.

        Examples
        --------
        >>> from mediationhte import load_jobs, mediate
        >>> fit = mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...               "job_seek ~ treat + econ_hard + sex + age", data=load_jobs(),
        ...               learner="boosting", n_folds=3, random_state=1)
        >>> sub = fit.subgroups(k=[2, 3], calibration="split", n_boot=100, random_state=2)
        >>> int(sub.to_frame()["n"].sum())
        899
        """
        alpha = self.alpha if alpha is None else alpha
        return search(self._search_inputs(), effect=effect, k=k, embedding=embedding, calibration=calibration,
                      n_permutations=n_permutations, alpha=alpha, p_threshold=p_threshold, profile=profile,
                      n_boot=n_boot, random_state=random_state, n_jobs=n_jobs, progress=progress)


    @native_thread_budget
    def test_heterogeneity(self, effect: Effect = "indirect", *, alpha: float | None = None, n_groups: int = 5,
                           random_state: RandomState = None) -> HeterogeneityTest:
        """Test whether the effect varies with the covariates: the BLP test and the GATES.

        H0: the conditional effect tau(x) is the same for every x (whatever its size;
        not "there is no effect"). The cross-fitted pseudo-outcome of the effect
        (the uncentred efficient influence function contrast, whose conditional mean
        is tau(x)) of a random half of the units (stratified by treatment) is
        regressed on an intercept and a proxy of tau learned from the other
        half (step 1 refitted on that half alone, its unit effects regressed on
        the covariates by shallow boosting); the one-sided test of the slope is
        the test of heterogeneity (HC3, or
        cluster-robust CR2 in a cluster-randomised trial). This is the global test
        behind ``subgroups(calibration="blp")``: the same ``random_state`` gives
        the same test.

        Parameters
        ----------
        effect : str, default "indirect"
            ``"indirect"``, ``"direct"``, ``"total"`` or a unit-effect column (see
            :meth:`subgroups`); cate() and cluster fits test their total effect.
        alpha : float, optional
            Level of the intervals and of the decision; default the fit's alpha.
        n_groups : int, default 5
            GATES quantile groups of the proxy.
        random_state : None, int or numpy.random.Generator
            The split, the step-1 refit on the discovery half and the proxy regression.

        Returns
        -------
        mediationhte.inference.heterogeneity.HeterogeneityTest
            ``.p_value``, ``.heterogeneous``, ``.blp``, ``.gates``, ``.gates_tests``;
            ``summary()``, ``to_frame()``, ``plot()`` (the GATES).

        Examples
        --------
        >>> import mediationhte as mh
        >>> fit = mh.mediate("depress2 ~ treat + job_seek + econ_hard + sex + age",
        ...                  "job_seek ~ treat + econ_hard + sex + age", data=mh.load_jobs(),
        ...                  learner="boosting", n_folds=3, random_state=1)
        >>> test = fit.test_heterogeneity(random_state=2)
        >>> list(test.to_frame().index)
        ['ate', 'heterogeneity']
        """
        inputs = self._search_inputs()
        if inputs.pseudo_outcomes is None or inputs.features is None:
            raise ParameterError("test_heterogeneity() needs the fit's cross-fitted pseudo-outcomes, which this fit "
                                 "does not have (a linear fit or estimator='plugin'); refit with an ML learner and "
                                 "estimator='crossfit'.", parameter="effect")
        if effect == "indirect" and inputs.mediator is None:
            effect = tuple(inputs.unit_effects.columns)[0]   # no mediator: the total effect the fit estimates
        columns, label = _effect_columns(effect, tuple(inputs.unit_effects.columns))
        if len(columns) != 1:
            raise ParameterError(f"Parameter effect must name one effect; got {effect!r}.", parameter="effect")
        alpha = V.check_alpha(self.alpha if alpha is None else alpha)
        search_seed, calibration_seed, _ = _search_seeds(random_state)[1]
        refit = _discovery_refit(inputs, columns, search_seed)
        return blp_heterogeneity(inputs.pseudo_outcomes[columns[0]].to_numpy(dtype=float), inputs.features,
                                 inputs.treatment, lambda rows: refit(rows)[0][columns[0]].to_numpy(dtype=float),
                                 effect=label, seed=calibration_seed, alpha=alpha,
                                 groups=inputs.groups,
                                 n_groups=V.check_positive_int("n_groups", n_groups, minimum=2),
                                 declined=inputs.untestable.get(columns[0], ""))


def _search_seeds(random_state) -> tuple[object, tuple[int, int, int]]:
    """(seed_used, (search, calibration, mediation) seeds) from the user's random_state."""
    rng, seed_used = resolve_seed(random_state)
    return seed_used, tuple(int(s) for s in spawn_seeds(rng, 3))


def _discovery_refit(inputs: SearchInputs, columns, search_seed: int):
    """``rows -> (unit effects of those rows from step 1 refitted on them alone, seed for the search)``.

    Memoised: the BLP calibration takes its proxy and its subgroups from the same
    refit, and ``test_heterogeneity()`` with the same ``random_state`` repeats it.
    """
    t = np.asarray(inputs.treatment)
    done = {}

    def refit(rows):
        key = np.asarray(rows).tobytes()
        if key not in done:
            local = np.random.default_rng(search_seed)
            units = inputs.rerun(t[rows], rows, local, columns)
            done[key] = (units, int(spawn_seeds(local, 1)[0]))
        return done[key]

    return refit


def _check_options(embedding, calibration, n_permutations, alpha, p_threshold, profile, n_boot):
    V.check_option("embedding", embedding, EMBEDDINGS)
    V.check_option("calibration", calibration, CALIBRATIONS)
    V.check_option("profile", profile, PROFILES)
    n_permutations = V.check_positive_int("n_permutations", n_permutations)
    alpha = V.check_alpha(alpha)
    if calibration == "threshold" and p_threshold is None:
        raise ParameterError("Parameter p_threshold is required with calibration='threshold' (the paper's rule "
                             "p_leaf < p*, e.g. p_threshold=0.0043); or use calibration='permutation' or 'split'.",
                             parameter="p_threshold")
    if calibration != "threshold" and p_threshold is not None:
        raise ParameterError(f"Parameter p_threshold is only used with calibration='threshold'; got "
                             f"calibration={calibration!r}. Drop p_threshold or set calibration='threshold'.",
                             parameter="p_threshold")
    n_boot = 0 if isinstance(n_boot, numbers.Integral) and n_boot == 0 else V.check_positive_int("n_boot", n_boot,
                                                                                                 minimum=2)
    return n_permutations, alpha, n_boot


def search(inputs: SearchInputs, *, effect: Effect = "indirect", k: int | Iterable[int] = range(2, 6),
           embedding: Embedding = "tsne", calibration: Calibration | None = None, n_permutations: int = 200,
           alpha: float = 0.05, p_threshold=None, profile: Profile = "smallest", n_boot: int = 1000,
           random_state: RandomState = None, n_jobs: int = 1, progress: bool = False) -> SubgroupResults:
    """Steps 2-4 of the M-learner with a calibrated test; see ``MLMediationResults.subgroups`` for the options.

    Seeds: ``random_state`` gives three child seeds, in this order: the search
    (t-SNE and K-means), the calibration (permutations or the split), and the
    within-subgroup bootstraps. The same ``random_state`` gives identical
    results for any ``n_jobs``.
    """
    if calibration is None:
        calibration = "permutation" if inputs.pseudo_outcomes is None else "blp"
    n_permutations, alpha, n_boot = _check_options(embedding, calibration, n_permutations, alpha, p_threshold,
                                                   profile, n_boot)
    n_jobs = V.check_n_jobs(n_jobs)
    columns, label = _effect_columns(effect, tuple(inputs.unit_effects.columns))
    seed_used, (search_seed, calibration_seed, mediation_seed) = _search_seeds(random_state)
    cov, t, y = inputs.covariates, np.asarray(inputs.treatment), np.asarray(inputs.outcome)
    # The indirect effect runs through the a-path, so K* is chosen by p_leaf on the mediator (the authors'
    # statistic); direct and total effects are chosen by p_leaf on the outcome.
    m = inputs.mediator if "cie_treated" in columns or "cie_control" in columns else None
    n = len(t)
    options = dict(k=k, embedding=embedding, profile=profile)

    groups = None if inputs.groups is None else np.asarray(inputs.groups)

    def run(units: pd.DataFrame, rows, t_rows, seed: int):
        return discover(units.loc[:, list(columns)].to_numpy(dtype=float), cov.iloc[rows], t_rows,
                        None if m is None else m[rows], y[rows], seed=seed,
                        groups=None if groups is None else groups[rows], **options)

    every = np.arange(n)
    test_rows = None
    found, refit = {}, _discovery_refit(inputs, columns, search_seed)

    def discover_on(rows):   # blp and split: the search on one half's own step-1 unit effects
        units, seed = refit(rows)
        found["fit"] = run(units, rows, t[rows], seed)
        found["rows"] = rows
        return found["fit"].profile

    if calibration in ("blp", "split"):
        if calibration == "split":
            cal = calibrate_split(discover_on, cov, t, y if m is None else m, seed=calibration_seed, alpha=alpha,
                                  groups=groups)
        elif inputs.pseudo_outcomes is None or inputs.features is None:
            raise ParameterError("Parameter calibration='blp' needs the fit's cross-fitted pseudo-outcomes, which "
                                 "this fit does not have; use calibration='permutation' or 'split'.",
                                 parameter="calibration")
        else:
            cal = calibrate_blp(inputs.pseudo_outcomes[columns[0]].to_numpy(dtype=float), inputs.features,
                                lambda rows: refit(rows)[0][columns[0]].to_numpy(dtype=float), discover_on,
                                cov, t, y if m is None else m, effect=label, seed=calibration_seed, alpha=alpha,
                                groups=groups, declined=inputs.untestable.get(columns[0], ""))
        fit = _split_fit(found["fit"], found["rows"], cov, n)
        test_rows = cal.test_rows
    else:
        fit = run(inputs.unit_effects, every, t, search_seed)
        if calibration == "permutation":
            warn_unreachable_alpha(n_permutations, alpha)

            def rerun(t_perm, seed):
                local = np.random.default_rng(seed)
                units = inputs.rerun(t_perm, every, local, columns)
                return run(units, every, t_perm, int(spawn_seeds(local, 1)[0])).p_leaf

            cal = calibrate_permutation(fit.p_leaf, rerun, t, n_permutations=n_permutations, seed=calibration_seed,
                                        alpha=alpha, n_jobs=n_jobs, progress=progress, prefer=inputs.prefer,
                                        groups=groups)
        else:
            cal = calibrate_threshold(fit.p_leaf, p_threshold)

    mediation = None
    notes = _small_subgroup_notes(cal)
    if inputs.mediation is not None and n_boot and inputs.mediator is not None:
        if test_rows is not None:
            held_out = np.zeros(n, dtype=bool)
            held_out[test_rows] = True
            notes.append("Within-subgroup mediation uses the held-out half only (honest: the subgroups were found "
                         "on the other half).")

            def mediation(mask):
                rows = mask & held_out
                if not rows.any():   # a small subgroup can fall wholly in the search half
                    raise DataError(f"all {int(mask.sum())} rows of the subgroup lie in the half that found the "
                                    "subgroups, so none is held out to estimate its mediation on")
                return inputs.mediation(rows, mediation_seed, n_boot, alpha)
        else:
            notes.append("Within-subgroup mediation is estimated on the same data that chose the subgroups, so its "
                         "intervals do not account for the search; calibration='split' gives honest ones.")

            def mediation(mask):
                return inputs.mediation(mask, mediation_seed, n_boot, alpha)
    fitter = None
    if inputs.mediation is not None and inputs.mediator is not None:
        fit_rows = np.ones(n, dtype=bool)
        if test_rows is not None:   # honest: the held-out half, as the within-subgroup mediation
            fit_rows = np.zeros(n, dtype=bool)
            fit_rows[test_rows] = True

        def fitter(mask):
            return inputs.mediation(mask & fit_rows, mediation_seed, 0, alpha, fit_only=True)
    result = SubgroupResults.build(fit, cal, treatment=t, index=inputs.index,
                                   unit_effects=inputs.unit_effects.reset_index(drop=True),
                                   subgroup_mediation=mediation, alpha=alpha, effect=label)
    settings = dict(result.fit.settings, effect=effect, calibration=calibration, n_permutations=n_permutations,
                    p_threshold=p_threshold, n_boot=n_boot, random_state=random_state
                    if not isinstance(random_state, np.random.Generator) else "Generator", seed_used=seed_used)
    return dataclasses.replace(result, fit=dataclasses.replace(result.fit, settings=settings),
                               notes=result.notes + tuple(notes), subgroup_fitter=fitter, seed_used=seed_used)


#: Held-out subgroups smaller than this make Welch's test of equal effects liberal with skewed pseudo-outcomes.
WELCH_MIN_UNITS = 50


def _small_subgroup_notes(cal) -> list[str]:
    """A caution when a subgroup compared by the held-out Welch test has fewer than WELCH_MIN_UNITS units."""
    effects = cal.subgroup_effects
    if effects is None or not np.isfinite(cal.p_subgroups):
        return []
    n = effects["n"].to_numpy(dtype=float)
    small = [str(g) for g, size in zip(effects.index, n) if np.isfinite(size) and size < WELCH_MIN_UNITS]
    if not small:
        return []
    return [f"Subgroup{'s' if len(small) > 1 else ''} {', '.join(small)} ha{'ve' if len(small) > 1 else 's'} fewer "
            f"than {WELCH_MIN_UNITS} held-out units: with skewed pseudo-outcomes the test that the subgroups' "
            "effects are equal can reject too often there (9.5-12% at alpha = 0.05 with 3-30 units per subgroup "
            "in simulations, 5-6% with 50), so read its p-value with care."]


def _split_fit(discovery_fit, rows, covariates: pd.DataFrame, n: int):
    """The discovery half's search, with every unit assigned to a leaf and the embedding NaN off that half."""
    labels = (discovery_fit.profile.tree.apply(covariates) if discovery_fit.profile is not None
              else np.zeros(n, dtype=int))
    emb = np.asarray(discovery_fit.embedding)
    full = np.full((n, emb.shape[1]), np.nan)
    full[rows] = emb
    return dataclasses.replace(discovery_fit, labels=np.asarray(labels, dtype=int), embedding=full,
                               clusters={})
