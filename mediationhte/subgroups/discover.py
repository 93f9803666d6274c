"""M-learner steps 2-4: embed the unit-level effects, cluster them, profile the clusters with CART, test p_leaf.

Given unit-level effects from step 1 (a scalar such as the conditional indirect
effect, or a pair such as CIE and TE), :func:`discover` runs the authors'
pipeline (arXiv 2505.17917, steps 2-4):

1. :func:`embed_effects`: a 2-D t-SNE embedding of the effects (openTSNE,
   nearest-neighbour affinities, linear memory), or the standardised effects
   themselves (``method="none"``);
2. :func:`cluster_embedding`: K-means for every K;
3. :func:`fit_profile`: for every K, the rpart grid of CART trees predicting the
   cluster labels from the covariates, reduced to the smallest tree of the
   Pareto frontier (leaves vs cross-validated error);
4. :func:`leaf_pvalue`: the F-test of the leaf x treatment interaction on the
   mediator (and on the outcome); K* minimises it.

The minimum over K is not a valid p-value (the same data choose the clusters,
the tree and K); :mod:`mediationhte.subgroups.calibration` turns it into one.

References
----------
.. [1] M-learner: heterogeneous mediation analysis with machine learning.
   arXiv:2505.17917.
.. [2] Breiman, L., Friedman, J., Olshen, R. and Stone, C. (1984). *Classification
   and Regression Trees*. Wadsworth (cost-complexity pruning, chapter 3).
.. [3] Policar, P. G., Strazar, M. and Zupan, B. (2024). openTSNE: a modular
   Python library for t-SNE dimensionality reduction and embedding. *Journal of
   Statistical Software* 109(3).
"""

from __future__ import annotations

import numbers
import types
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from mediationhte.core import validation as V
from mediationhte.core.immutable import CopyOnRead, readonly
from mediationhte.core.random_state import check_seed, spawn_seeds
from mediationhte.errors import DataError, ParameterError
from mediationhte.subgroups.cart import CP_GRID, Encoding, PrunedTree, leaf_rules, rpart_candidates
from mediationhte.subgroups.cluster_tests import cluster_leaf_pvalue

__all__ = [
    "CP_GRID",
    "Profile",
    "PrunedTree",
    "SubgroupFit",
    "cluster_embedding",
    "discover",
    "embed_effects",
    "fit_profile",
    "leaf_pvalue",
]

EMBEDDINGS = ("tsne", "none")
PROFILES = ("smallest", "best_cv")
INITIALIZATIONS = ("random", "spectral")
MAX_EMBED = 50_000


def _effects_matrix(effects) -> np.ndarray:
    """Effects as a finite float array (n, d) with d = 1 (scalar effect) or 2 (a pair)."""
    x = np.asarray(effects, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] not in (1, 2) or x.shape[0] < 4:
        raise ParameterError(
            "Parameter effects must be an array of shape (n,) (one effect per unit) or (n, 2) (a pair such as "
            f"CIE and TE) with n >= 4; got shape {np.shape(effects)}.",
            parameter="effects",
        )
    if not np.all(np.isfinite(x)):
        raise DataError(
            f"Parameter effects has {int((~np.isfinite(x)).sum())} non-finite value(s); step 1 must give a finite "
            "effect for every unit.",
        )
    return x


def _standardise(x: np.ndarray) -> np.ndarray:
    """Centre each column and divide by its SD (constant columns stay at 0)."""
    constant = np.ptp(x, axis=0) == 0
    sd = np.where(constant, 1.0, x.std(axis=0, ddof=1))
    out = (x - x.mean(axis=0)) / sd
    out[:, constant] = 0.0
    return out


