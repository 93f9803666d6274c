"""Type I error control for the subgroup search: permutation, sample splitting, or the paper's fixed threshold.

The minimum p_leaf of :func:`mediationhte.subgroups.discover.discover` is not a p-value:
the same data estimate the effects, form the clusters, grow and choose the tree
and pick K. Declaring heterogeneity when it is below 0.05 rejects far too often
under the null. The authors compared it with a threshold p* taken from one
simulated null scenario, which does not carry over to real data. Three modes
are offered:

* ``"permutation"`` (:func:`calibrate_permutation`): rerun the whole pipeline
  on data sets whose treatment is randomly permuted (which breaks every
  treatment effect, heterogeneous or not) and report the share of null minimum
  p_leaf values at or below the observed one. Valid under a randomised
  treatment, whatever the learners do; costs B reruns.
* ``"split"`` (:func:`calibrate_split`): discover the profile on a random half
  (stratified by treatment) and test it with p_leaf on the other half, where
  it was not chosen. Honest and fast; less powerful (half the data each).
* ``"threshold"`` (:func:`calibrate_threshold`): the paper's rule, p_leaf < p*.
  No calibration; the Type I error is whatever p* gives on these data.
* ``"blp"`` (:func:`calibrate_blp`, the default): the null is "the effect does
  not vary with X", not "there is no effect". One random half (stratified by
  treatment) discovers: step 1 is refitted on it alone, the profile is searched
  on those unit effects and their regression on the covariates is the proxy. The
  other half tests: the best linear predictor test of
  :func:`mediationhte.inference.heterogeneity.calibration_test` on the
  cross-fitted pseudo-outcome of the effect itself (so heterogeneity in the
  mediator -> outcome path counts), and the found subgroups' effects (mean
  pseudo-outcome per subgroup). Costs one step-1 fit on half the units, one small
  regression and a search on half the units.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import delayed

from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead, readonly
from mediationhte.core.parallel import run_replicates
from mediationhte.core.random_state import check_seed, spawn_seeds
from mediationhte.errors import AssumptionWarning, ParameterError, warn_at_caller
from mediationhte.inference.heterogeneity import HeterogeneityTest, calibration_test, declined_test, group_effects
from mediationhte.subgroups.cluster_tests import permute_clusters, split_clusters
from mediationhte.subgroups.discover import Profile, check_arms, leaf_pvalue

__all__ = [
    "CALIBRATIONS",
    "Calibration",
    "blp_heterogeneity",
    "calibrate_blp",
    "calibrate_permutation",
    "calibrate_split",
    "calibrate_threshold",
    "split_rows",
]

CALIBRATIONS = ("blp", "permutation", "split", "threshold")



@dataclass(frozen=True, eq=False)
class Calibration(CopyOnRead):
    """Outcome of one calibration mode (immutable; arrays read-only).

    Attributes
    ----------
    method : {"blp", "permutation", "split", "threshold"}
    p_value : float
        The calibrated p-value: the BLP test's p-value (blp), the permutation
        p-value, the held-out p_leaf (split), or the uncalibrated p_leaf itself
        (threshold).
    p_leaf : float
        The p_leaf: the observed minimum p_leaf on the full sample (permutation,
        threshold) or the held-out p_leaf (split, blp).
    threshold : float
        What ``p_value`` is compared with: ``alpha``, or the user's
        ``p_threshold`` in threshold mode.
    null_p : ndarray or None
        Permutation mode: the B null minimum p_leaf values, in permutation order.
    discovery_rows, test_rows : ndarray or None
        Split mode: row positions of the two halves.
    profile : Profile or None
        Split and blp modes: the profile discovered on the first half.
    seed : int or None
    heterogeneity : HeterogeneityTest or None
        BLP mode: the BLP test and the GATES.
    subgroup_effects : pandas.DataFrame or None
        BLP mode: per subgroup (1..L) on the held-out half, ``n, estimate, std_error,
        ci_lower, ci_upper`` of the mean pseudo-outcome.
    p_subgroups : float
        BLP mode: Wald test that the subgroups' effects are equal, on the held-out half.
    """

    method: str
    p_value: float
    p_leaf: float
    threshold: float
    null_p: np.ndarray | None = field(default=None, repr=False)
    discovery_rows: np.ndarray | None = field(default=None, repr=False)
    test_rows: np.ndarray | None = field(default=None, repr=False)
    profile: Profile | None = field(default=None, repr=False)
    seed: int | None = None
    heterogeneity: HeterogeneityTest | None = field(default=None, repr=False)
    subgroup_effects: pd.DataFrame | None = field(default=None, repr=False)
    p_subgroups: float = float("nan")

    def __post_init__(self):
        object.__setattr__(self, "null_p", readonly(self.null_p, float))
        object.__setattr__(self, "discovery_rows", readonly(self.discovery_rows, np.int64))
        object.__setattr__(self, "test_rows", readonly(self.test_rows, np.int64))

    @property
    def heterogeneous(self) -> bool:
        """True iff ``p_value < threshold``: heterogeneity is declared."""
        return bool(self.p_value < self.threshold)

    @property
    def n_permutations(self) -> int | None:
        """Number of permutations (permutation mode), else None."""
        return None if self.null_p is None else len(self.null_p)

    @property
    def p_floor(self) -> float | None:
        """Smallest attainable permutation p-value, 1 / (B + 1); None in the other modes."""
        return None if self.null_p is None else 1.0 / (len(self.null_p) + 1)

    def describe(self) -> str:
        """One line naming the calibration, for the printed tables."""
        if self.method == "permutation":
            return (f"permutation of the treatment ({self.n_permutations} permutations; "
                    "p = (1 + #{null min p_leaf <= observed}) / (1 + B))")
        if self.method == "blp":
            return (f"best linear predictor of the {self.heterogeneity.effect} pseudo-outcome (H0: the effect "
                    f"does not vary with the covariates); proxy and subgroups learned on {len(self.discovery_rows)} "
                    f"units, tested on the other {len(self.test_rows)}")
        if self.method == "split":
            return (f"sample splitting (profile found on {len(self.discovery_rows)} units, "
                    f"p_leaf on the other {len(self.test_rows)})")
        return f"none (p_leaf compared with the fixed threshold p* = {self.threshold:g}, the paper's rule)"


def permute_treatment(treatment, seed: int) -> np.ndarray:
    """A uniformly random permutation of ``treatment`` (arm sizes preserved), from ``seed``."""
    return np.random.default_rng(seed).permutation(np.asarray(treatment))


def _one_permutation(rerun, treatment, perm_seed: int, run_seed: int, groups=None) -> float:
    if groups is None:
        permuted = permute_treatment(treatment, perm_seed)
    else:
        permuted = permute_clusters(treatment, groups, perm_seed)
    p = float(rerun(permuted, run_seed))
    return p if np.isfinite(p) else 1.0


def calibrate_permutation(observed_min_p: float, rerun: Callable[[np.ndarray, int], float], treatment, *,
                          n_permutations: int = 200, seed: int, alpha: float = 0.05, n_jobs: int = 1,
                          progress: bool = False, prefer: str = "threads", groups=None) -> Calibration:
    """Permutation calibration of the minimum p_leaf.

    Parameters
    ----------
    observed_min_p : float
        The minimum p_leaf on the observed data (NaN counts as 1).
    rerun : callable ``(permuted_treatment, seed) -> float``
        Reruns the whole pipeline (step-1 effects, then steps 2-4) with the
        treatment replaced by ``permuted_treatment`` (a 0/1 array) and returns
        its minimum p_leaf; ``seed`` (an int) must drive all of its randomness.
        Return 1.0 (or NaN) when no subgroup profile is found.
    treatment : array_like of 0/1
    n_permutations : int, default 200
        B. The smallest attainable p-value is 1 / (B + 1).
    seed : int
        Parent seed. Two child seeds per permutation (the permutation, the
        rerun) are drawn from it in a fixed order before anything runs, so the
        result is identical for every ``n_jobs``.
    alpha : float, default 0.05
        Heterogeneity is declared iff the calibrated p-value < alpha.
    n_jobs : int, default 1
        joblib workers. With a Dask or Ray joblib backend active
        (``with joblib.parallel_backend("dask"): ...``) they spread over a cluster.
    progress : bool, default False
        Show a tqdm bar.
    prefer : {"threads", "processes"}, default "threads"
        joblib's ``prefer``; processes need a picklable ``rerun`` (loky uses
        cloudpickle, so closures work) and avoid the GIL.
    groups : array_like, optional
        Cluster ids of a cluster-randomised trial: whole clusters swap arms.

    Returns
    -------
    Calibration
        ``p_value = (1 + #{b: null_b <= observed}) / (1 + B)``, valid (its
        rejection rate under the null is at most alpha) when the treatment was
        randomised with fixed arm sizes, as every null data set is then as
        likely as the observed one.
    """
    t = check_arms(treatment, len(np.asarray(treatment)))
    n_permutations = V.check_positive_int("n_permutations", n_permutations)
    alpha = V.check_alpha(alpha)
    n_jobs = V.check_n_jobs(n_jobs)
    V.check_option("prefer", prefer, ("threads", "processes"))
    if not callable(rerun):
        raise ParameterError(f"Parameter rerun must be callable; got {type(rerun).__name__}.", parameter="rerun")
    observed = float(observed_min_p)
    observed = observed if np.isfinite(observed) else 1.0
    seeds = spawn_seeds(np.random.default_rng(check_seed(seed)), 2 * n_permutations).reshape(-1, 2)
    tasks = (delayed(_one_permutation)(rerun, t, int(a), int(b), groups) for a, b in seeds)
    null = np.array(run_replicates(tasks, total=n_permutations, n_jobs=n_jobs, progress=progress,
                                   desc="permutations", prefer=prefer), dtype=float)
    p = (1.0 + np.sum(null <= observed)) / (1.0 + n_permutations)
    return Calibration("permutation", float(p), observed, alpha, null_p=null, seed=int(seed))


def warn_unreachable_alpha(n_permutations: int, alpha: float) -> None:
    """Warn when B permutations cannot give p < alpha (the smallest p-value is 1 / (B + 1))."""
    floor = 1.0 / (n_permutations + 1)
    if floor >= alpha:
        warn_at_caller(
            f"Parameter n_permutations={n_permutations}: the smallest attainable permutation p-value is "
            f"1/(B + 1) = {floor:.3g} >= alpha = {alpha:g}, so heterogeneity can never be declared. Use "
            f"n_permutations >= {int(np.ceil(1 / alpha))} (200 or more for a stable p-value).",
            AssumptionWarning)


def _blp_seeds(seed: int) -> tuple[int, int, int]:
    """(reserved, proxy regression, split) seeds of the BLP calibration."""
    return tuple(int(s) for s in spawn_seeds(np.random.default_rng(check_seed(seed)), 3))


def blp_split(treatment, seed: int, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """(discovery rows, held-out rows) of the BLP calibration: halves stratified by arm, or whole clusters."""
    split_seed = _blp_seeds(seed)[2]
    if groups is None:
        return split_rows(treatment, split_seed)
    return split_clusters(treatment, groups, split_seed, 0.5)


def blp_heterogeneity(pseudo, features, treatment, refit_effects: Callable[[np.ndarray], np.ndarray], *,
                      effect: str, seed: int, alpha: float = 0.05, groups=None, n_groups: int = 5,
                      declined: str = "") -> HeterogeneityTest:
    """The BLP test on the held-out half, the proxy learned on the discovery half (both drawn from ``seed``).

    ``refit_effects(rows)`` returns the unit effects of the discovery ``rows`` from
    step 1 refitted on those rows alone; their regression on ``features`` is the
    proxy of the held-out half (:func:`mediationhte.inference.heterogeneity.effect_proxy`).
    ``declined`` (a reason) returns the untested result instead: p = NA, the reason
    as its note, and nothing is refitted.
    """
    t = np.asarray(treatment)
    discovery, held = blp_split(t, seed, groups)
    if declined:
        return declined_test(effect, alpha=alpha, n_obs=len(held), n_groups=n_groups, reason=declined,
                             cov_type="HC3" if groups is None else "CR2")
    train = np.zeros(len(t), dtype=bool)
    train[discovery] = True
    return calibration_test(pseudo, features, train, effect=effect, seed=_blp_seeds(seed)[1], clusters=groups,
                            alpha=alpha, n_groups=n_groups, unit_effects=refit_effects(discovery.copy()))


def calibrate_blp(pseudo, features, refit_effects: Callable[[np.ndarray], np.ndarray],
                  discover_on: Callable[[np.ndarray], Profile | None], covariates: pd.DataFrame,
                  treatment, response, *, effect: str, seed: int, alpha: float = 0.05,
                  groups=None, declined: str = "") -> Calibration:
    """The BLP test of heterogeneity of the effect itself, and the subgroups' effects on a held-out half.

    Parameters
    ----------
    pseudo : array_like (n,)
        Cross-fitted pseudo-outcomes of the effect searched (E[Gamma_i | X_i] = tau(X_i)).
    features : array_like (n, p)
        Numeric covariates for the proxy regression.
    refit_effects : callable ``(rows) -> ndarray``
        The unit effects of the effect tested for the given rows, from step 1
        refitted on those rows alone (the proxy is their regression on ``features``).
    discover_on : callable ``(rows) -> Profile or None``
        The search (embedding, clustering, CART) on the unit effects of the given
        rows, from the same refit: nothing it uses has seen the held-out half.
    covariates : pandas.DataFrame
        All n rows (the profile assigns the held-out rows to leaves).
    treatment : array_like of 0/1
    response : array_like
        The mediator (or the outcome): the a-path p_leaf on the held-out half, kept as an extra.
    effect : str
        Label of the effect.
    seed : int
        Seed of the proxy regression and the split.
    alpha : float, default 0.05
    groups : array_like, optional
        Cluster ids: cluster-robust (CR2) tests, whole clusters in halves.
    declined : str, optional
        Why the pseudo-outcomes cannot be tested (see :func:`blp_heterogeneity`): the
        subgroups are still searched and their a-path p_leaf computed, but the BLP
        and subgroup-effect p-values are NA.

    Returns
    -------
    Calibration
        ``p_value`` is the BLP test's one-sided p-value; ``subgroup_effects``
        and ``p_subgroups`` compare the found subgroups' effects on the half that
        did not choose them.
    """
    n = len(covariates)
    t = check_arms(treatment, n)
    alpha = V.check_alpha(alpha)
    gamma = np.asarray(pseudo, dtype=float)
    groups = None if groups is None else np.asarray(groups)
    test = blp_heterogeneity(gamma, features, t, refit_effects, effect=effect, seed=seed, alpha=alpha,
                             groups=groups, declined=declined)
    discovery, held = blp_split(t, seed, groups)
    profile = discover_on(discovery.copy())
    effects, p_groups, p_leaf = None, (np.nan if declined else 1.0), 1.0
    if profile is not None:
        leaf = np.asarray(profile.tree.apply(covariates.iloc[held]))
        g_held = None if groups is None else groups[held]
        if not declined:
            effects, p_groups = group_effects(gamma[held], leaf, clusters=g_held, alpha=alpha)
            effects = effects.reindex(range(len(profile.rules)))
            effects.index = pd.Index(np.arange(1, len(profile.rules) + 1), name="subgroup")
            p_groups = float(p_groups) if np.isfinite(p_groups) else 1.0
        p_leaf = leaf_pvalue(leaf, t[held], np.asarray(response, dtype=float)[held], g_held)
        p_leaf = float(p_leaf) if np.isfinite(p_leaf) else 1.0
    return Calibration("blp", test.p_value, p_leaf, alpha, discovery_rows=discovery, test_rows=held,
                       profile=profile, seed=int(seed), heterogeneity=test, subgroup_effects=effects,
                       p_subgroups=p_groups)


def split_rows(treatment, seed: int, fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Random split of the row positions, stratified by treatment: (discovery rows, test rows), each sorted.

    Each arm contributes ``round(fraction * arm size)`` rows to the discovery half.
    """
    t = np.asarray(treatment)
    rng = np.random.default_rng(check_seed(seed))
    discovery = []
    for arm in (0, 1):  # fixed order: the same seed gives the same split
        rows = np.flatnonzero(t == arm)
        discovery.append(rng.choice(rows, size=int(round(fraction * len(rows))), replace=False))
    discovery = np.sort(np.concatenate(discovery))
    return discovery, np.setdiff1d(np.arange(len(t)), discovery)