def embed_effects(effects, *, method: str = "tsne", seed: int, perplexity: float = 30.0, n_iter: int = 500,
                  initialization: str = "random", max_embed: int = MAX_EMBED) -> np.ndarray:
    """Step 2-3a: embed the unit-level effects in 2-D with t-SNE, or return them standardised.

    Parameters
    ----------
    effects : array_like, shape (n,) or (n, 2)
        A scalar effect per unit, or a pair; each column is standardised
        (centred, divided by its SD), so a pair is compared on a common scale.
    method : {"tsne", "none"}, default "tsne"
        ``"none"`` returns the standardised effects (shape (n, d)) for
        clustering the effects directly.
    seed : int
        Seed of openTSNE's random initialisation and of the subsample.
    perplexity : float, default 30
        Rtsne's default, as in the paper; lowered to (n - 1) / 3 for small n.
    n_iter : int, default 500
        Iterations after the 250 early-exaggeration ones (openTSNE's default).
        The paper's Rtsne ``max_iter = 2000`` counts those 250, so
        ``n_iter=1750`` reproduces its length.
    initialization : {"random", "spectral"}, default "random"
        Random N(0, 1e-4) coordinates (as Rtsne) or the spectral embedding of
        the affinity graph. PCA initialisation is not offered: it fails on 1-D
        input.
    max_embed : int, default 50000
        Above this many units, t-SNE is fitted on a random subsample of
        ``max_embed`` units and the others are placed into that embedding with
        openTSNE's ``TSNEEmbedding.transform`` (their own nearest neighbours
        among the subsample, perplexity 5, 250 iterations, the subsample's
        positions fixed), in chunks of ``max_embed`` rows.

    Returns
    -------
    numpy.ndarray
        Shape (n, 2) for t-SNE, (n, d) for ``"none"``.

    Notes
    -----
    The paper's distance between units is the squared difference
    ``(tau_i - tau_j)**2`` of the scalar effect, fed to exact Rtsne. openTSNE's
    Gaussian affinities are ``exp(-beta_i * ||x_i - x_j||**2)`` of the Euclidean
    distance, which on the (n, 1) effect column *is* that squared difference,
    so no distance matrix is built. (Rtsne squares a precomputed distance matrix
    once more, giving a kernel in ``(tau_i - tau_j)**4``; the neighbour ranking,
    and hence the perplexity calibration, is the same.) Affinities use each
    unit's ``3 * perplexity`` nearest neighbours, found exactly with a KD-tree
    (the input has one or two dimensions), so memory is O(n) and no n x n matrix
    exists at any n; exact t-SNE (Rtsne's ``theta = 0``) would need one.
    The gradient uses Barnes-Hut below 10,000 units and FFT interpolation
    above (openTSNE's rule). openTSNE runs single-threaded, so results are
    identical for a given ``seed`` on any machine load.
    """
    V.check_option("method", method, EMBEDDINGS)
    V.check_option("initialization", initialization, INITIALIZATIONS)
    seed = check_seed(seed)
    n_iter = V.check_positive_int("n_iter", n_iter)
    max_embed = V.check_positive_int("max_embed", max_embed, minimum=100)
    if isinstance(perplexity, bool) or not isinstance(perplexity, numbers.Real) or not perplexity > 0:
        raise ParameterError(f"Parameter perplexity must be a positive number; got {perplexity!r}.",
                             parameter="perplexity")
    x = _standardise(_effects_matrix(effects))
    if method == "none":
        return x
    n = x.shape[0]
    if np.all(x == 0.0):  # every unit has the same effect: there is nothing to embed
        return np.zeros((n, 2))
    from openTSNE import TSNE

    fit_rows = np.arange(n)
    if n > max_embed:
        fit_rows = np.sort(np.random.default_rng([seed, 1]).choice(n, size=max_embed, replace=False))
    tsne = TSNE(n_components=2, perplexity=min(float(perplexity), (len(fit_rows) - 1) / 3.0), n_iter=n_iter,
                initialization=initialization, neighbors="exact", n_jobs=1, random_state=seed)
    emb = tsne.fit(x[fit_rows])
    if len(fit_rows) == n:
        return np.asarray(emb, dtype=float)
    out = np.empty((n, 2))
    out[fit_rows] = np.asarray(emb)
    rest = np.setdiff1d(np.arange(n), fit_rows)
    for start in range(0, len(rest), max_embed):
        chunk = rest[start:start + max_embed]
        out[chunk] = np.asarray(emb.transform(x[chunk]))
    return out