def calibrate_split(discover_on: Callable[[np.ndarray], Profile | None], covariates: pd.DataFrame, treatment,
                    response, *, seed: int, alpha: float = 0.05, fraction: float = 0.5,
                    groups=None) -> Calibration:
    """Sample-splitting calibration: discover on one half, test the profile on the other.

    Parameters
    ----------
    discover_on : callable ``(rows) -> Profile or None``
        Runs steps 1-4 on the given row positions only and returns the chosen
        profile (None if none). For honesty, *everything* it fits, including the
        step-1 nuisance models, must use those rows alone.
    covariates : pandas.DataFrame
        All n rows; the profile's tree assigns the held-out rows to leaves.
    treatment : array_like of 0/1
    response : array_like
        The mediator (or the outcome when there is none): p_leaf is computed on
        it, on the held-out rows only.
    seed : int
        Seed of the split.
    alpha : float, default 0.05
    fraction : float, default 0.5
        Share of each arm used for discovery.
    groups : array_like, optional
        Cluster ids of a cluster-randomised trial: whole clusters are split, and
        the held-out p_leaf is cluster-robust.

    Returns
    -------
    Calibration
        ``p_value = p_leaf`` of the discovered profile on the held-out rows
        (1.0 when no profile was found or the held-out rows leave no test).
        The profile was chosen without these rows, so this is an ordinary F-test
        p-value for one pre-specified partition.
    """
    V.check_dataframe(covariates)
    n = len(covariates)
    t = check_arms(treatment, n)
    y = np.asarray(response, dtype=float)
    if y.shape != (n,):
        raise ParameterError(f"Parameter response must have {n} values; got shape {y.shape}.",
                             parameter="response")
    alpha = V.check_alpha(alpha)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0.1 <= fraction <= 0.9:
        raise ParameterError(f"Parameter fraction must be a number between 0.1 and 0.9; got {fraction!r}.",
                             parameter="fraction")
    if groups is None:
        discovery, test = split_rows(t, seed, fraction)
    else:
        groups = np.asarray(groups)
        discovery, test = split_clusters(t, groups, seed, fraction)
    profile = discover_on(discovery.copy())
    p = np.nan
    if profile is not None:
        leaf = profile.tree.apply(covariates.iloc[test])
        p = leaf_pvalue(leaf, t[test], y[test], None if groups is None else groups[test])
    p = float(p) if np.isfinite(p) else 1.0
    return Calibration("split", p, p, alpha, discovery_rows=discovery, test_rows=test, profile=profile,
                       seed=int(seed))


def calibrate_threshold(p_leaf: float, p_threshold: float) -> Calibration:
    """The paper's rule: declare heterogeneity iff p_leaf < ``p_threshold``. No calibration is done.

    The authors took p* as a quantile of p_leaf over replicates of one
    simulated null (0.0043 and 0.0152 in their code); on other data its Type I
    error is unknown.
    """
    if isinstance(p_threshold, bool) or not isinstance(p_threshold, numbers.Real) or not 0 < p_threshold < 1:
        raise ParameterError(f"Parameter p_threshold must be a number strictly between 0 and 1 (declare "
                             f"heterogeneity iff p_leaf < p_threshold); got {p_threshold!r}.",
                             parameter="p_threshold")
    p_threshold = float(p_threshold)
    p = float(p_leaf)
    p = p if np.isfinite(p) else 1.0
    return Calibration("threshold", p, p, p_threshold)