def cluster_embedding(embedding, k_values: Iterable[int], seed: int) -> dict[int, np.ndarray]:
    """Step 3b: K-means on the embedding for every K (``n_init=10``; one child seed per K, in the order given).

    Returns
    -------
    dict
        K -> cluster label (0..K-1) of every unit. When the embedding has fewer
        distinct points than K, K-means returns fewer clusters (sklearn's
        warning about it is silenced: the CART step handles any number of labels).
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    z = np.asarray(embedding, dtype=float)
    z = z[:, None] if z.ndim == 1 else z
    ks = _check_k(k_values, z.shape[0])
    seeds = spawn_seeds(np.random.default_rng(check_seed(seed)), len(ks))
    out = {}
    # One thread: K-means on 1-2 columns is cheap, OpenMP threads spin-wait for minutes when the cores are busy
    # (parallel permutations), and a fixed thread count keeps the labels identical for every n_jobs.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # Raised when the points have fewer distinct values than K (e.g. a step-1 effect that takes a handful
        # of values); the fewer clusters found are the right answer then.
        warnings.filterwarnings("ignore", message="Number of distinct clusters", category=ConvergenceWarning)
        for kk, s in zip(ks, seeds):
            out[kk] = KMeans(n_clusters=kk, n_init=10, random_state=int(s)).fit_predict(z)
    return out


def _check_k(k_values, n: int) -> tuple[int, ...]:
    try:
        ks = tuple(k_values) if not isinstance(k_values, numbers.Integral) else (k_values,)
    except TypeError:
        ks = None
    if not ks or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 2 <= v <= n for v in ks) \
            or len(set(ks)) != len(ks):
        raise ParameterError(
            f"Parameter k must be distinct integers between 2 and the number of units ({n}), e.g. range(2, 6); "
            f"got {k_values!r}.",
            parameter="k",
        )
    return tuple(int(v) for v in ks)


# ---------------------------------------------------------------------------------------------- step 4
@dataclass(frozen=True, eq=False)
class Profile(CopyOnRead):
    """The subgroup profile for one clustering: a pruned CART tree and its leaves.

    Attributes
    ----------
    tree : PrunedTree
    leaf : ndarray of int
        Leaf (0..L-1, left to right in the tree) of every unit (read-only).
    rules : tuple of str
        Rule text of each leaf, e.g. ``"econ_hard > 3.17 and age <= 41.5"``.
    split_variables : tuple of str
        Covariates the tree splits on, in the covariates' column order.
    cv_error : float
        10-fold cross-validated misclassification error relative to the root
        node's (rpart's ``xerror``).
    n_leaves : int
    criterion : str
    min_samples_split : int
    cp : float
        The grid's ``cp`` of the fit that produced this tree.
    frontier : pandas.DataFrame
        The Pareto frontier (columns ``n_leaves, cv_error, criterion,
        min_samples_split, cp``), smallest tree first.
    """

    tree: PrunedTree = field(repr=False)
    leaf: np.ndarray = field(repr=False)
    rules: tuple
    split_variables: tuple
    cv_error: float
    n_leaves: int
    criterion: str
    min_samples_split: int
    cp: float
    frontier: pd.DataFrame = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "leaf", readonly(self.leaf))


def fit_profile(labels, covariates: pd.DataFrame, *, profile: str = "smallest", seed: int = 1234,
                n_folds: int = 10, max_rows: int | None = 100_000) -> Profile | None:
    """Step 4a: the authors' CART grid predicting cluster labels from covariates, reduced to one tree.

    Parameters
    ----------
    labels : array_like, shape (n,)
        Cluster label of every unit.
    covariates : pandas.DataFrame
        n rows of pre-treatment covariates; numeric columns are split on
        directly, others (object, string, category, bool) one-hot encoded with
        one dummy per level. No missing values.
    profile : {"smallest", "best_cv"}, default "smallest"
        The smallest Pareto-frontier tree (the authors' choice) or the one with
        the lowest cross-validated error (the largest frontier tree).
    seed : int, default 1234
        Seed of the cross-validation folds and of sklearn's tie-breaking
        (the authors' ``set.seed(1234)``).
    n_folds : int, default 10
        rpart's ``xval``.
    max_rows : int or None, default 100000
        Above this many units the grid is fitted on a random subsample of
        ``max_rows`` units (leaves hold at least 3% of the units, so the trees
        barely change) and every unit is then assigned to a leaf.

    Returns
    -------
    Profile or None
        None when no fit of the grid gives a tree with at least 2 leaves.

    Notes
    -----
    The grid is the one the authors tune with rpart: criterion Gini or information
    (entropy); ``minsplit`` 10%, 15% or 20% of n with ``minbucket =
    round(minsplit / 3)`` (sklearn's ``min_samples_split`` and
    ``min_samples_leaf``); ``maxdepth = 30``; 16 values of ``cp``; 10-fold CV.

    *Pruning follows rpart, not sklearn's* ``ccp_alpha``: rpart's cost-complexity
    uses the misclassification risk R(T) (misclassified units), sklearn's uses
    the Gini/entropy impurity, so their sequences differ (a split whose children
    share the parent's majority class is free for rpart and pruned first). Each
    grown tree gets its weakest-link sequence alpha_1 < ... < alpha_m on R(T);
    rpart's relative ``cp`` maps to ``alpha = cp * R(root)``. A ``cp`` keeps the
    subtrees optimal for some alpha >= cp * R(root) (rpart never grows the rest).
    The 10 fold trees, grown with the same settings, are pruned at the geometric
    mean of each subtree's alpha interval (rpart's ``xval``) and scored on their
    held-out fold; the subtree with the smallest error (the smallest one on ties,
    ``which.min``) is kept. As the folds are the same for every fit (rpart
    draws new ones per fit), the 16 cp values only truncate the sequence, so
    the grid costs 6 x 11 tree fits, not 96 x 11.

    Then, as the authors: trees with fewer than 2 leaves are dropped, trees with
    the same leaf partition count once, and the Pareto frontier is formed (for
    each leaf count the lowest error; a larger tree survives only with a
    strictly lower error than every smaller survivor).
    """
    V.check_option("profile", profile, PROFILES)
    seed = check_seed(seed)
    n_folds = V.check_positive_int("n_folds", n_folds, minimum=2)
    V.check_dataframe(covariates)
    y = np.asarray(labels)
    n = len(covariates)
    if y.shape != (n,):
        raise ParameterError(f"Parameter labels must have one entry per row of covariates ({n}); got shape "
                             f"{y.shape}.", parameter="labels")
    if len(np.unique(y)) < 2:
        return None
    encoding = Encoding.fit(covariates)
    X = encoding.transform(covariates)
    rows = np.arange(n)
    if max_rows is not None and n > V.check_positive_int("max_rows", max_rows, minimum=100):
        rows = np.sort(np.random.default_rng([seed, 2]).choice(n, size=max_rows, replace=False))
    found = rpart_candidates(X[rows], y[rows], X, seed=seed, n_folds=n_folds)
    if not found:
        return None
    best_per_size: dict[int, dict] = {}
    for cand in found:  # lowest CV error per leaf count; ties keep the first fit in grid order
        kept = best_per_size.get(cand["n_leaves"])
        if kept is None or cand["cv_error"] < kept["cv_error"]:
            best_per_size[cand["n_leaves"]] = cand
    frontier = []
    for size in sorted(best_per_size):
        if not frontier or best_per_size[size]["cv_error"] < frontier[-1]["cv_error"]:
            frontier.append(best_per_size[size])
    chosen = frontier[0] if profile == "smallest" else frontier[-1]
    full, alpha, node_leaf, nodes, leaf = chosen["_tree"]
    rules, split_vars = leaf_rules(full, nodes, alpha, encoding, covariates)
    table = pd.DataFrame([{k: v for k, v in c.items() if k != "_tree"} for c in frontier])
    return Profile(
        tree=PrunedTree(full, alpha, nodes, encoding, node_leaf), leaf=leaf, rules=rules,
        split_variables=split_vars, cv_error=chosen["cv_error"], n_leaves=chosen["n_leaves"],
        criterion=chosen["criterion"], min_samples_split=chosen["min_samples_split"], cp=chosen["cp"],
        frontier=table,
    )


def leaf_pvalue(leaf, treatment, response, groups=None) -> float:
    """Step 4b: F-test p-value of the leaf x treatment interaction (p_leaf).

    With ``groups`` (cluster ids of a cluster-randomised trial) the test is the
    CR2 cluster-robust Wald test of :func:`mediationhte.subgroups.cluster_tests.cluster_leaf_pvalue`.

    Compares the OLS fits ``response ~ leaf + T + leaf:T`` (a separate intercept
    and treatment slope per leaf) and ``response ~ leaf + T`` (one common
    slope), as R's ``anova(reduced, full)``. Both have closed forms, so this is
    O(n) and fast enough for permutation loops.

    Parameters
    ----------
    leaf : array_like, shape (n,)
        Leaf (any labels) of every unit.
    treatment : array_like, shape (n,)
        0/1 treatment.
    response : array_like, shape (n,)
        The mediator (p_leaf,M) or the outcome (p_leaf,Y).

    Returns
    -------
    float
        The p-value on ``(L' - 1, n - L - L')`` degrees of freedom, where L'
        counts the leaves holding both arms (a leaf with one arm has no slope,
        as R drops the aliased term). NaN when fewer than two leaves hold both
        arms or no residual degrees of freedom remain; 0 when the full model
        fits exactly but the reduced one does not.

    Notes
    -----
    With per-leaf centred values, ``S_xx,l``, ``S_xy,l``, the leaf slopes
    ``b_l = S_xy,l / S_xx,l`` and their pooled value
    ``b = sum S_xy,l / sum S_xx,l``: ``RSS_reduced - RSS_full =
    sum_l S_xx,l (b_l - b)**2`` and ``RSS_full = sum (y_c - b_l t_c)**2``,
    computed in these forms to avoid cancellation.
    """
    if groups is not None:
        return cluster_leaf_pvalue(leaf, treatment, response, groups)
    _, codes = np.unique(np.asarray(leaf), return_inverse=True)
    t = np.asarray(treatment, dtype=float)
    y = np.asarray(response, dtype=float)
    n = len(codes)
    if t.shape != (n,) or y.shape != (n,):
        raise ParameterError(f"Parameters leaf, treatment and response must have the same length; got {n}, "
                             f"{t.shape[0] if t.ndim else 0} and {y.shape[0] if y.ndim else 0}.",
                             parameter="response")
    n_leaves = int(codes.max()) + 1
    count = np.bincount(codes, minlength=n_leaves)
    tc = t - (np.bincount(codes, t, n_leaves) / count)[codes]
    yc = y - (np.bincount(codes, y, n_leaves) / count)[codes]
    sxx = np.bincount(codes, tc * tc, n_leaves)
    sxy = np.bincount(codes, tc * yc, n_leaves)
    both = sxx > 1e-12 * count
    df1 = int(both.sum()) - 1
    df2 = n - n_leaves - int(both.sum())
    if df1 < 1 or df2 < 1:
        return float("nan")
    slope = np.zeros(n_leaves)
    slope[both] = sxy[both] / sxx[both]
    pooled = sxy[both].sum() / sxx[both].sum()
    extra = float(np.sum(sxx[both] * (slope[both] - pooled) ** 2))
    rss_full = float(np.sum((yc - slope[codes] * tc) ** 2))
    if rss_full <= 1e-300:
        return 0.0 if extra > 0 else float("nan")
    return float(stats.f.sf((extra / df1) / (rss_full / df2), df1, df2))


# ---------------------------------------------------------------------------------------------- pipeline
@dataclass(frozen=True, eq=False)
class SubgroupFit(CopyOnRead):
    """Result of :func:`discover` (immutable; arrays read-only, frames returned as copies).

    Attributes
    ----------
    k : int or None
        K*, the K whose profile has the smallest p_leaf (None if no K gave a tree).
    labels : ndarray of int
        Leaf (0..L-1) of every unit under the chosen profile (all 0 without one).
    p_leaf : float
        The minimum p_leaf over K (1.0 when no K gave a tree): on the mediator,
        or on the outcome when there is no mediator. Not a valid p-value by
        itself; see :mod:`mediationhte.subgroups.calibration`.
    response : {"mediator", "outcome"}
        Which p_leaf chose K*.
    profile : Profile or None
        The chosen profile.
    embedding : ndarray
        The t-SNE embedding (n, 2) or the standardised effects (n, d).
    k_table : pandas.DataFrame
        One row per K: ``k, n_leaves, p_leaf_m, p_leaf_y, cv_error``.
    profiles : mapping
        K -> Profile or None.
    clusters : mapping
        K -> K-means labels.
    settings : mapping
        ``embedding, perplexity, n_iter, initialization, profile, seed, cart_seed``.
    """

    k: int | None
    labels: np.ndarray = field(repr=False)
    p_leaf: float
    response: str
    profile: Profile | None = field(repr=False)
    embedding: np.ndarray = field(repr=False)
    k_table: pd.DataFrame = field(repr=False)
    profiles: Mapping = field(repr=False)
    clusters: Mapping = field(repr=False)
    settings: Mapping = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "labels", readonly(self.labels))
        object.__setattr__(self, "embedding", readonly(self.embedding))
        object.__setattr__(self, "profiles", types.MappingProxyType(dict(self.profiles)))
        object.__setattr__(self, "clusters", types.MappingProxyType({k: readonly(v) for k, v in
                                                                      self.clusters.items()}))
        object.__setattr__(self, "settings", types.MappingProxyType(dict(self.settings)))


def check_arms(treatment, n: int, name: str = "treatment") -> np.ndarray:
    """Treatment as an int 0/1 array of length n with both arms present."""
    t = np.asarray(treatment)
    if t.shape != (n,):
        raise ParameterError(f"Parameter {name} must have one value per unit ({n}); got shape {t.shape}.",
                             parameter=name)
    values = np.unique(t)
    if not (len(values) == 2 and set(values.tolist()) == {0, 1}):
        raise DataError(f"Parameter {name} must be 0/1 with both arms present; found values "
                        f"{', '.join(map(str, values[:5].tolist()))}.", role="treatment")
    return t.astype(int)


def _response(values, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    v = np.asarray(values, dtype=float)
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise DataError(f"Parameter {name} must hold {n} finite numbers; got shape {v.shape}.", role=name)
    return v


#: Unit effects whose spread is below this share of their size (and of 1) are constant up to rounding.
CONSTANT_EFFECTS = 1e-10


def constant_effects(x: np.ndarray) -> bool:
    """True when every column of the unit effects is constant up to floating-point rounding."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    scale = np.maximum(1.0, np.nanmax(np.abs(x), axis=0))
    return bool(np.all(np.nanstd(x, axis=0) <= CONSTANT_EFFECTS * scale))


def discover(effects, covariates: pd.DataFrame, treatment, mediator, outcome, *, k=range(2, 6),
             embedding: str = "tsne", profile: str = "smallest", seed: int, perplexity: float = 30.0,
             n_iter: int = 500, initialization: str = "random", cart_seed: int = 1234, groups=None) -> SubgroupFit:
    """Steps 2-4 of the M-learner: embed, cluster, profile and choose K by the smallest p_leaf.

    Parameters
    ----------
    effects : array_like, shape (n,) or (n, 2)
        Unit-level effects from step 1 (e.g. the CIE, or CIE and TE).
    covariates : pandas.DataFrame
        n rows of pre-treatment covariates for the profiles.
    treatment : array_like of 0/1, shape (n,)
    mediator : array_like, shape (n,), or None
        With a mediator, K* minimises p_leaf on the mediator (the authors'
        statistic: heterogeneity of the T -> M effect); without one (a
        total-effect analysis), p_leaf on the outcome.
    outcome : array_like, shape (n,)
    k : iterable of int, default range(2, 6)
        Numbers of clusters tried.
    embedding : {"tsne", "none"}, default "tsne"
    profile : {"smallest", "best_cv"}, default "smallest"
    seed : int
        Drives t-SNE and K-means (child seeds in a fixed order).
    perplexity, n_iter, initialization
        Passed to :func:`embed_effects`.
    cart_seed : int, default 1234
        Seed of the CART cross-validation (the authors' fixed 1234).
    groups : array_like, optional
        Cluster ids (cluster-randomised trials): p_leaf is then cluster-robust.

    Returns
    -------
    SubgroupFit
        K* (ties keep the smaller K), the chosen profile and the per-K table.
    """
    V.check_dataframe(covariates)
    n = len(covariates)
    x = _effects_matrix(effects)
    if x.shape[0] != n:
        raise ParameterError(f"Parameter effects has {x.shape[0]} rows but covariates has {n}; pass one effect "
                             "per row of covariates.", parameter="effects")
    t = check_arms(treatment, n)
    m, y = _response(mediator, n, "mediator"), _response(outcome, n, "outcome")
    if y is None:
        raise ParameterError("Parameter outcome is required.", parameter="outcome")
    ks = _check_k(k, n)
    V.check_option("profile", profile, PROFILES)
    settings = dict(embedding=embedding, perplexity=perplexity, n_iter=n_iter, initialization=initialization,
                    profile=profile, seed=seed, cart_seed=cart_seed, k=ks)
    if constant_effects(x):
        # e.g. a linear fit without treatment x covariate interactions: the "differences" are rounding noise, and
        # clustering them would report subgroups built on it
        table = pd.DataFrame({"k": list(ks), "n_leaves": 1, "p_leaf_m": np.nan, "p_leaf_y": np.nan,
                              "cv_error": np.nan})
        return SubgroupFit(k=None, labels=np.zeros(n, dtype=int), p_leaf=1.0,
                           response="mediator" if m is not None else "outcome", profile=None,
                           embedding=np.zeros((n, 1)), k_table=table, profiles={}, clusters={},
                           settings=dict(settings, constant_effects=True))
    rng = np.random.default_rng(check_seed(seed))
    tsne_seed, kmeans_seed = (int(s) for s in spawn_seeds(rng, 2))
    emb = embed_effects(x, method=embedding, seed=tsne_seed, perplexity=perplexity, n_iter=n_iter,
                        initialization=initialization)
    clusters = cluster_embedding(emb, ks, kmeans_seed)
    rows, profiles = [], {}
    for kk in ks:
        prof = fit_profile(clusters[kk], covariates, profile=profile, seed=cart_seed)
        profiles[kk] = prof
        p_m = leaf_pvalue(prof.leaf, t, m, groups) if prof is not None and m is not None else np.nan
        p_y = leaf_pvalue(prof.leaf, t, y, groups) if prof is not None else np.nan
        rows.append(dict(k=kk, n_leaves=prof.n_leaves if prof is not None else 1, p_leaf_m=p_m, p_leaf_y=p_y,
                         cv_error=prof.cv_error if prof is not None else np.nan))
    table = pd.DataFrame(rows, columns=["k", "n_leaves", "p_leaf_m", "p_leaf_y", "cv_error"])
    key = "p_leaf_m" if m is not None else "p_leaf_y"
    p = table[key].to_numpy(dtype=float)
    best_k, best_p = None, 1.0
    for kk, pk in zip(ks, p):  # strict comparison: ties keep the earlier K, as the authors' loop
        if np.isfinite(pk) and (best_k is None or pk < best_p):
            best_k, best_p = kk, float(pk)
    chosen = profiles[best_k] if best_k is not None else None
    labels = chosen.leaf if chosen is not None else np.zeros(n, dtype=int)
    return SubgroupFit(k=best_k, labels=labels, p_leaf=best_p, response="mediator" if m is not None else "outcome",
                       profile=chosen, embedding=emb, k_table=table, profiles=profiles, clusters=clusters,
                       settings=settings)
